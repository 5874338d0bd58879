#!/usr/bin/env bash
# Full lifecycle on the local node with several Lander threads (issue #5):
# qtw-lander exits 0 only if every Explorer signed exactly one Lander
# transaction (checked on chain with getSignaturesForAddress: funding, the
# Lander tx and the recovery, nothing else), every used Explorer was
# recovered, conservation (I6) holds to the lamport, and (--require-no-dry)
# no acquisition found the pool empty at this rate.
# Usage: lifecycle_test.sh QTW LANDER SOURCE_DIR
set -uo pipefail
QTW=$1; LANDER=$2; SRC=$3
. "$SRC/tests/integration/lib.sh"
qtw_test_begin lifecycle
start_node
export QTW_PASSPHRASE="lifecycle test"
fund_hodl 20000000000
"$QTW" --store w.db init --banks 3 --hodl-keypair hodl.json "${QUICK_KDF[@]}" >/dev/null || exit 1
write_config <<TOML
min_explorer_keys = 16
explorer_keys_to_create = 20
lamports_per_explorer = 10000000
lamports_per_bank = 1000000000
interval_ms = 300
TOML
"$LANDER" --config qtw.toml --transactions 80 --threads 4 --initial-lamports 20000000000 \
  --require-no-dry --quiet | tee report.txt
rc=${PIPESTATUS[0]}
grep -q "80/80 Explorers signed exactly one Lander tx: OK" report.txt || { echo "FAIL single use line"; rc=1; }
grep -q "OK, to the lamport" report.txt || { echo "FAIL conservation line"; rc=1; }
grep -q "80 used, 80 recovered" report.txt || { echo "FAIL recovered count"; rc=1; }
grep -q "pool ran dry           0 time" report.txt || { echo "FAIL pool ran dry"; rc=1; }
# Every Explorer the store knows is retired or still ready; none leased/used.
"$QTW" --store w.db --rpc-url "$URL" --json status > status.json
node -e '
  const s = JSON.parse(require("fs").readFileSync("status.json"));
  const e = s.keys.explorer;
  for (const st of ["leased", "used", "draining", "pending"]) if (e[st]) { console.log("FAIL explorers " + st + ": " + e[st]); process.exit(1); }
  if (e.retired !== 80) { console.log("FAIL retired " + e.retired); process.exit(1); }
' || rc=1
exit $rc
