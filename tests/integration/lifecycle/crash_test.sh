#!/usr/bin/env bash
# Crash test (docs/ARCHITECTURE.md, Test rig): kill -9 `qtw balance` at pseudo-random instants
# while it balances through a slow proxy, many times, with Explorers being
# used in between; then let a clean cycle finish. Checks, to the lamport:
#   I1/I6  every airdropped lamport is in a key the store knows, or was a fee;
#   I4     no Explorer was funded twice (each available one holds exactly
#          lamports_per_explorer) and nothing is left pending or in flight;
#   and every used Explorer is eventually drained to 0.
# The delays are seeded (QTW_CRASH_SEED, default 7) and printed, so a failure
# can be replayed. Usage: crash_test.sh QTW SOURCE_DIR [ROUNDS]
set -uo pipefail
QTW=$1; SRC=$2; ROUNDS=${3:-10}
RANDOM=${QTW_CRASH_SEED:-7}
WORK=$(mktemp -d /tmp/qtw-crash.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${QTW_KEEP_WORK:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT
cd "$WORK"
pass=0; fail=0
check() { if [ "$2" = "$3" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL $1: got '$2', want '$3'"; fi; }
jget() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v=JSON.parse(s);for(const k of process.argv[1].split("."))v=v?.[k];console.log(typeof v==="object"?JSON.stringify(v):v)})' "$1"; }

node "$SRC/tools/localnet/server.js" --port 0 >node.out 2>node.log & PIDS+=($!)
for _ in $(seq 1 100); do grep -q '^READY ' node.out && break; sleep 0.1; done
URL=$(sed -n 's/^READY //p' node.out)
node "$SRC/tools/faultproxy/proxy.js" --listen-port 0 --target "$URL" --mode delay:150 >proxy.out 2>proxy.log & PIDS+=($!)
for _ in $(seq 1 100); do grep -q '^READY ' proxy.out && break; sleep 0.1; done
PROXY=$(sed -n 's/^READY //p' proxy.out)
[ -n "$URL" ] && [ -n "$PROXY" ] || { echo "node or proxy did not start"; exit 1; }
export QTW_PASSPHRASE="crash test"
# A killed balancer's leader slot frees after leader_ttl_ms; 1 s keeps the
# test quick (the default is 15 s).
printf '[balancer]\nleader_ttl_ms = 1000\n' > ttl.toml
Q() { "$QTW" --config ttl.toml --store "$WORK/w.db" "$@"; }
fees() { curl -s -X POST -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"qtwLocalnetInfo"}' "$URL" | jget result.userFeesCollected; }
HODL=$("$QTW" keygen -o hodl.json)
AIRDROP=10000000000
"$QTW" --rpc-url "$URL" airdrop "$HODL" $AIRDROP >/dev/null || exit 1
Q init --banks 2 --hodl-keypair hodl.json --kdf-opslimit 1 --kdf-memlimit-kib 8 >/dev/null || exit 1

killed=0
for round in $(seq 1 "$ROUNDS"); do
  # Use a few Explorers (they become `used`, to be recovered).
  n=$((RANDOM % 4))
  for _ in $(seq 1 $n); do E=$(Q acquire 2>/dev/null) && Q release "$E" --retire >/dev/null; done
  delay_ms=$((100 + RANDOM % 2400))
  # The binary itself in the background (not the Q function: that would be a
  # subshell, and killing it would leave qtw running).
  "$QTW" --config ttl.toml --store "$WORK/w.db" --rpc-url "$PROXY" balance >"round$round.out" 2>&1 & BAL=$!
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -9 $BAL 2>/dev/null
  wait $BAL 2>/dev/null; rc=$?
  # 137 = died of SIGKILL (128 + 9); anything else finished on its own.
  if [ $rc = 137 ]; then killed=$((killed+1)); what="killed after ${delay_ms} ms"; else what="finished (exit $rc) within ${delay_ms} ms: $(grep -E "error|warning" "round$round.out" | head -2 | tr "\n" " ")"; fi
  echo "round $round: used $n, $what"
  sleep 1.2  # the killed one's leader slot expires (leader_ttl_ms)
done
# At least half the rounds must really have been interrupted, or the test
# proved nothing.
check "rounds interrupted mid-cycle" "$((killed * 2 >= ROUNDS))" 1

# A clean finish: resume whatever is in flight, recover, top up.
for _ in 1 2 3; do
  Q --rpc-url "$URL" --json balance >final.json 2>final.err
  Q --rpc-url "$URL" --json status >s.json
  [ "$(jget in_flight <s.json)" = "[]" ] && [ "$(jget keys.explorer.used <s.json)" = undefined ] && break
done
check "nothing in flight" "$(jget in_flight <s.json)" "[]"
for st in used draining pending leased; do
  check "no explorer $st" "$(jget keys.explorer.$st <s.json)" undefined
done
Q --json keys list --tier explorer >keys.json
for pk in $(node -e 'for (const k of JSON.parse(require("fs").readFileSync("keys.json"))) if (k.state==="available") console.log(k.pubkey)'); do
  check "available $pk holds exactly 0.01 SOL (never funded twice)" "$("$QTW" --rpc-url "$URL" --json account "$pk" | jget lamports)" 10000000
done
total=$(jget balances_lamports.total <s.json)
check "conservation (managed $total + fees)" "$((total + $(fees)))" "$AIRDROP"
echo "crash: $pass passed, $fail failed ($killed of $ROUNDS rounds killed)"
[ "$fail" = 0 ]
