#!/usr/bin/env bash
# A restored store and the Explorers its original created after the copy
# (docs/DAEMON.md, "Backups and leases"). The live daemon runs; a `qtw
# backup` copy is taken; the live wallet then creates, funds, leases, signs
# real Lander transfers with (sent and landed) and drains more Explorers; a
# plain file copy of the stopped store is taken and the live wallet goes on.
# Each copy is then restored in turn and balanced:
# - the backup copy is marked restored: `qtw balance` scans the chain past
#   each Bank's next index first; no Explorer pubkey is funded twice and no
#   index derived twice (the new ones lie beyond every index the live store
#   used), the Explorers used after the copy end drained (0 lamports) and
#   retired, conservation to the lamport, the mark cleared;
# - the file copy is not marked until `qtw end-leases --yes`; with the node
#   unreachable its balance fails saying why, creates nothing and the mark
#   stays; with the node back it scans, reserves and recovers the same way.
# Usage: restore_test.sh QTW SOURCE_DIR
QTW=$1; SRC=$2
. "$SRC/tests/integration/lib.sh"
qtw_test_begin restore

start_node
export QTW_PASSPHRASE="restore test"
AIRDROP=10000000000
fund_hodl $AIRDROP
"$QTW" --store w.db --rpc-url "$URL" init --banks 2 --hodl-keypair hodl.json "${QUICK_KDF[@]}" >/dev/null || exit 1
SINK=$("$QTW" keygen -o sink.json) || exit 1
make_token restore-test
write_config <<TOML
min_explorer_keys = 4
explorer_keys_to_create = 4
interval_ms = 300
leader_ttl_ms = 1000
[service]
lease_timeout_ms = 10000
token_file = "$WORK/token"
[pool]
claim_batch = 1
TOML
serve() {
  "$QTW" --config qtw.toml serve --listen 127.0.0.1:0 --instance live >serve.out 2>>serve.log & PIDS+=($!); SERVE=$!
  D=$(wait_ready serve.out)
  [ -n "$D" ] || { echo "daemon did not start"; cat serve.log; exit 1; }
}
# Until the pool holds 4 available and nothing is used, draining or in flight.
settle() {
  for _ in $(seq 1 200); do
    Q --json status --no-balances >st.json
    a=$(jget keys.explorer.available <st.json)
    [ "$a" != undefined ] && [ "$a" -ge 4 ] && [ "$(jget keys.explorer.used <st.json)" = undefined ] &&
      [ "$(jget keys.explorer.draining <st.json)" = undefined ] && [ "$(jget in_flight <st.json)" = "[]" ] && return
    sleep 0.2
  done
  bad "the live wallet did not settle: $(cat st.json)"
}
# Explorer pubkeys of a store, one a line: "pubkey bank/index state".
explorers() {
  "$QTW" --store "$1" --json keys list --tier explorer |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const k of JSON.parse(s))console.log(k.pubkey,k.bank_index+"/"+k.explorer_index,k.state)})'
}
# Lease N Explorers through the daemon; each signs a real transfer of
# 1,000,000 lamports to SINK (sent, confirmed) and is returned retired.
LANDED=0
trade() {
  local i pk
  for i in $(seq 1 "$1"); do
    for _ in $(seq 1 100); do  # (503 while the balancer refills the pool)
      pk=$(api /v1/explorers/lease | jget pubkey)
      [ "$pk" != undefined ] && break
      sleep 0.2
    done
    [ "$pk" != undefined ] || { bad "lease $i: no Explorer in 20 s"; continue; }
    if node "$SRC/tests/integration/cli/daemon_lander.js" "$SRC" "$URL" "$D" "$TOKEN" "$pk" "$SINK" 1000000 >>trades.out 2>>trades.err; then
      LANDED=$((LANDED + 1)); echo "$pk" >>signed.txt
    else
      bad "Lander transfer with $pk: $(tail -1 trades.err)"
    fi
    check "return $pk" "$(api "/v1/explorers/$pk/return" '{"retire":true}' | jget state)" used
  done
}
balance_until_done() {  # STORE-FILE-LABEL: one-shot cycles until nothing is left to do
  local n
  for n in $(seq 1 40); do
    if Q --json balance >"bal.$1.$n.json" 2>"bal.$1.$n.err"; then
      Q --json status >s.json
      [ "$(jget keys.explorer.used <s.json)" = undefined ] && [ "$(jget keys.explorer.draining <s.json)" = undefined ] &&
        [ "$(jget in_flight <s.json)" = "[]" ] && [ "$(jget keys.explorer.available <s.json)" != undefined ] && return
    elif ! grep -q "leader" "bal.$1.$n.err"; then
      bad "balance on $1: $(cat "bal.$1.$n.err")"; return
    fi
    sleep 0.5
  done
  bad "balance on $1 never settled: $(cat s.json)"
}
# Checks a restored store after its balance against the live store:
# no index derived twice, no pubkey funded twice, post-copy Explorers
# drained and retired, conservation, mark cleared.
check_restored() {  # LABEL COPY_KEYS_FILE
  local label=$1
  explorers w.db >restored.txt
  check "$label: mark cleared" "$(Q --json status --no-balances | jget restored)" false
  # Every Explorer the live store created after the copy is, in the restored
  # store, at the same index and terminal (retired, or dropped if never
  # funded); every Explorer the restored store created lies beyond every
  # index the live store used; no pubkey or index appears twice.
  node - live.txt restored.txt "$2" <<'JS' >cmp.out
const fs = require("fs");
const rows = (f) => fs.readFileSync(f, "utf8").trim().split("\n").filter(Boolean).map((l) => l.split(" "));
const live = rows(process.argv[2]), restored = rows(process.argv[3]), copy = new Set(rows(process.argv[4]).map((r) => r[0]));
const problems = [];
const seenPk = new Set(), seenIdx = new Set();
for (const [pk, idx] of restored) {
  if (seenPk.has(pk)) problems.push(`pubkey ${pk} twice`);
  if (seenIdx.has(idx)) problems.push(`index ${idx} twice`);
  seenPk.add(pk); seenIdx.add(idx);
}
const restoredByPk = new Map(restored.map((r) => [r[0], r]));
const maxLive = {};
let postCopy = 0;
for (const [pk, idx, state] of live) {
  const [b, j] = idx.split("/").map(Number);
  maxLive[b] = Math.max(maxLive[b] ?? -1, j);
  if (copy.has(pk)) continue;
  postCopy++;
  const r = restoredByPk.get(pk);
  if (!r) { if (state !== "dropped") problems.push(`post-copy ${pk} (${idx}, ${state} live) unknown to the restored store`); continue; }
  if (r[1] !== idx) problems.push(`post-copy ${pk} at ${r[1]}, live ${idx}`);
  if (!["retired", "dropped", "stranded"].includes(r[2])) problems.push(`post-copy ${pk} (${idx}) is ${r[2]} in the restored store`);
}
let beyond = 0;
for (const [pk, idx, state] of restored) {
  if (live.some((l) => l[0] === pk)) continue;
  const [b, j] = idx.split("/").map(Number);
  if (j <= (maxLive[b] ?? -1)) problems.push(`new ${pk} at ${idx}, not beyond the live store's ${b}/${maxLive[b]}`);
  beyond++;
}
console.log(JSON.stringify({ postCopy, beyond, problems }));
JS
  check "$label: no index derived twice, none reused" "$(jget problems <cmp.out)" "[]"
  [ "$(jget postCopy <cmp.out)" -gt 0 ] && ok || bad "$label: the live wallet created no Explorer after the copy: $(cat cmp.out)"
  [ "$(jget beyond <cmp.out)" -gt 0 ] && ok || bad "$label: the restored wallet created no Explorer: $(cat cmp.out)"
  # On chain: every Explorer the live wallet had that is not live-available
  # holds nothing (drained once, never funded again).
  local pks
  pks=$(node -e 'const fs=require("fs");const l=fs.readFileSync("live.txt","utf8").trim().split("\n").map(x=>x.split(" "));console.log(JSON.stringify(l.map(x=>x[0])))')
  curl -s -X POST -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"getMultipleAccounts\",\"params\":[$pks,{\"encoding\":\"base64\"}]}" "$URL" >accts.json
  check "$label: every Explorer of the live store holds 0 lamports" \
    "$(node -e 'const r=JSON.parse(require("fs").readFileSync("accts.json"));console.log(r.result.value.filter(a=>a&&a.lamports>0).length)')" 0
  Q --json status >s.json
  local total sink
  total=$(jget balances_lamports.total <s.json)
  sink=$(curl -s -X POST -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"getBalance\",\"params\":[\"$SINK\"]}" "$URL" | jget result.value)
  check "$label: conservation (managed $total + fees + Landers' $sink)" "$((total + $(fees_collected) + sink))" "$AIRDROP"
  check "$label: audit chain" "$(Q audit verify >/dev/null 2>&1; echo $?)" 0
}

# ---- the live wallet, and a qtw backup copy ----
serve
settle
trade 2
settle
Q --json backup -o backup.db >b.json 2>b.err; check "backup exit" $? 0
check "backup: the copy is marked restored" "$("$QTW" --store backup.db --json status --no-balances | jget restored)" true
check "backup: the live store is not marked" "$(Q --json status --no-balances | jget restored)" false
explorers backup.db >copy1.txt
# After the copy: the pool is used up and refilled (new indexes), some of
# the new ones sign, land and are drained.
trade 10
settle
# A plain file copy of the stopped store (a store restored by other means).
kill -TERM $SERVE; wait $SERVE; check "live daemon stopped" $? 0
cp w.db filecopy.db && chmod 600 filecopy.db
explorers filecopy.db >copy2.txt
serve
trade 8
settle
kill -TERM $SERVE; wait $SERVE; check "live daemon stopped again" $? 0
explorers w.db >live.txt
echo "live store: $(wc -l <live.txt) Explorers, $LANDED Lander transfers landed; copy: $(wc -l <copy1.txt), file copy: $(wc -l <copy2.txt)"
mkdir live && mv w.db* live/

# ---- restore the qtw backup copy ----
cp backup.db w.db && chmod 600 w.db
check "restored copy: status shows the mark" "$(Q --json status --no-balances | jget restored)" true
Q status --no-balances >rs.txt; grep -q "^restored: marked since" rs.txt && ok || bad "status text: $(cat rs.txt)"
balance_until_done backup
scan=$(cat bal.backup.*.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const l of s.trim().split("\n")){const r=JSON.parse(l);if(r.restore_scan){console.log(JSON.stringify(r.restore_scan));return}}})')
echo "restore scan (backup copy): $scan"
[ -n "$scan" ] && ok || bad "no balance reported a restore scan"
check "backup copy: found the post-copy Explorers" \
  "$(echo "$scan" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(r.banks.reduce((n,b)=>n+b.reserved,0)>0)})')" true
check_restored "backup copy" copy1.txt
grep -q "wallet.restore_scan" <(Q --json audit tail -n 200) && ok || bad "no wallet.restore_scan audit entry"
mkdir restored1 && mv w.db* restored1/
# The restored wallet went on (it created Explorers beyond the live ones):
# they are what the next restore must find too.
explorers restored1/w.db >>live.txt

# ---- restore the file copy: end-leases --yes, node down, node back ----
cp filecopy.db w.db && chmod 600 w.db
check "file copy: not marked" "$(Q --json status --no-balances | jget restored)" false
Q --json end-leases --yes >el.json 2>el.err; check "end-leases --yes exit" $? 0
check "end-leases reports the mark" "$(jget restored <el.json)" true
check "file copy: marked by end-leases" "$(Q --json status --no-balances | jget restored)" true
Q --json status >st.json; check "file copy: the mark in status --json" "$(jget restored <st.json)" true
before=$(explorers w.db | wc -l)
DEAD=http://127.0.0.1:$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
sleep 1.2  # (the copy's leader slot, leader_ttl_ms 1 s)
"$QTW" --config qtw.toml --rpc-url "$DEAD" balance >down.out 2>down.err; check "balance with the node down: exit" $? 1
grep -q "no Explorer created: this restored store's chain scan" down.err && ok || bad "node-down message: $(cat down.err)"
check "node down: nothing created" "$(explorers w.db | wc -l)" "$before"
check "node down: the mark stays" "$(Q --json status --no-balances | jget restored)" true
balance_until_done filecopy
check_restored "file copy" copy2.txt
finish restore
