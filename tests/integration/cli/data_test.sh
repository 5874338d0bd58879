#!/usr/bin/env bash
# The wallet's data while `qtw serve` runs: one live daemon per --instance
# (a second is refused, exit 1), the hash-chained audit log (`qtw audit
# verify` exit 0, then 2 naming the entry once a row is edited behind the
# store's back; `qtw audit tail`), and `qtw backup`: an online copy, mode
# 0600, never over a file without --force; the daemon is stopped, the copy
# restored, and `qtw balance` on it loses nothing (same keys and intents,
# everything recovered, conservation to the lamport). A PostgreSQL store is
# refused with the pg_dump advice (exit 2).
# Usage: data_test.sh QTW SOURCE_DIR
QTW=$1; SRC=$2
. "$SRC/tests/integration/lib.sh"
qtw_test_begin data

start_node
export QTW_PASSPHRASE="data test"
AIRDROP=10000000000
fund_hodl $AIRDROP
"$QTW" --store w.db init --banks 2 --hodl-keypair hodl.json "${QUICK_KDF[@]}" >/dev/null || exit 1
make_token data-test
write_config <<TOML
min_explorer_keys = 6
explorer_keys_to_create = 8
interval_ms = 300
leader_ttl_ms = 60000
[service]
token_file = "$WORK/token"
lease_timeout_ms = 10000
TOML
# (background processes run "$QTW" itself: a function would be a subshell)
available() { curl -s -H "Authorization: Bearer $TOKEN" "$D/v1/status" | jget keys.explorer.available; }
wait_pool() { for _ in $(seq 1 150); do a=$(available); [ "$a" != undefined ] && [ "$a" -ge 6 ] && return; sleep 0.2; done; bad "pool never reached 6 (got $a)"; }

"$QTW" --config qtw.toml serve --listen 127.0.0.1:0 --instance data-test >serve.out 2>serve.log & PIDS+=($!); SERVE=$!
D=$(wait_ready serve.out)
[ -n "$D" ] || { echo "daemon did not start"; cat serve.log; exit 1; }
wait_pool

# One live daemon per instance and store.
"$QTW" --config qtw.toml serve --listen 127.0.0.1:0 --instance data-test >second.out 2>second.err & SECOND=$!
for _ in $(seq 1 100); do kill -0 $SECOND 2>/dev/null || break; sleep 0.1; done
if kill -0 $SECOND 2>/dev/null; then kill -9 $SECOND; bad "a second daemon with the same instance kept running"; fi
wait $SECOND; check "second daemon, same instance: exit" $? 1
grep -q "already running" second.err && ok || bad "second daemon's message: $(cat second.err)"

# kill -9 and restart with the same instance: it leads again at once, not
# after leader_ttl_ms (60 s here) as a stranger would have to wait.
kill -9 $SERVE; wait $SERVE 2>/dev/null
"$QTW" --config qtw.toml serve --listen 127.0.0.1:0 --instance data-test >serve.out 2>serve.log & PIDS+=($!); SERVE=$!
D=$(wait_ready serve.out)
[ -n "$D" ] || { echo "daemon did not restart"; cat serve.log; exit 1; }
for _ in $(seq 1 100); do
  [ "$(curl -s -H "Authorization: Bearer $TOKEN" "$D/v1/status" | jget leader)" = true ] && break
  sleep 0.2
done
check "restarted daemon leads again within 20 s (leader_ttl_ms 60 s)" \
  "$(curl -s -H "Authorization: Bearer $TOKEN" "$D/v1/status" | jget leader)" true
"$QTW" --store w.db --rpc-url "$URL" balance >other.out 2>other.err
check "a one-shot balance meanwhile is refused (slot held)" $? 1

# Some activity: three leases, returned retired (to be recovered).
for i in 1 2 3; do
  PK=$(api /v1/explorers/lease | jget pubkey)
  check "return $i" "$(api "/v1/explorers/$PK/return" '{"retire":true}' | jget state)" used
done
wait_pool
# ... and wait until the daemon has recovered them (nothing changes after).
for _ in $(seq 1 150); do
  curl -s -H "Authorization: Bearer $TOKEN" "$D/v1/status" >st.json
  [ "$(jget keys.explorer.retired <st.json)" = 3 ] && [ "$(jget keys.explorer.draining <st.json)" = undefined ] && break
  sleep 0.2
done
check "daemon recovered the three" "$(jget keys.explorer.retired <st.json)" 3

# The audit log.
Q audit verify >v.out 2>v.err; check "audit verify exit" $? 0
grep -q "audit log intact" v.out && ok || bad "verify says: $(cat v.out v.err)"
Q --json audit tail -n 3 >tail.json; check "audit tail exit" $? 0
check "audit tail -n 3" "$(jget length <tail.json)" 3
check "tail entries are chained" "$(node -e 'const t=JSON.parse(require("fs").readFileSync("tail.json"));console.log(t[1].prev_hash===t[0].hash&&t[2].prev_hash===t[1].hash)')" true

# Online backup while the daemon runs.
Q backup -o backup.db >b.out 2>b.err; check "backup exit" $? 0
check "backup mode" "$(stat -c %a backup.db)" 600
Q backup -o backup.db >b2.out 2>b2.err; check "backup over a file: exit" $? 2
grep -q "refusing to overwrite" b2.err && ok || bad "overwrite message: $(cat b2.err)"
# A lease held when the copy is taken: in the copy every lease has ended
# (leased -> used). The live daemon goes on and signs with it after the copy;
# a daemon on the restored copy must not sign with it again (I2), nor hand
# it out: it is recovered and retired.
# msg PUBKEY: a legacy System transfer of 1,000 lamports from PUBKEY (base64).
msg() { node -e '
  const kit = require(process.argv[2] + "/node_modules/@solana/kit");
  const b58 = kit.getBase58Encoder();
  const from = b58.encode(process.argv[1]), to = new Uint8Array(32).fill(7);
  const data = Buffer.alloc(12); data.writeUInt32LE(2, 0); data.writeBigUInt64LE(1000n, 4);
  const m = Buffer.concat([Buffer.from([1, 0, 1, 3]), from, to, Buffer.alloc(32), Buffer.alloc(32, 9),
                           Buffer.from([1, 2, 2, 0, 1, 12]), data]);
  console.log(m.toString("base64"));' "$1" "$SRC"; }
HELD=$(api /v1/explorers/lease | jget pubkey)
# The lease's claimed batch lowers the pool: let the balancer refill it
# first, so that the counts compared below are settled at the copy
# (Explorers funded after a copy: restore_test.sh).
for _ in $(seq 1 150); do
  Q --json status --no-balances >st.json
  a=$(jget keys.explorer.available <st.json)
  [ "$a" != undefined ] && [ "$a" -ge 6 ] && [ "$(jget in_flight <st.json)" = "[]" ] && break
  sleep 0.2
done
Q --json backup -o backup.db --force >b3.json 2>b3.err; check "backup --force exit" $? 0
check "live daemon signs with the held Explorer after the copy" \
  "$(api "/v1/explorers/$HELD/sign" "{\"message\":\"$(msg "$HELD")\"}" | jget signature | grep -c .)" 1
check "held Explorer returned retired" "$(api "/v1/explorers/$HELD/return" '{"retire":true}' | jget state)" used
Q --json status >live.json
num() { [ "$1" = undefined ] && echo 0 || echo "$1"; }
N=$(jget leases_ended <b3.json)
echo "backup: $(cat b3.json)"
[ "$N" != undefined ] && [ "$N" -ge 1 ] && ok || bad "backup ended $N leases; the one held was leased at the copy"
"$QTW" --store postgresql://qtw@127.0.0.1:1/none backup -o pg.dump >pg.out 2>pg.err; check "backup of a PostgreSQL store: exit" $? 2
grep -q "pg_dump" pg.err && ok || bad "PostgreSQL advice: $(cat pg.err)"

# Stop the daemon, restore the copy in place of the store.
kill -TERM $SERVE; wait $SERVE; check "daemon stopped cleanly" $? 0
mkdir old && mv w.db* old/
cp backup.db w.db && chmod 600 w.db
Q --json status >restored.json || bad "status of the restored store"
# (The daemon went on after the copy: only what it had finished agrees.)
for k in keys.explorer.retired keys.bank; do
  check "restored $k as at the backup" "$(jget $k <restored.json)" "$(jget $k <live.json)"
done
check "restored: no lease left" "$(jget keys.explorer.leased <restored.json)" undefined
RU=$(num "$(jget keys.explorer.used <restored.json)")
[ "$RU" -ge "$N" ] && ok || bad "restored: $RU used, want the $N ended leases among them"
Q audit verify >/dev/null 2>rv.err; check "restored audit verify" $? 0
Q --json audit tail -n 1 >rt.json
check "restored: the audit log says why" "$(jget 0.action <rt.json)" leases.ended

# The daemon on the restored store, same instance (it leads at once): the
# Explorer that signed after the copy cannot sign again; it is recovered.
"$QTW" --config qtw.toml serve --listen 127.0.0.1:0 --instance data-test >serve.out 2>serve.log & PIDS+=($!); SERVE=$!
D=$(wait_ready serve.out)
[ -n "$D" ] || { echo "daemon did not start on the restored store"; cat serve.log; exit 1; }
code=$(curl -s -o resign.json -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d "{\"message\":\"$(msg "$HELD")\"}" "$D/v1/explorers/$HELD/sign")
case $code in 404|409) ok ;; *) bad "second signature with $HELD on the restored store: HTTP $code $(cat resign.json)" ;; esac
for _ in $(seq 1 150); do
  Q --json status >s.json
  [ "$(jget keys.explorer.used <s.json)" = undefined ] && [ "$(jget keys.explorer.draining <s.json)" = undefined ] &&
    [ "$(jget in_flight <s.json)" = "[]" ] && break
  sleep 0.2
done
kill -TERM $SERVE; wait $SERVE; check "daemon on the restored store stopped cleanly" $? 0
Q --json status >s.json
Q --json keys list --tier explorer >restored_keys.json
check "restored: the held Explorer is retired (never available again)" \
  "$(node -e 'const k=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(k.find(x=>x.pubkey===process.argv[2])?.state)' restored_keys.json "$HELD")" retired
check "restored: nothing used (all recovered)" "$(jget keys.explorer.used <s.json)" undefined
check "restored: nothing leased" "$(jget keys.explorer.leased <s.json)" undefined
check "restored: nothing in flight" "$(jget in_flight <s.json)" "[]"
check "restored: retired" "$(jget keys.explorer.retired <s.json)" "$((3 + RU))"
total=$(jget balances_lamports.total <s.json)
check "restored: conservation (managed $total + fees)" "$((total + $(fees_collected)))" "$AIRDROP"

# qtw end-leases: the same for a store restored by other means (pg_dump, a
# file copy). A lease taken by `qtw acquire` (its secret exported) ends as used.
Q end-leases >el.out 2>el.err; check "end-leases without --yes: exit" $? 2
Q acquire --outfile e.json >/dev/null 2>acq.err || bad "acquire: $(cat acq.err)"
AV=$(num "$(Q --json status --no-balances | jget keys.explorer.available)")
Q --json end-leases --yes >el.json 2>el.err; check "end-leases --yes exit" $? 0
check "end-leases ended the acquired lease" "$(jget leases_ended <el.json)" 1
check "end-leases took the $AV available Explorers out of service" "$(jget available_ended <el.json)" "$AV"
Q --json status >s.json
check "end-leases: nothing leased" "$(jget keys.explorer.leased <s.json)" undefined
check "end-leases: nothing available" "$(jget keys.explorer.available <s.json)" undefined
check "end-leases: the lease and the available ones are used (to be recovered)" \
  "$(jget keys.explorer.used <s.json)" "$((AV + 1))"
check "end-leases: the store is marked restored" "$(jget restored <s.json)" true
Q audit verify >/dev/null 2>ev.err; check "audit verify after end-leases" $? 0

# A restart never takes leases back: a daemon killed and restarted ends
# every lease its predecessor held as used (it may have signed), so both a
# lease that signed and one that did not are refused (409) afterwards, and
# end used; no restart, however fast, keeps keys out of recovery.
serve_restart() {
  [ -n "${SERVE:-}" ] && { kill -9 $SERVE; wait $SERVE 2>/dev/null; }
  "$QTW" --config qtw.toml serve --listen 127.0.0.1:0 --instance data-test >serve.out 2>>serve.log & PIDS+=($!); SERVE=$!
  D=$(wait_ready serve.out)
  [ -n "$D" ] || { echo "daemon did not start"; cat serve.log; exit 1; }
}
sign_code() { curl -s -o sign.json -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d "{\"message\":\"$(msg "$1")\"}" "$D/v1/explorers/$1/sign"; }
SERVE=; serve_restart
wait_pool  # (the first cycle scans the chain, then refills the pool)
check "the daemon's first cycle cleared the restored mark" "$(Q --json status --no-balances | jget restored)" false
HELD2=$(api /v1/explorers/lease | jget pubkey)
HELD3=$(api /v1/explorers/lease | jget pubkey)
check "a held lease signs before the restart" "$(sign_code "$HELD2")" 200
serve_restart
check "after a restart the lease that signed is refused" "$(sign_code "$HELD2")" 409
check "after a restart the lease that did not sign is refused too" "$(sign_code "$HELD3")" 409
grep -q "held by this owner before its restart end as used" serve.log && ok || bad "no log of the leases ended at the restart"
for held in "$HELD2" "$HELD3"; do
  check "the held lease $held ended used" \
    "$(Q --json keys list --tier explorer | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const k=JSON.parse(s).find(x=>x.pubkey===process.argv[1]);console.log(["used","draining","retired"].includes(k?.state))})' "$held")" true
done
kill -TERM $SERVE; wait $SERVE

# Tampering behind the store's back is named by verify (exit 2).
if python3 -c 'import sqlite3' 2>/dev/null; then
  python3 - <<'PY'
import sqlite3
db = sqlite3.connect("w.db")
db.executescript("DROP TRIGGER audit_no_update; UPDATE audit SET detail = 'forged' WHERE id = 5;")
db.close()
PY
  Q audit verify >t.out 2>t.err; check "tampered audit verify exit" $? 2
  grep -q "broken at entry 5" t.err && ok || bad "tampered verify says: $(cat t.out t.err)"
fi
finish data
