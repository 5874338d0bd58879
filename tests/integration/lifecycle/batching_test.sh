#!/usr/bin/env bash
# Batching on the real runtime (issue #5, docs/ARCHITECTURE.md): creating 50 Explorers
# takes at most 3 funding transactions, recovering 50 takes at most 7, and
# every recovered Explorer ends at exactly 0 lamports (its account is gone).
# Fees are the protocol minimum: 5,000 per signature (one per funding
# transaction, one per recovered Explorer).
# Usage: batching_test.sh QTW SOURCE_DIR
set -uo pipefail
QTW=$1; SRC=$2
. "$SRC/tests/integration/lib.sh"
qtw_test_begin batching
le() { if [ "$2" -le "$3" ]; then ok; else bad "$1: $2 > $3"; fi; }

start_node
export QTW_PASSPHRASE="batching test"
fund_hodl 20000000000
"$QTW" --store w.db init --banks 1 --hodl-keypair hodl.json "${QUICK_KDF[@]}" >/dev/null || exit 1
config() {  # config MIN CREATE
  write_config <<TOML
min_explorer_keys = $1
explorer_keys_to_create = $2
lamports_per_explorer = 10000000
lamports_per_bank = 2000000000
fill_funding_transactions = false  # counts Explorers one by one
TOML
}

config 50 50
Q --json balance >create.json || { echo "create cycle failed"; cat create.json; }
check "created" "$(jget explorers_created <create.json)" 50
funding_txs=$(( $(jget transactions_confirmed <create.json) - $(jget banks_funded <create.json) ))
le "funding transactions for 50 Explorers" "$funding_txs" 3
check "funding fees: one signature per transaction" \
  "$(( $(jget fees_lamports <create.json) - 5000 * $(jget banks_funded <create.json) ))" "$((5000 * funding_txs))"
echo "create 50: $funding_txs funding transaction(s)"

for _ in $(seq 1 50); do E=$(Q acquire 2>/dev/null) && Q release "$E" --retire >/dev/null; done
Q --json status >s.json
check "used before recovery" "$(jget keys.explorer.used <s.json)" 50

config 0 0
Q --json balance >recover.json || { echo "recovery cycle failed"; cat recover.json; }
check "recovered" "$(jget explorers_recovered <recover.json)" 50
recovery_txs=$(( $(jget transactions_confirmed <recover.json) - $(jget banks_funded <recover.json) ))
le "recovery transactions for 50 Explorers" "$recovery_txs" 7
check "recovery fees: 5000 per Explorer" \
  "$(( $(jget fees_lamports <recover.json) - 5000 * $(jget banks_funded <recover.json) ))" 250000
check "lamports recovered: all but the fees" "$(jget lamports_recovered <recover.json)" $((50 * 10000000 - 250000))
echo "recover 50: $recovery_txs recovery transaction(s)"
Q --json status >s2.json
check "retired" "$(jget keys.explorer.retired <s2.json)" 50
check "explorer lamports left" "$(jget balances_lamports.explorer <s2.json)" 0
Q --json keys list --tier explorer >keys.json
zero=0
for pk in $(node -e 'for (const k of JSON.parse(require("fs").readFileSync("keys.json"))) console.log(k.pubkey)'); do
  "$QTW" --rpc-url "$URL" --json account "$pk" >acct.json 2>/dev/null
  l=$(jget lamports <acct.json 2>/dev/null); [ -z "$l" ] || [ "$l" = undefined ] || [ "$l" = 0 ] && zero=$((zero+1))
done
check "explorers at 0 lamports on chain" "$zero" 50
finish batching
