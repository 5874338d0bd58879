#!/usr/bin/env bash
# I7 bounded blast radius on the local node: HODL -> Bank top-ups and Bank ->
# Explorer funding stop at their hourly caps (with a warning naming I7), a
# per-Explorer amount above its cap is refused before anything is sent, and
# the chain shows no more than the caps allow.
# Usage: caps_test.sh QTW SOURCE_DIR
set -uo pipefail
QTW=$1; SRC=$2
. "$SRC/tests/integration/lib.sh"
qtw_test_begin caps
start_node
export QTW_PASSPHRASE="caps test"
fund_hodl 10000000000
"$QTW" --store w.db init --banks 2 --hodl-keypair hodl.json "${QUICK_KDF[@]}" >/dev/null || exit 1
# Two Banks want 0.1 SOL each; HODL may give 0.15 SOL an hour. Explorers: 0.01
# SOL each, 5 wanted, a Bank may give 0.03 SOL an hour: 3 are funded.
write_config <<TOML
min_explorer_keys = 5
explorer_keys_to_create = 5
lamports_per_explorer = 10000000
lamports_per_bank = 100000000
[caps]
max_lamports_per_explorer = 10000000
max_bank_outflow_lamports_per_hour = 30000000
max_hodl_outflow_lamports_per_hour = 150000000
TOML
"$QTW" --config qtw.toml --json balance >b1.json
check "one Bank topped up (the second would pass the HODL cap)" "$(jget banks_funded <b1.json)" 1
check "3 of 5 Explorers funded (0.03 SOL an hour per Bank)" "$(jget explorers_created <b1.json)" 3
grep -q "HODL outflow cap reached" b1.json && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL no HODL cap warning: $(cat b1.json)"; }
grep -q "Bank outflow cap reached" b1.json && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL no Bank cap warning: $(cat b1.json)"; }
"$QTW" --config qtw.toml --json status >s.json
# Banks + Explorers hold one 0.1 SOL top-up less one 5,000-lamport funding fee.
check "HODL gave exactly one top-up" "$(( $(jget balances_lamports.bank <s.json) + $(jget balances_lamports.explorer <s.json) ))" 99995000
check "Explorers got exactly the cap" "$(jget balances_lamports.explorer <s.json)" 30000000
# A later cycle within the hour still refuses.
"$QTW" --config qtw.toml --json balance >b2.json
check "still capped (HODL)" "$(jget banks_funded <b2.json)" 0
check "still capped (Bank)" "$(jget explorers_created <b2.json)" 0
# The daemon with its Banks capped: every pool-empty answer (503) wakes the
# balancer, but a capped cycle cannot fund anything before the next interval,
# so wakes wait for it (before: ~100 cycles a second, each a durable leader
# write and the same warning logged again); the warning is logged once.
TOKEN=caps-test-token-0123456789abcdef
printf '%s' "$TOKEN" >token; chmod 600 token
sed -i 's/^\[balancer\]$/[balancer]\ninterval_ms = 1000/' qtw.toml
"$QTW" --config qtw.toml serve --listen 127.0.0.1:0 --token-file token --instance caps >serve.out 2>serve.log &
SERVE=$!; PIDS+=("$SERVE")
D=$(wait_ready serve.out)
[ -n "$D" ] || { echo "daemon did not start"; cat serve.log; exit 1; }
leases=0; empty=0
for _ in $(seq 1 150); do  # ~3 s of Landers asking for an Explorer
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{}' "$D/v1/explorers/lease")
  case $code in 200) leases=$((leases+1)) ;; 503) empty=$((empty+1)) ;; esac
  sleep 0.02
done
cycles=$(curl -s "$D/metrics" | sed -n 's/^qtrade_wallets_balancer_cycle_duration_seconds_count \([0-9]*\).*/\1/p')
kill "$SERVE"; wait "$SERVE" 2>/dev/null
check "the 3 funded Explorers were leased, then the pool was empty" "$leases" 3
[ "$empty" -ge 100 ] && ok || bad "expected >= 100 pool-empty answers, got $empty"
# ~3-4 s at one cycle a second; 150 wakes would give ~100 without the rule.
[ -n "$cycles" ] && [ "$cycles" -le 10 ] && ok || bad "balancer cycles while capped: '$cycles' (want <= 10)"
n=$(grep -c "Bank outflow cap reached" serve.log)
[ "$n" -ge 1 ] && [ "$n" -le 2 ] && ok || bad "Bank cap warning logged $n times (want once, twice at most)"
# Asking for more per Explorer than its cap is refused before anything is sent.
sed -i 's/^lamports_per_explorer = 10000000/lamports_per_explorer = 20000000/' qtw.toml
"$QTW" --config qtw.toml balance >out 2>err; rc=$?
check "per-Explorer cap refused" "$rc" 2
grep -q "exceeds" err && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL cap message: $(cat err)"; }
finish caps
