#!/usr/bin/env bash
# End-to-end CLI checks: bad input exits 2 with a message naming the problem;
# against the real local node, airdrop + transfer change balances by exactly
# amount + fee + priority fee. Usage: cli_test.sh QTW_BINARY SOURCE_DIR
set -uo pipefail
QTW=$1
SRC=$2
. "$SRC/tests/integration/lib.sh"
qtw_test_begin cli-test
expect() {  # expect NAME WANT_EXIT WANT_STDERR_SUBSTRING -- command...
  local name=$1 want=$2 msg=$3; shift 4
  "$@" >out.txt 2>err.txt; local got=$?
  if [ "$got" = "$want" ] && grep -qF -- "$msg" err.txt out.txt; then pass=$((pass+1));
  else fail=$((fail+1)); echo "FAIL $name: exit $got (want $want), stderr: $(cat err.txt)"; fi
}

A=$("$QTW" keygen -o a.json) || { echo "keygen failed"; exit 1; }
[ "$(stat -c %a a.json)" = 600 ] || { echo "FAIL keypair mode $(stat -c %a a.json)"; fail=$((fail+1)); }
expect keygen-exists 2 "already exists" -- "$QTW" keygen -o a.json
expect pubkey-missing 2 "cannot open keypair file" -- "$QTW" pubkey nope.json
echo "[1,2]" > short.json; chmod 600 short.json
expect pubkey-short 2 "expected 64" -- "$QTW" pubkey short.json
echo "not json" > junk.json; chmod 600 junk.json
expect pubkey-junk 2 "not a JSON array" -- "$QTW" pubkey junk.json
cp a.json open.json; chmod 644 open.json
expect pubkey-open 2 "chmod 600" -- "$QTW" pubkey open.json
BH=11111111111111111111111111111111
expect bad-to 2 "invalid pubkey" -- "$QTW" transfer --from a.json --to 0OIl --lamports 5 --blockhash $BH --sign-only
expect zero-lamports 2 "at least 1" -- "$QTW" transfer --from a.json --to "$A" --lamports 0 --blockhash $BH --sign-only
expect big-lamports 2 "out of range" -- "$QTW" transfer --from a.json --to "$A" --lamports 18446744073709551616 --blockhash $BH --sign-only
expect neg-lamports 2 "not a whole number" -- "$QTW" transfer --from a.json --to "$A" --lamports -5 --blockhash $BH --sign-only
expect no-blockhash 2 "needs --blockhash" -- "$QTW" transfer --from a.json --to "$A" --lamports 5 --sign-only
expect unknown-flag 2 "error" -- "$QTW" transfer --frob
expect no-node 1 "Couldn't connect" -- "$QTW" --rpc-url http://127.0.0.1:1 account "$A"
# --sign-only prints one line of base64 that decodes to a 1-signature transfer.
C=$("$QTW" keygen -o c.json)
TX=$("$QTW" transfer --from a.json --to "$C" --lamports 5 --blockhash $BH --sign-only)
if [ "$(echo "$TX" | base64 -d | wc -c)" = 215 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL sign-only size"; fi

start_node
B=$("$QTW" keygen -o b.json)
"$QTW" --rpc-url "$URL" airdrop "$A" 2000000000 >/dev/null || { echo "FAIL airdrop"; fail=$((fail+1)); }
"$QTW" --rpc-url "$URL" transfer --from a.json --to "$B" --lamports 1000000 --cu-price 1000 --cu-limit 600 >/dev/null \
  || { echo "FAIL transfer"; fail=$((fail+1)); }
# 2e9 - 1e6 - 5000 (one signature) - ceil(1000 * 600 / 1e6) = 1 (priority fee)
GOT=$("$QTW" --rpc-url "$URL" --json account "$A" | sed -n 's/.*"lamports":\([0-9]*\).*/\1/p')
if [ "$GOT" = 1998994999 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL sender balance $GOT"; fi
GOT=$("$QTW" --rpc-url "$URL" --json account "$B" | sed -n 's/.*"lamports":\([0-9]*\).*/\1/p')
if [ "$GOT" = 1000000 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL recipient balance $GOT"; fi
expect insufficient 1 "failed" -- "$QTW" --rpc-url "$URL" transfer --from b.json --to "$A" --lamports 5000000

finish cli
