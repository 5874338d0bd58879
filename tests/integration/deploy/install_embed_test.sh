#!/usr/bin/env bash
# The library installs like one: `cmake --install` to a temporary prefix
# (component qtw: no /etc, no systemd unit), then examples/embed is built
# against that installed tree twice, with find_package(qtw CONFIG) and with
# pkg-config, and each build runs: --help, and a lease + sign + return on a
# wallet made on the local node.
# Usage: install_embed_test.sh BUILD_DIR SOURCE_DIR QTW_BINARY
set -uo pipefail
BUILD=$1
SRC=$2
QTW=$3
WORK=$(mktemp -d /tmp/qtw-install-test.XXXXXX)
NODE_PID=""
cleanup() { [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL $*"; }
check() { if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi; }
PREFIX=$WORK/prefix

cmake --install "$BUILD" --prefix "$PREFIX" --component qtw >"$WORK/install.log" 2>&1 ||
  { bad "cmake --install: $(tail -5 "$WORK/install.log")"; }
for f in bin/qtw include/qtw/wallet/key_manager.h include/qtw/result.h; do
  [ -f "$PREFIX/$f" ] && ok || bad "installed $f"
done
LIBDIR=$(dirname "$(find "$PREFIX" -name libqtw.a | head -1)")
[ -f "$LIBDIR/libqtw.a" ] && ok || bad "installed libqtw.a"
for f in qtwConfig.cmake qtwConfigVersion.cmake qtwTargets.cmake; do
  [ -f "$LIBDIR/cmake/qtw/$f" ] && ok || bad "installed cmake/qtw/$f"
done
[ -f "$LIBDIR/pkgconfig/qtw.pc" ] && ok || bad "installed pkgconfig/qtw.pc"
[ ! -e "$PREFIX/lib/systemd" ] && ok || bad "component qtw installed the systemd unit"

# find_package(qtw CONFIG) from the installed prefix only (no build tree).
if cmake -S "$SRC/examples/embed" -B "$WORK/embed-cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release \
     -DCMAKE_PREFIX_PATH="$PREFIX" >"$WORK/configure.log" 2>&1 &&
   cmake --build "$WORK/embed-cmake" >"$WORK/build.log" 2>&1; then
  ok
else
  bad "examples/embed via find_package: $(tail -20 "$WORK/configure.log" "$WORK/build.log")"
fi
# A version the package does not satisfy is refused.
mkdir -p "$WORK/v"
printf 'cmake_minimum_required(VERSION 3.25)\nproject(v LANGUAGES CXX)\nfind_package(qtw 9.0 CONFIG REQUIRED)\n' >"$WORK/v/CMakeLists.txt"
if cmake -S "$WORK/v" -B "$WORK/v/b" -DCMAKE_PREFIX_PATH="$PREFIX" >"$WORK/v.log" 2>&1; then
  bad "find_package(qtw 9.0) accepted version $(grep -o 'PACKAGE_VERSION "[^"]*"' "$LIBDIR/cmake/qtw/qtwConfigVersion.cmake")"
else
  grep -q "considered but not accepted" "$WORK/v.log" && ok || bad "version refusal: $(tail -5 "$WORK/v.log")"
fi

# pkg-config: the relocatable .pc names the prefix and, in Requires, every
# library libqtw.a needs (no --static: those are shared libraries).
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
check "pkg-config modversion" "$(pkg-config --modversion qtw)" "$(sed -n 's/^project(qtrade_wallets VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")"
case "$(pkg-config --cflags qtw)" in *"$PREFIX/include"*) ok ;; *"prefix/lib/pkgconfig/../../include"*) ok ;;
  *) bad "pkg-config cflags: $(pkg-config --cflags qtw)" ;; esac
# shellcheck disable=SC2046
if c++ -std=c++20 -O1 "$SRC/examples/embed/embed.cpp" -o "$WORK/qtw-embed-pc" \
     $(pkg-config --cflags --libs qtw) >"$WORK/pc.log" 2>&1; then
  ok
else
  bad "examples/embed via pkg-config: $(tail -20 "$WORK/pc.log")"
fi

# Both binaries: --help, bad usage, then a real lease + sign + return.
node "$SRC/tools/localnet/server.js" --port 0 >"$WORK/node.out" 2>"$WORK/node.log" &
NODE_PID=$!
for _ in $(seq 1 100); do grep -q '^READY ' "$WORK/node.out" && break; sleep 0.1; done
URL=$(sed -n 's/^READY //p' "$WORK/node.out")
[ -n "$URL" ] || { echo "local node did not start"; cat "$WORK/node.log"; exit 1; }
export QTW_PASSPHRASE="embed test passphrase"
HODL=$("$QTW" keygen -o "$WORK/hodl.json")
"$QTW" --rpc-url "$URL" airdrop "$HODL" 5000000000 >/dev/null || bad airdrop
"$QTW" --store "$WORK/w.db" --rpc-url "$URL" init --banks 1 --hodl-keypair "$WORK/hodl.json" \
  --kdf-opslimit 1 --kdf-memlimit-kib 8 >/dev/null || bad init
for bin in "$WORK/embed-cmake/qtw-embed" "$WORK/qtw-embed-pc"; do
  [ -x "$bin" ] || { bad "$bin not built"; continue; }
  "$bin" --help | grep -q "usage: QTW_PASSPHRASE" && ok || bad "$bin --help"
  "$bin" --bogus >/dev/null 2>&1; check "$bin bad usage exit" $? 2
  "$bin" --store "$WORK/w.db" --rpc-url "$URL" >"$WORK/out" 2>"$WORK/err"
  check "$bin exit ($(cat "$WORK/err"))" $? 0
  explorer=$(sed -n 's/^explorer //p' "$WORK/out")
  sig=$(sed -n 's/^signature //p' "$WORK/out")
  [ ${#sig} -ge 86 ] && ok || bad "$bin signature '$sig'"
  # Retired in the store: it signed, so it is never handed out again.
  state=$("$QTW" --store "$WORK/w.db" --json keys list --tier explorer |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const k=JSON.parse(s).find(k=>k.pubkey===process.argv[1]);console.log(k?k.state:"missing")})' "$explorer")
  check "$bin explorer $explorer state" "$state" used
done
echo "install_embed: $pass passed, $fail failed"
[ "$fail" = 0 ]
