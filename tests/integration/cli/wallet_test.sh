#!/usr/bin/env bash
# The wallet CLI against the real local node: init, balance, status, acquire /
# release, recovery, rescue after the store is deleted, sweep --to-hodl, and
# conservation (I6, docs/ARCHITECTURE.md) to the lamport at every step:
#   airdropped == sum of managed balances + fees the chain collected.
# Usage: wallet_test.sh QTW_BINARY SOURCE_DIR
set -uo pipefail
QTW=$1
SRC=$2
. "$SRC/tests/integration/lib.sh"
qtw_test_begin wallet-test

start_node
export QTW_PASSPHRASE="wallet test passphrase"
Q() { "$QTW" --store "$WORK/w.db" --rpc-url "$URL" "$@"; }
# I6: everything airdropped is in a managed key or was paid as a fee.
conserved() {  # conserved NAME
  local total fees
  total=$(Q --json status | jget balances_lamports.total)
  fees=$(fees_collected)
  check "$1 conservation (managed $total + fees $fees)" "$((total + fees))" "$AIRDROP"
}

HODL=$("$QTW" keygen -o hodl.json)
AIRDROP=20000000000
"$QTW" --rpc-url "$URL" airdrop "$HODL" $AIRDROP >/dev/null || bad airdrop

# Errors before a wallet exists.
Q status >out 2>err; check "status without wallet exits" $? 2
grep -q "qtw init" err && ok || bad "status without wallet names qtw init: $(cat err)"

Q --json init --banks 2 --hodl-keypair hodl.json --kdf-opslimit 1 --kdf-memlimit-kib 8 >init.json || bad init
check "init banks" "$(jget banks <init.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).length))')" 2

# First cycle: tops both Banks up from HODL and creates the minimum of 5
# Explorers in the same call, funding them in one transaction.
Q --json balance >b1.json || bad "balance 1: $(cat b1.json)"
check "cycle 1 banks funded" "$(jget banks_funded <b1.json)" 2
check "cycle 1 explorers created" "$(jget explorers_created <b1.json)" 5
check "cycle 1 transactions" "$(jget transactions_confirmed <b1.json)" 3
check "cycle 1 fees (getFeeForMessage: 5000 per signature)" "$(jget fees_lamports <b1.json)" 15000
Q --json status >s1.json
check "available after cycle 1" "$(jget keys.explorer.available <s1.json)" 5
check "explorer balances" "$(jget balances_lamports.explorer <s1.json)" 50000000
conserved "after cycle 1"

# Bank 0 paid for the 5 Explorers and is now below 50% of its 0.1 SOL
# target: the second cycle tops it up and creates nothing.
Q --json balance >b2.json
check "cycle 2 tops up the Bank that paid" "$(jget banks_funded <b2.json)" 1
check "cycle 2 creates nothing" "$(jget explorers_created <b2.json)" 0
# A third with everything at target sends nothing.
Q --json balance >b2.json
check "idle cycle sends nothing" "$(jget transactions_sent <b2.json)" 0

# Lease two from the shell; return one unused (--keep), retire the other.
E1=$(Q acquire 2>/dev/null); E2=$(Q acquire 2>/dev/null)
[ -n "$E1" ] && [ "$E1" != "$E2" ] && ok || bad "two acquires gave '$E1' and '$E2'"
Q release "$E1" --keep >/dev/null || bad "release --keep"
Q release "$E2" --retire >/dev/null || bad "release --retire"
Q release "$E2" --retire >out 2>err; check "second release exits" $? 2
grep -q "not leased" err && ok || bad "second release message: $(cat err)"
Q release 11111111111111111111111111111111 --retire >out 2>err; check "release unknown exits" $? 2
# A key whose secret was written out counts as signed: --keep is refused.
E3=$(Q acquire --outfile e3.json 2>/dev/null)
check "keypair file mode" "$(stat -c %a e3.json)" 600
check "keypair file pubkey" "$("$QTW" pubkey e3.json)" "$E3"
Q release "$E3" --keep >out 2>err; check "keep after export exits" $? 2
grep -q "signed once" err && ok || bad "keep after export message: $(cat err)"
Q release "$E3" --retire >/dev/null || bad "retire E3"

# The next cycle recovers the two used Explorers (each to exactly 0, one fee
# each); 3 are available (E1 came back), below the minimum of 5, so it creates
# the configured batch of 3, and fills that funding transaction with what the
# Bank (0.1 SOL, topped up in cycle 2) spares above its refill threshold of
# 0.05 SOL after the 3 (0.07 SOL less its rent-exempt minimum and the fee):
# one more, 4 created (fill_funding_transactions): 7 available.
Q --json balance >b3.json || bad "balance 3"
check "recovered" "$(jget explorers_recovered <b3.json)" 2
check "lamports recovered (2 x 0.01 SOL less 2 signatures)" "$(jget lamports_recovered <b3.json)" $((20000000 - 10000))
for e in "$E2" "$E3"; do
  check "recovered $e ends at 0" "$("$QTW" --rpc-url "$URL" --json account "$e" 2>/dev/null | jget lamports 2>/dev/null || echo 0)" 0
done
Q --json status >s3.json
check "cycle 3 created (3 asked for + 1 filled)" "$(jget explorers_created <b3.json)" 4
check "available after cycle 3" "$(jget keys.explorer.available <s3.json)" 7
check "retired after cycle 3" "$(jget keys.explorer.retired <s3.json)" 2
conserved "after recovery"

# Leave one used Explorer with lamports, then lose the store.
E4=$(Q acquire 2>/dev/null); Q release "$E4" --retire >/dev/null
Q --json status >before.json
Q export-seed --yes-i-understand >seed.hex; chmod 600 seed.hex
rm -f w.db w.db-wal w.db-shm
Q status >out 2>err; check "status after loss exits" $? 2

chmod 644 seed.hex
Q rescue --seed-file seed.hex --hodl-keypair hodl.json --kdf-opslimit 1 --kdf-memlimit-kib 8 >out 2>err
check "rescue refuses a readable seed file" $? 2
chmod 600 seed.hex
Q --json rescue --seed-file seed.hex --hodl-keypair hodl.json --kdf-opslimit 1 --kdf-memlimit-kib 8 >rescue.json \
  || bad "rescue: $(cat rescue.json)"
Q --json status >after.json
for k in balances_lamports.total balances_lamports.hodl balances_lamports.bank balances_lamports.explorer hodl_and_banks; do
  check "rescue restores $k" "$(jget $k <after.json)" "$(jget $k <before.json)"
done
# Every funded Explorer is back (7 = 6 available + E4 used before the loss);
# all are `used` now: nobody knows which signed.
check "rescued funded explorers" "$(jget keys.explorer.used <after.json)" 7
check "rescued drained explorers" "$(jget keys.explorer.retired <after.json)" 2
Q --json keys list --tier explorer >keys.json
for e in "$E1" "$E4"; do grep -q "$e" keys.json && ok || bad "rescued store lacks $e"; done
Q rescue --seed-file seed.hex --hodl-keypair hodl.json >out 2>err; check "second rescue refused" $? 2

# After rescue the balancer drains the 7 and creates fresh Explorers at new
# indexes (never one it restored).
Q --json balance >b4.json || bad "balance after rescue"
check "recovered after rescue" "$(jget explorers_recovered <b4.json)" 7
Q --json keys list --tier explorer >keys2.json
node -e '
  const ks = JSON.parse(require("fs").readFileSync("keys2.json"));
  const seen = new Set(ks.map(k => k.bank_index + "/" + k.explorer_index));
  if (seen.size !== ks.length) { console.log("FAIL duplicate explorer index"); process.exit(1); }
' && ok || bad "explorer indexes unique after rescue"
conserved "after rescue and recovery"

# Tear down: everything back to HODL.
Q sweep --to-hodl >out 2>err; check "sweep without --yes exits" $? 2
Q --json sweep --to-hodl --yes >sw.json || bad "sweep: $(cat sw.json)"
Q --json status >s5.json
check "banks empty after sweep" "$(jget balances_lamports.bank <s5.json)" 0
check "explorers empty after sweep" "$(jget balances_lamports.explorer <s5.json)" 0
check "hodl holds all after sweep" "$(jget balances_lamports.hodl <s5.json)" "$((AIRDROP - $(fees_collected)))"
conserved "after sweep"

finish wallet
