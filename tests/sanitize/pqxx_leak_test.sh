#!/usr/bin/env bash
# Keeps the libpqxx entry of lsan.supp honest. Builds pqxx_exec_params_leak
# (libpqxx + libpq only, no qtw code) with AddressSanitizer, breaks its
# connection mid-query against a throw-away PostgreSQL cluster, and checks:
#  1. without suppressions LeakSanitizer reports the leak, allocated under
#     pqxx::connection_base::exec_params after encoding_id() threw: the bug is
#     in the library as shipped (if this part fails, libpqxx was fixed: drop
#     the suppression);
#  2. with lsan.supp the same run is clean, and the suppression used is that
#     one entry: it hides nothing else.
# Usage: pqxx_leak_test.sh SOURCE_DIR WORK_DIR
set -uo pipefail
SRC=$1
WORK=$2
CXX=${CXX:-c++}
mkdir -p "$WORK"
STATE=$WORK/pg.state
cleanup() { "$SRC/scripts/pg-test-cluster" stop --state "$STATE" >/dev/null 2>&1; }
trap cleanup EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL $*"; }

bin=$WORK/pqxx_exec_params_leak
if [ ! -x "$bin" ] || [ "$SRC/tests/sanitize/pqxx_exec_params_leak.cpp" -nt "$bin" ]; then
  "$CXX" -std=c++17 -g -O1 -fsanitize=address -fno-omit-frame-pointer \
    "$SRC/tests/sanitize/pqxx_exec_params_leak.cpp" $(pkg-config --cflags libpqxx) -lpqxx -lpq \
    -o "$bin" || { echo "pqxx_leak: compile failed"; exit 1; }
fi
URI=$("$SRC/scripts/pg-test-cluster" start --state "$STATE") || { echo "pqxx_leak: no cluster"; exit 1; }

ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=/dev/null "$bin" "$URI" >"$WORK/bare.log" 2>&1
rc=$?
[ "$rc" != 0 ] && ok || bad "no leak reported without suppressions (libpqxx fixed? then drop lsan.supp's entry)"
grep -q "ERROR: LeakSanitizer: detected memory leaks" "$WORK/bare.log" && ok || bad "no LeakSanitizer report"
grep -q "Could not obtain client encoding" "$WORK/bare.log" && ok || bad "the break did not go through encoding_id()"
grep -q "in pqxx::connection_base::exec_params" "$WORK/bare.log" && ok || bad "leak not under exec_params"
grep -q "PQmakeEmptyPGresult" "$WORK/bare.log" && ok || bad "leaked object is not a PGresult"

ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$SRC/tests/sanitize/lsan.supp:print_suppressions=1" \
  "$bin" "$URI" >"$WORK/supp.log" 2>&1
rc=$?
[ "$rc" = 0 ] && ok || bad "still failing with lsan.supp (exit $rc)"
grep -q "LeakSanitizer: detected memory leaks" "$WORK/supp.log" && bad "a leak the suppression does not cover" || ok
used=$(sed -n '/^Suppressions used:/,/^---/p' "$WORK/supp.log" | grep -c ' [0-9]\+ \+[0-9]\+ ')
[ "$used" = 1 ] && ok || bad "suppressions used: $used (want exactly the exec_params entry)"
grep -q "pqxx::connection_base::exec_params" "$WORK/supp.log" && ok || bad "the entry used is not exec_params"
if [ "$fail" != 0 ]; then echo "--- without suppressions:"; cat "$WORK/bare.log"; echo "--- with lsan.supp:"; cat "$WORK/supp.log"; fi
echo "pqxx_leak: $pass passed, $fail failed"
[ "$fail" = 0 ]
