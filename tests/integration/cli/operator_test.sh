#!/usr/bin/env bash
# An operator's first hour against the real local node: global options after
# the command (-u URL, --rpc-url, -o json), amounts in SOL, sweep pausing the
# wallet until `qtw resume` (balance funds nothing while paused), Ctrl-C
# during `qtw balance` then an immediate rerun (the leader slot is freed at
# once), `rescue --banks N` restoring Banks the chain never saw, `serve
# --allow-remote` warning, and `release --keep` of a signed key exiting 2.
# Usage: operator_test.sh QTW_BINARY SOURCE_DIR
QTW=$1; SRC=$2
. "$SRC/tests/integration/lib.sh"
qtw_test_begin operator-test

# Slots of 300 ms: a cycle's confirmation takes a few, so Ctrl-C lands in it.
start_node --slot-ms 300
export QTW_PASSPHRASE="operator test passphrase"
export QTW_STORE="$WORK/w.db"

HODL=$("$QTW" keygen -o hodl.json)
# Global options after the command, amounts in SOL.
"$QTW" airdrop "$HODL" --sol 20 -u "$URL" >/dev/null || bad "airdrop --sol 20 -u URL"
check "airdrop --sol lands exactly" "$("$QTW" account "$HODL" --url "$URL" -o json | jget lamports)" 20000000000
"$QTW" init --banks 2 --hodl-keypair hodl.json --kdf-opslimit 1 --kdf-memlimit-kib 8 >/dev/null || bad init

# Ctrl-C during the first cycle (Bank top-ups confirming, Explorers next):
# it stops after the step, says what the next run resumes, exits 130, and
# an immediate rerun takes the leader slot (no 15 s leader TTL to wait).
interrupted=""
for delay in 0.4 0.2 0.7 0.1; do
  "$QTW" balance --rpc-url "$URL" >int.out 2>int.err &
  BPID=$!
  sleep "$delay"
  kill -INT "$BPID" 2>/dev/null
  wait "$BPID"; rc=$?
  if [ "$rc" = 130 ] && grep -q "will be resumed" int.err; then interrupted=1; break; fi
  [ "$rc" = 0 ] || bad "balance (no interrupt) exit $rc: $(cat int.err)"
done
[ -n "$interrupted" ] && ok || bad "Ctrl-C never landed inside a cycle: $(cat int.out int.err)"
grep -q "interrupted: stopped after the current step" int.err && ok || bad "interrupt message: $(cat int.err)"
"$QTW" balance --rpc-url "$URL" -o json >rerun.json 2>rerun.err; rc=$?
check "immediate rerun after Ctrl-C exits" "$rc" 0
grep -q "leader" rerun.err && bad "rerun waited on the leader slot: $(cat rerun.err)" || ok
"$QTW" balance -u "$URL" --json >b.json 2>/dev/null
check "pool filled after the rerun" "$("$QTW" status --json -u "$URL" | jget keys.explorer.available)" 5

# A shell lease whose secret left the wallet cannot go back: exit 2 (a
# refusal of the request), as is releasing a key that is not leased.
E=$("$QTW" acquire --outfile e.json 2>acq.err)
grep -Eq "leased until [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} .*\(in [0-9]+ s\)" acq.err && ok \
  || bad "lease deadline in local time with seconds left: $(cat acq.err)"
"$QTW" release "$E" --keep >out 2>err; check "release --keep of a signed key exits" $? 2
grep -q "$E" err && ok || bad "refusal names the key in base58: $(cat err)"
"$QTW" release "$E" --retire >/dev/null || bad "retire"
"$QTW" release "$E" --retire >out 2>err; check "release of a key not leased exits" $? 2

# Sweep pauses the wallet: balance recovers but funds nothing until resume.
"$QTW" sweep --to-hodl --yes -u "$URL" >sweep.txt 2>&1 || bad "sweep: $(cat sweep.txt)"
grep -q "^bank sweep signature " sweep.txt && ok || bad "sweep prints the Banks' signatures: $(cat sweep.txt)"
grep -Eq "^fees +[0-9]+ signatures in [0-9]+ landed tx" sweep.txt && ok || bad "sweep fee line: $(cat sweep.txt)"
"$QTW" status --json -u "$URL" >s.json
check "status says paused" "$(jget funding_paused <s.json)" true
check "banks empty after sweep" "$(jget balances_lamports.bank <s.json)" 0
"$QTW" status -u "$URL" | grep -q "PAUSED" && ok || bad "status text says paused"
"$QTW" balance -u "$URL" --json >p.json 2>/dev/null; rc=$?
check "paused balance exits" "$rc" 0
check "paused balance funds no Bank" "$(jget banks_funded <p.json)" 0
check "paused balance creates no Explorer" "$(jget explorers_created <p.json)" 0
check "paused balance reports the pause" "$(jget funding_paused <p.json)" true
check "paused: banks still empty" "$("$QTW" status --json -u "$URL" | jget balances_lamports.bank)" 0
"$QTW" resume --json >r.json || bad resume
check "resume says it was paused" "$(jget was_paused <r.json)" true
"$QTW" resume >r.txt; grep -q "not paused" r.txt && ok || bad "second resume: $(cat r.txt)"
"$QTW" balance -u "$URL" --json >f.json 2>/dev/null
check "after resume Banks are funded" "$(jget banks_funded <f.json)" 2
check "after resume Explorers are created" "$(jget explorers_created <f.json)" 5
check "status no longer paused" "$("$QTW" status --json -u "$URL" | jget funding_paused)" false

# serve --allow-remote on 0.0.0.0: serves, with a warning.
openssl rand -hex 32 >token; chmod 600 token
"$QTW" serve --listen 0.0.0.0:0 --allow-remote --token-file token -u "$URL" >serve.out 2>serve.err &
SERVE_PID=$!; PIDS+=("$SERVE_PID")
for _ in $(seq 1 100); do grep -q '^READY ' serve.out && break; sleep 0.1; done
grep -q '^READY http://0.0.0.0:' serve.out && ok || bad "serve --allow-remote READY: $(cat serve.out serve.err)"
grep -q "other hosts can reach" serve.err && ok || bad "serve --allow-remote warns: $(cat serve.err)"
kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; SERVE_PID=""

# rescue --banks N: Banks 0..N-1 even though the chain never saw Bank 2.
"$QTW" export-seed --yes-i-understand >seed.hex; chmod 600 seed.hex
"$QTW" keys list --tier bank --json >banks_before.json
QTW_STORE="$WORK/r.db" "$QTW" rescue --seed-file seed.hex --hodl-keypair hodl.json --banks 3 \
  --kdf-opslimit 1 --kdf-memlimit-kib 8 -u "$URL" --json >rescue.json || bad "rescue --banks 3"
QTW_STORE="$WORK/r.db" "$QTW" keys list --tier bank --json >banks_after.json
check "rescue --banks 3 restores 3 Banks" "$(node -e 'console.log(JSON.parse(require("fs").readFileSync("banks_after.json")).length)')" 3
for i in 0 1; do
  check "rescued Bank $i is the same key" \
    "$(node -e "console.log(JSON.parse(require('fs').readFileSync('banks_after.json'))[$i].pubkey)")" \
    "$(node -e "console.log(JSON.parse(require('fs').readFileSync('banks_before.json'))[$i].pubkey)")"
done

finish operator
