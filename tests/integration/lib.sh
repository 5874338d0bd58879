# tests/integration/lib.sh: the set-up the integration shell scripts share,
# written once. A script sets QTW and SRC, sources this file and calls
# qtw_test_begin:
#   QTW=$1; SRC=$2
#   . "$SRC/tests/integration/lib.sh"
#   qtw_test_begin NAME            # $WORK (cwd), cleanup at exit
#   start_node                     # $URL: a local node on a free port
#   fund_hodl 10000000000          # $HODL: hodl.json, airdropped
#   "$QTW" --store w.db init --banks 2 --hodl-keypair hodl.json "${QUICK_KDF[@]}"
#   check "what" "$got" "$want"; ...; finish NAME
# At exit every process in PIDS is killed and $WORK removed (kept when
# QTW_KEEP_WORK is set, for a post-mortem).
set -uo pipefail

# Argon2id at its minimum: tests unseal often; the real cost is in docs/KEYS.md.
QUICK_KDF=(--kdf-opslimit 1 --kdf-memlimit-kib 8)

qtw_test_begin() {  # NAME
  WORK=$(mktemp -d "/tmp/qtw-$1.XXXXXX")
  PIDS=()
  pass=0
  fail=0
  trap qtw_test_cleanup EXIT
  cd "$WORK" || exit 1
}

qtw_test_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "${QTW_KEEP_WORK:-}" ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}

ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL $*"; }
check() { if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi; }

# Prints the summary line and returns non-zero if anything failed.
finish() {  # NAME [EXTRA]
  echo "$1: $pass passed, $fail failed${2:+ $2}"
  [ "$fail" = 0 ]
}

# jget PATH < JSON: the value at a dotted path ("undefined" when missing);
# objects and arrays as JSON.
jget() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v=JSON.parse(s);for(const k of process.argv[1].split("."))v=v?.[k];console.log(typeof v==="object"?JSON.stringify(v):v)})' "$1"; }

# The URL of a child's `READY <url>` line in FILE (10 s at most).
wait_ready() {  # FILE
  local _
  for _ in $(seq 1 100); do grep -q '^READY ' "$1" 2>/dev/null && break; sleep 0.1; done
  sed -n 's/^READY //p' "$1"
}

# A local node (tools/localnet) on a free port: $URL, $NODE_PID.
start_node() {  # [server.js args]
  node "$SRC/tools/localnet/server.js" --port 0 "$@" >node.out 2>node.log &
  NODE_PID=$!
  PIDS+=("$NODE_PID")
  URL=$(wait_ready node.out)
  [ -n "$URL" ] || { echo "local node did not start"; cat node.log; exit 1; }
}

# The fault proxy (tools/faultproxy) in front of TARGET: $PROXY.
start_proxy() {  # TARGET [proxy.js args]
  local target=$1
  shift
  node "$SRC/tools/faultproxy/proxy.js" --listen-port 0 --target "$target" "$@" >proxy.out 2>proxy.log &
  PIDS+=($!)
  PROXY=$(wait_ready proxy.out)
  [ -n "$PROXY" ] || { echo "fault proxy did not start"; cat proxy.log; exit 1; }
}

# Fees the node collected from user transactions (airdrops excluded): the
# conservation checks (I6) add them to the managed balances.
fees_collected() {
  curl -s -X POST -H 'Content-Type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"qtwLocalnetInfo"}' "$URL" | jget result.userFeesCollected
}

# A new HODL keypair (hodl.json, $HODL) with LAMPORTS airdropped to it.
fund_hodl() {  # LAMPORTS
  HODL=$("$QTW" keygen -o hodl.json) || { echo "keygen failed"; exit 1; }
  "$QTW" --rpc-url "$URL" airdrop "$HODL" "$1" >/dev/null || { echo "airdrop to HODL failed"; exit 1; }
}

# qtw.toml for the local node ($URL) and the store $WORK/w.db, then the
# [balancer] table and whatever else comes on stdin.
write_config() {
  { printf '[rpc]\nurl = "%s"\n[store]\npath = "%s/w.db"\n[balancer]\n' "$URL" "$WORK"; cat; } >qtw.toml
}

# A bearer token for `qtw serve` in $WORK/token (mode 0600): $TOKEN.
make_token() {  # NAME
  TOKEN=$1-token-0123456789abcdef
  printf '%s' "$TOKEN" >token
  chmod 600 token
}

# qtw with that config; a POST to the daemon at $D with the bearer token.
Q() { "$QTW" --config qtw.toml "$@"; }
api() {  # PATH [JSON]
  curl -s -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "${2:-{\}}" "$D$1"
}
