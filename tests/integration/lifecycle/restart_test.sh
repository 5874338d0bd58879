#!/usr/bin/env bash
# Restart in the middle of a cycle (issue #5, I1/I4 in docs/ARCHITECTURE.md): `qtw balance`
# talks to the node through a fault proxy that delays every answer, is
# killed with SIGKILL after its transactions landed but before it recorded
# their confirmation, and a fresh `qtw balance` finishes the cycle: it
# resumes the persisted intents (sending nothing new but a Bank top-up the
# recovered lamports did not cover), and no Explorer is funded
# twice (each holds exactly lamports_per_explorer; conservation to the lamport).
# Usage: restart_test.sh QTW SOURCE_DIR
set -uo pipefail
QTW=$1; SRC=$2
WORK=$(mktemp -d /tmp/qtw-restart.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
cd "$WORK"
pass=0; fail=0
check() { if [ "$2" = "$3" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL $1: got '$2', want '$3'"; fi; }
jget() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v=JSON.parse(s);for(const k of process.argv[1].split("."))v=v?.[k];console.log(typeof v==="object"?JSON.stringify(v):v)})' "$1"; }

node "$SRC/tools/localnet/server.js" --port 0 >node.out 2>node.log & PIDS+=($!)
for _ in $(seq 1 100); do grep -q '^READY ' node.out && break; sleep 0.1; done
URL=$(sed -n 's/^READY //p' node.out)
node "$SRC/tools/faultproxy/proxy.js" --listen-port 0 --target "$URL" >proxy.out 2>proxy.log & PIDS+=($!)
for _ in $(seq 1 100); do grep -q '^READY ' proxy.out && break; sleep 0.1; done
PROXY=$(sed -n 's/^READY //p' proxy.out)
[ -n "$URL" ] && [ -n "$PROXY" ] || { echo "node or proxy did not start"; exit 1; }
export QTW_PASSPHRASE="restart test"
# A killed balancer's leader slot frees after leader_ttl_ms; 1 s keeps the
# test quick (the default is 15 s).
printf '[balancer]\nleader_ttl_ms = 1000\n' > ttl.toml
Q() { "$QTW" --config ttl.toml --store "$WORK/w.db" "$@"; }
info() { curl -s -X POST -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"qtwLocalnetInfo"}' "$URL" | jget result.userFeesCollected; }

HODL=$("$QTW" keygen -o hodl.json)
AIRDROP=10000000000
"$QTW" --rpc-url "$URL" airdrop "$HODL" $AIRDROP >/dev/null || exit 1
Q init --banks 1 --hodl-keypair hodl.json --kdf-opslimit 1 --kdf-memlimit-kib 8 >/dev/null || exit 1
Q --rpc-url "$URL" --json balance >b0.json || { echo "first balance failed"; exit 1; }
check "first cycle creates 5" "$(jget explorers_created <b0.json)" 5
# Retire 3 so the next cycle both recovers (3) and creates (3).
for _ in 1 2 3; do E=$(Q acquire 2>/dev/null); Q release "$E" --retire >/dev/null; done

# Every answer now takes 2 s: the cycle persists its intents, sends them,
# and is still waiting for the status answers when it is killed.
curl -s -X POST -d '{"mode":"delay:2000"}' "$PROXY/__proxy/mode" >/dev/null
"$QTW" --config ttl.toml --store "$WORK/w.db" --rpc-url "$PROXY" balance >killed.out 2>&1 & BAL=$!; PIDS+=($BAL)  # the binary, not a subshell
# Wait until the node has taken the cycle's transactions (fees collected
# grow by 3 recoveries + 1 funding = 4 signatures... the fee counter moves).
before=$(info)
for _ in $(seq 1 300); do
  now=$(info)
  [ "$now" != "$before" ] && [ $((now - before)) -ge 20000 ] && break
  sleep 0.05
done
kill -9 $BAL 2>/dev/null; wait $BAL 2>/dev/null
# The killed balancer still holds the leader slot: a new one is refused
# until leader_ttl_ms (1 s here) has passed since its last renewal.
Q --rpc-url "$URL" balance >early.out 2>&1; check "balance beside a (dead) leader refused" $? 1
grep -q "leader slot" early.out && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL early message: $(cat early.out)"; }
sleep 1.2
check "killed after the sends landed (fees grew)" "$(( $(info) - before >= 20000 ))" 1
Q --rpc-url "$URL" --json status >s1.json
inflight=$(jget in_flight <s1.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).length))')
check "intents left unresolved by the kill" "$((inflight > 0))" 1

curl -s -X POST -d '{"mode":"pass"}' "$PROXY/__proxy/mode" >/dev/null
Q --rpc-url "$URL" --json balance >b1.json || echo "note: resumed cycle exit $?"
check "resumed intents" "$(jget intents_resumed <b1.json)" "$inflight"
check "no new Explorer funding on resume (only a Bank top-up)" "$(jget transactions_sent <b1.json)" "$(jget banks_funded <b1.json)"
check "resumed funding counted" "$(jget explorers_created <b1.json)" 3
check "resumed fees counted (3 recovery signatures + 1 funding + top-ups)" "$(jget fees_lamports <b1.json)" "$((20000 + 5000 * $(jget banks_funded <b1.json)))"
Q --rpc-url "$URL" --json status >s2.json
check "in flight after resume" "$(jget in_flight <s2.json)" "[]"
check "available after resume" "$(jget keys.explorer.available <s2.json)" 5
check "retired after resume" "$(jget keys.explorer.retired <s2.json)" 3
check "no extra reservations" "$(jget keys.explorer.dropped <s2.json)" undefined
# No double funding: every available Explorer holds exactly 0.01 SOL.
Q --json keys list --tier explorer >keys.json
for pk in $(node -e 'for (const k of JSON.parse(require("fs").readFileSync("keys.json"))) if (k.state==="available") console.log(k.pubkey)'); do
  check "explorer $pk balance" "$("$QTW" --rpc-url "$URL" --json account "$pk" | jget lamports)" 10000000
done
# Conservation (I6) to the lamport.
total=$(jget balances_lamports.total <s2.json)
check "conservation" "$((total + $(info)))" "$AIRDROP"
echo "restart: $pass passed, $fail failed"
[ "$fail" = 0 ]
