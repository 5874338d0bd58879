#!/usr/bin/env bash
# Where the daemon's time per lease + sign + return goes: a wallet with
# --ops fresh Explorers on the local node, `qtw serve`, then one client
# (bench/lifecycle_client.mjs) running the lifecycles three times: plain
# (rate, p50), under `strace -f -c` (syscalls per lifecycle) and under
# `perf record -g` (CPU profile; skipped if perf cannot run). Figures and
# their reading are in bench/RESULTS.md.
#   QTW=build/apps/qtw/qtw [CLIENT=cpp] bench/profile_daemon.sh [OPS=300] [CLIENTS=1] [VIA=tcp|unix] [plain]
# With "plain" last, only the plain pass runs (and GET /healthz beside it:
# the transport alone), for quick before/after comparisons.
set -euo pipefail
cd "$(dirname "$0")/.."
QTW=${QTW:-$PWD/build/apps/qtw/qtw}
OPS=${1:-300}
CLIENTS=${2:-1}
VIA=${3:-tcp}
MODE=${4:-all}
work=$(mktemp -d /tmp/qtw-profile-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
export QTW_PASSPHRASE="profile"
ready() {  # waits for "READY x" in file $1, prints x
  for _ in $(seq 300); do
    if grep -q READY "$1" 2>/dev/null; then sed -n 's/.*READY \([^ ]*\).*/\1/p' "$1" | head -1; return; fi
    sleep 0.1
  done
  echo "no READY in $1" >&2; exit 1
}
node tools/localnet/server.js --port 0 > "$work/node.out" 2> "$work/node.err" & pids+=($!)
rpc=$(ready "$work/node.out")
"$QTW" keygen -o "$work/hodl.json" > "$work/hodl.pk"
"$QTW" --rpc-url "$rpc" airdrop "$(cat "$work/hodl.pk")" 1000000000000 > /dev/null
"$QTW" --store "$work/w.db" --rpc-url "$rpc" init --banks 4 --hodl-keypair "$work/hodl.json" \
  --kdf-opslimit 1 --kdf-memlimit-kib 8 > /dev/null
printf 'tok-%032d\n' 7 > "$work/token" && chmod 600 "$work/token"
conf() {  # $1 = Explorers wanted
  printf '[rpc]\nurl = "%s"\n[store]\npath = "%s"\n[balancer]\nmin_explorer_keys = %s\nexplorer_keys_to_create = %s\nlamports_per_explorer = 2000000\nlamports_per_bank = 5000000000\n[log]\nlevel = "warn"\n' \
    "$rpc" "$work/w.db" "$1" "$1"
}
conf $((OPS * 3 + 10)) > "$work/fill.toml"
conf 0 > "$work/serve.toml"
"$QTW" --config "$work/fill.toml" balance > /dev/null
"$QTW" --config "$work/serve.toml" serve --listen 127.0.0.1:0 --unix-socket "$work/d.sock" \
  --token-file "$work/token" > "$work/serve.out" 2> "$work/serve.err" & daemon=$!; pids+=($daemon)
url=$(ready "$work/serve.out")
[ "$VIA" = unix ] && target="unix:$work/d.sock" || target="$url"
bh=$(node -e 'const k=require("@solana/kit");k.createSolanaRpc(process.argv[1]).getLatestBlockhash().send().then(r=>console.log(r.value.blockhash))' "$rpc")
# CLIENT=cpp: the C++ client (build/bench/lifecycle_client), whose own CPU
# stays small beside the daemon's on 2 vCPUs; default: the node.js one.
if [ "${CLIENT:-node}" = cpp ]; then
  client_cmd=("${CPP_CLIENT:-$PWD/build/bench/lifecycle_client}")
else
  client_cmd=(node bench/lifecycle_client.mjs)
fi
client() { "${client_cmd[@]}" --target "$target" --token "$(head -1 "$work/token")" --ops "$OPS" \
  --clients "$CLIENTS" --blockhash "$bh" --to 11111111111111111111111111111112 "$@"; }
cpu_ms() { awk '{ print ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"' }' "/proc/$daemon/stat"; }
echo "== plain ($OPS lifecycles, $CLIENTS client(s), $VIA; load $(cut -d' ' -f1-3 /proc/loadavg))"
c0=$(cpu_ms)
client
c1=$(cpu_ms)
awk -v a="$c0" -v b="$c1" -v n="$OPS" 'BEGIN { printf "daemon CPU (user+sys, all threads): %.2f ms per lifecycle\n", (b - a) / n }'
if [ "$MODE" = trace ]; then  # every syscall with its time, for reading one request's path
  strace -f -tt -T -p "$daemon" -o "${TRACE_OUT:-/tmp/qtw-daemon.strace}" & st=$!
  sleep 1
  client
  kill -INT $st; wait $st 2>/dev/null || true
  exit 0
fi
if [ "$MODE" = plain ]; then
  echo "== GET /healthz alone (the transport), $OPS requests"
  client --healthz
  exit 0
fi
echo "== strace -f -c of the daemon during $OPS lifecycles"
strace -f -c -p "$daemon" -o "$work/strace.txt" & st=$!
sleep 1
client
kill -INT $st; wait $st 2>/dev/null || true
awk -v n="$OPS" 'NR <= 2 { print; next } $4 ~ /^[0-9]+$/ && NF >= 5 { printf "%s   (%.1f per lifecycle)\n", $0, $4 / n; next } { print }' "$work/strace.txt" | head -28 || true
if perf record -o "$work/perf.data" -g -p "$daemon" -- sleep 0.01 > /dev/null 2>&1; then
  echo "== perf record -g of the daemon during $OPS lifecycles (self time, top 30)"
  perf record -q -o "$work/perf.data" -F 2000 -g -p "$daemon" > /dev/null 2>&1 & pf=$!
  sleep 1
  client
  kill -INT $pf; wait $pf 2>/dev/null || true
  perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
    grep -v '^#' | grep '%' | cut -c1-110 | head -30 || true
  echo "== perf: inclusive (children) time of the daemon's own functions, top 40"
  perf report -i "$work/perf.data" --children --sort symbol --stdio -g none 2>/dev/null |
    grep -v '^#' | grep '%' | grep -E 'qtw::|MHD|sqlite3_step|sqlite3_prepare|sodium|fdatasync|pwrite' |
    cut -c1-150 | head -40 || true
else
  echo "== perf cannot record here; skipped"
fi
