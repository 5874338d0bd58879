#!/usr/bin/env bash
# A recovery interrupted by kill -9 after its transaction landed, resumed by
# the next `qtw balance`: the resumed intent has lost its plan (which token
# accounts could not move), so its Explorers go back to `used` and the same
# cycle reads them again. The one that still owns a frozen token account is
# stranded with the reason, never retired as if it held nothing; the others
# retire; the Bank holds every token that could move.
# Usage: resume_test.sh QTW SOURCE_DIR
set -uo pipefail
QTW=$1; SRC=$2
. "$SRC/tests/integration/lib.sh"
qtw_test_begin recovery-resume

start_node
start_proxy "$URL"
CT="node $SRC/tools/localnet/chaintool.js --rpc $URL"
export QTW_PASSPHRASE="resume test"
fund_hodl 3000000000
MM=$("$QTW" keygen -o mm.json)
"$QTW" --rpc-url "$URL" airdrop "$MM" 1000000000 >/dev/null || exit 1
A=$($CT create-mint --payer mm.json --decimals 6) || exit 1
FRZ=$($CT create-mint --payer mm.json --decimals 0) || exit 1
$CT mint-to --payer mm.json --mint "$A" --owner "$MM" --amount 1000000 >/dev/null || exit 1
$CT mint-to --payer mm.json --mint "$FRZ" --owner "$MM" --amount 1000 >/dev/null || exit 1

config() {  # MIN_EXPLORERS
  write_config <<TOML
min_explorer_keys = $1
explorer_keys_to_create = $1
lamports_per_explorer = 20000000
lamports_per_bank = 400000000
leader_ttl_ms = 1000
fill_funding_transactions = false  # exactly 3 Explorers to follow one by one
TOML
}
config 3
Q --rpc-url "$URL" init --banks 1 --hodl-keypair hodl.json "${QUICK_KDF[@]}" >/dev/null || exit 1
Q --rpc-url "$URL" --json balance >create.json || { echo "create cycle failed"; exit 1; }
check "created" "$(jget explorers_created <create.json)" 3
EX=()
for i in 1 2 3; do
  EX[$i]=$(Q --rpc-url "$URL" acquire --outfile "ex$i.json" 2>/dev/null) || { echo "acquire $i failed"; exit 1; }
done
# ex1 bought A (movable); ex2 bought A and FRZ, then FRZ froze its account;
# ex3 only holds lamports.
$CT lander --explorer ex1.json --mm mm.json --buy "$A:token:6:1000" >/dev/null || exit 1
$CT lander --explorer ex2.json --mm mm.json --buy "$A:token:6:2000" --buy "$FRZ:token:0:10" >/dev/null || exit 1
$CT freeze --payer mm.json --mint "$FRZ" --owner "${EX[2]}" || exit 1
for i in 1 2 3; do Q release "${EX[$i]}" --retire >/dev/null; done
config 0
lamports() { "$QTW" --rpc-url "$URL" --json account "$1" | jget lamports; }

# Every answer through the proxy now takes 2 s: the cycle sends its recovery
# and is still waiting for the statuses when it is killed, after the
# Explorers were drained on chain.
curl -s -X POST -d '{"mode":"delay:2000"}' "$PROXY/__proxy/mode" >/dev/null
"$QTW" --config qtw.toml --rpc-url "$PROXY" balance >killed.out 2>&1 & BAL=$!; PIDS+=($BAL)  # the binary, not a subshell
drained=0
for _ in $(seq 1 400); do
  if [ "$(lamports "${EX[1]}")" = 0 ] && [ "$(lamports "${EX[3]}")" = 0 ]; then drained=1; break; fi
  kill -0 $BAL 2>/dev/null || break
  sleep 0.05
done
kill -9 $BAL 2>/dev/null; wait $BAL 2>/dev/null
check "killed after the recovery landed" "$drained" 1
sleep 1.2  # the killed balancer's leader slot expires (leader_ttl_ms)
Q --rpc-url "$URL" --json status >s1.json
inflight=$(jget in_flight <s1.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).length))')
check "recovery left unresolved by the kill" "$((inflight > 0))" 1
check "Explorers draining at the kill" "$(jget keys.explorer.draining <s1.json)" 3

curl -s -X POST -d '{"mode":"pass"}' "$PROXY/__proxy/mode" >/dev/null
Q --rpc-url "$URL" --json balance >r1.json 2>r1.err; check "resumed cycle exit" "$?" 0
check "resumed intents" "$(jget intents_resumed <r1.json)" "$inflight"
check "nothing new sent" "$(jget transactions_sent <r1.json)" 0
check "the frozen one stranded" "$(jget explorers_stranded <r1.json)" 1
check "it is ex2" "$(jget stranded <r1.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const a=JSON.parse(s);console.log(a.length+":"+a[0].pubkey+":"+a[0].reason.includes("frozen"))})')" "1:${EX[2]}:true"
Q --rpc-url "$URL" --json status >s2.json
check "retired" "$(jget keys.explorer.retired <s2.json)" 2
check "stranded" "$(jget keys.explorer.stranded <s2.json)" 1
check "nothing in flight" "$(jget in_flight <s2.json)" "[]"
check "status lists the stranded Explorer" "$(jget stranded <s2.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).map(x=>x.pubkey).join(",")))')" "${EX[2]}"
check "the Bank holds every A token" "$(jget tokens <s2.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const t=JSON.parse(s).find(x=>x.mint===process.argv[1]);console.log(t?t.amount:0)})' "$A")" 3000
# A second cycle leaves the stranded Explorer alone.
Q --rpc-url "$URL" --json balance >r2.json
check "cycle 2 sends nothing" "$(jget transactions_sent <r2.json)" 0
check "cycle 2 strands nothing again" "$(jget explorers_stranded <r2.json)" 0
finish recovery-resume
