#!/usr/bin/env bash
# Recovery brings back tokens and token-account rent (issue 13), on the local
# node with the real SPL Token, Token-2022 and ATA programs. 22 used
# Explorers over 2 Banks, each left by a real Lander transaction (a market
# maker sells it tokens; tools/localnet/chaintool.js) with 1-3 token accounts
# across both programs: a balance, an empty account, wrapped SOL. Explorer 21
# also holds a FROZEN account, Explorer 22 one of a TRANSFER-FEE mint.
# After ONE recovery cycle: Explorers 1-20 hold 0 lamports and own no token
# account; 21 and 22 hold 0 lamports, own only the unmovable account, are
# `stranded` and named once; the Banks hold exactly the tokens; every
# recovery transaction costs 5,000 per Explorer (each signs once) and their
# count is within the planner's bound. A second cycle sends nothing.
# `qtw sweep --to-hodl --hodl <watch-only>`: the Banks own no token account,
# HODL's associated token accounts hold every token; per mint, minted ==
# market maker + HODL + what stayed unmovable, exactly.
# Usage: tokens_test.sh QTW SOURCE_DIR
set -uo pipefail
QTW=$1; SRC=$2
. "$SRC/tests/integration/lib.sh"
qtw_test_begin tokens
le() { if [ "$2" -le "$3" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL $1: $2 > $3"; fi; }
# holdings OWNER -> JSON {lamports, tokens:[...]}
holdings() { $CT holdings --owner "$1"; }
# sum_mint MINT OWNER... -> total amount of MINT owned by the owners (one RPC pass)
sum_mint() { local m=$1; shift; local list; list=$(IFS=,; echo "$*"); $CT holdings --owner "$list,11111111111111111111111111111111" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let n=0n;for(const h of Object.values(JSON.parse(s)))for(const x of h.tokens)if(x.mint===process.argv[1])n+=BigInt(x.amount);console.log(n.toString())})' "$m"; }
count_accounts() { holdings "$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).tokens.length))'; }
# each_explorer FROM TO -> "lamports accounts" per Explorer, one line each (one RPC pass)
each_explorer() { local list; list=$(IFS=,; echo "${EX[*]:$1:$(($2 - $1 + 1))}"); $CT holdings --owner "$list,11111111111111111111111111111111" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=JSON.parse(s);for(const k of process.argv.slice(1))console.log(m[k].lamports+" "+m[k].tokens.length)})' "${EX[@]:$1:$(($2 - $1 + 1))}"; }

start_node --slot-ms 100
CT="node $SRC/tools/localnet/chaintool.js --rpc $URL"
export QTW_PASSPHRASE="tokens test"

HODL=$("$QTW" keygen -o hodl.json)
MM=$("$QTW" keygen -o mm.json)
COLD=$("$QTW" keygen -o cold.json)  # registered watch-only: only its pubkey is given
"$QTW" --rpc-url "$URL" airdrop "$HODL" 3000000000 >/dev/null || exit 1
"$QTW" --rpc-url "$URL" airdrop "$MM" 2000000000 >/dev/null || exit 1
A=$($CT create-mint --payer mm.json --decimals 6) || exit 1
B=$($CT create-mint --payer mm.json --program token-2022 --decimals 9) || exit 1
FEE=$($CT create-mint --payer mm.json --transfer-fee-bps 100 --decimals 6) || exit 1
FRZ=$($CT create-mint --payer mm.json --decimals 0) || exit 1
$CT mint-to --payer mm.json --mint "$A" --owner "$MM" --amount 1000000000 >/dev/null || exit 1
$CT mint-to --payer mm.json --mint "$B" --owner "$MM" --amount 1000000000 --program token-2022 >/dev/null || exit 1
$CT mint-to --payer mm.json --mint "$FEE" --owner "$MM" --amount 1000000000 --program token-2022 >/dev/null || exit 1
$CT mint-to --payer mm.json --mint "$FRZ" --owner "$MM" --amount 1000 >/dev/null || exit 1

"$QTW" --store w.db init --banks 2 --hodl-keypair hodl.json --hodl-pubkey "$COLD" \
  --kdf-opslimit 1 --kdf-memlimit-kib 8 >/dev/null || exit 1
config() {  # MIN_EXPLORERS
  write_config <<TOML
min_explorer_keys = $1
explorer_keys_to_create = $1
lamports_per_explorer = 20000000
lamports_per_bank = 400000000
fill_funding_transactions = false  # counts Explorers one by one
TOML
}
config 22
Q --json balance >create.json || { echo "create cycle failed"; cat create.json; }
check "created" "$(jget explorers_created <create.json)" 22
EX=()
for i in $(seq 1 22); do
  EX[$i]=$(Q acquire --outfile "ex$i.json" 2>/dev/null) || { echo "acquire $i failed"; exit 1; }
done
for i in $(seq 1 20); do
  case $((i % 3)) in
    0) args=(--buy "$B:token-2022:9:$((2000 + i))") ;;
    1) args=(--buy "$A:token:6:$((1000 + i))" --empty "$B:token-2022") ;;
    2) args=(--buy "$A:token:6:$((1000 + i))" --buy "$B:token-2022:9:$((2000 + i))" --wrap 50000) ;;
  esac
  $CT lander --explorer "ex$i.json" --mm mm.json "${args[@]}" >/dev/null || { echo "lander $i failed"; exit 1; }
done
$CT lander --explorer ex21.json --mm mm.json --buy "$FRZ:token:0:10" --buy "$A:token:6:5" >/dev/null || exit 1
$CT freeze --payer mm.json --mint "$FRZ" --owner "${EX[21]}" || exit 1
$CT lander --explorer ex22.json --mm mm.json --buy "$FEE:token-2022:6:1000" --empty "$B:token-2022" >/dev/null || exit 1
for i in $(seq 1 22); do Q release "${EX[$i]}" --retire >/dev/null; done
A_EX=$(sum_mint "$A" "${EX[@]:1}"); B_EX=$(sum_mint "$B" "${EX[@]:1}")
ACCTS=$(each_explorer 1 22 | awk '{n += $2} END {print n}')
echo "before recovery: $ACCTS token accounts on 22 Explorers; A $A_EX, B $B_EX"
BANKS=$(Q --json keys list --tier bank | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).map(k=>k.pubkey).join(" ")))')

config 0
Q --json balance >r1.json; check "cycle 1 exit" "$?" 0
i=0
while read -r l n; do
  i=$((i + 1))
  check "ex$i lamports" "$l" 0
  if [ "$i" -le 20 ]; then check "ex$i token accounts" "$n" 0
  else check "ex$i keeps only the unmovable account" "$n" 1; fi
done < <(each_explorer 1 22)
check "Explorers checked" "$i" 22
check "recovered" "$(jget explorers_recovered <r1.json)" 20
check "stranded" "$(jget explorers_stranded <r1.json)" 2
check "token accounts closed" "$(jget token_accounts_closed <r1.json)" $((ACCTS - 2))
check "unmovable named once" "$(node -e 'const r=JSON.parse(require("fs").readFileSync("r1.json"));const u=r.unmovable_token_accounts;console.log(u.length+":"+u.some(x=>x.includes("frozen"))+":"+u.some(x=>x.includes("transfer fee")))')" "2:true:true"
# shellcheck disable=SC2086
check "Banks hold exactly the A tokens" "$(sum_mint "$A" $BANKS)" "$A_EX"
# shellcheck disable=SC2086
check "Banks hold exactly the B tokens" "$(sum_mint "$B" $BANKS)" "$B_EX"
check "tokens_recovered A" "$(jget tokens_recovered <r1.json | jget "$A")" "$A_EX"
fees=$(jget fees_lamports <r1.json); confirmed=$(jget transactions_confirmed <r1.json)
# Each of the 22 Explorers signs one recovery transaction (5,000); the rest is
# one 5,000-lamport signature per Bank transaction creating its token accounts.
bank_txs=$(( (fees - 22 * 5000) / 5000 ))
check "fee per Explorer is one signature" "$(( (fees - 22 * 5000) % 5000 ))" 0
le "Bank token-account transactions" "$bank_txs" 2
recovery_txs=$((confirmed - bank_txs))
# Planner bound: 3 Explorers with three token accounts each fit in one
# transaction (recovery_plan_test prints the packing), two Banks round up.
le "recovery transactions for 22 Explorers" "$recovery_txs" $(( (22 + 2) / 3 + 2 ))
echo "recovery: $recovery_txs transactions, $bank_txs Bank ATA transactions, fees $fees lamports ($(( fees / 22 )) per Explorer incl. ATA creation), rent recovered $(jget rent_recovered_lamports <r1.json)"
Q --json keys list --state stranded >stranded.json
check "stranded listed with reasons" "$(node -e 'const a=JSON.parse(require("fs").readFileSync("stranded.json"));console.log(a.length+":"+a.every(k=>k.stranded_reason.includes("cannot move")))')" "2:true"
Q --json balance >r2.json; check "cycle 2 exit" "$?" 0
check "cycle 2 sends nothing" "$(jget transactions_sent <r2.json)" 0
check "cycle 2 reports nothing again" "$(jget unmovable_token_accounts <r2.json)" "[]"
Q --json status >status.json
check "status shows the Banks' tokens per mint" "$(node -e 'const s=JSON.parse(require("fs").readFileSync("status.json"));const t=Object.fromEntries(s.tokens.map(x=>[x.mint,x.amount]));console.log(t[process.argv[1]]+":"+t[process.argv[2]])' "$A" "$B")" "$A_EX:$B_EX"

Q --json sweep --to-hodl --yes --hodl "$COLD" >sweep.json; check "sweep exit" "$?" 0
for b in $BANKS; do check "Bank $b owns no token account" "$(count_accounts "$b")" 0; done
check "HODL holds every A token" "$(sum_mint "$A" "$COLD")" "$A_EX"
check "HODL holds every B token" "$(sum_mint "$B" "$COLD")" "$B_EX"
check "tokens_to_hodl A" "$(jget tokens_to_hodl <sweep.json | jget "$A")" "$A_EX"
for m in A B FRZ; do
  mint=${!m}
  minted=$([ "$m" = FRZ ] && echo 1000 || echo 1000000000)
  total=$(sum_mint "$mint" "$MM" "$COLD" "${EX[21]}")
  check "conservation of $m per mint" "$total" "$minted"
done
finish tokens
