#!/usr/bin/env bash
# Builds one libFuzzer target with clang (ASan + UBSan) straight from the
# library sources, then fuzzes it for a bounded time on its seed corpus.
# Usage: run_fuzz.sh <target> <out-dir> [seconds=15]
#   <target>: base58_decode | short_vec_decode | transaction_deserialize | keypair_json |
#             versioned_message
# Exit status: 0 when no crash/leak/timeout was found, non-zero otherwise
# (libFuzzer writes the reproducer into <out-dir>/<target>/artifacts/).
# The main build uses g++, so this compiles on its own: clang++ is required.
set -euo pipefail
target=${1:?target}
out=${2:?out dir}
seconds=${3:-${QTW_FUZZ_SECONDS:-15}}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
CXX=${QTW_FUZZ_CXX:-clang++}
command -v "$CXX" >/dev/null || { echo "run_fuzz.sh: $CXX not found (install clang)" >&2; exit 2; }

work="$out/$target"
mkdir -p "$work/corpus" "$work/artifacts" "$out/obj"
bin="$work/fuzz_$target"
flags=(-std=c++20 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined
       -fno-omit-frame-pointer -I"$root/include" -I"$root/src")
headers=("$root"/include/qtw/*.h "$root"/include/qtw/solana/*.h)

# The library objects are shared by all targets: build them once, under a
# lock (ctest -j may run several fuzz tests at once), rebuilding any object
# older than its source or a public header.
(
  flock 9
  for src in "$root"/src/solana/*.cpp "$root"/src/common/*.cpp; do
    obj="$out/obj/$(basename "$(dirname "$src")")_$(basename "$src" .cpp).o"
    stale=0
    [ -f "$obj" ] || stale=1
    for f in "$src" "${headers[@]}"; do [ "$f" -nt "$obj" ] && stale=1; done
    if [ "$stale" = 1 ]; then
      echo "run_fuzz.sh: compiling $(basename "$src")"
      "$CXX" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj.tmp"
      mv "$obj.tmp" "$obj"
    fi
  done
) 9>"$out/obj/.lock"

needs_build=1
if [ -x "$bin" ]; then
  needs_build=0
  for f in "$here/fuzz_$target.cpp" "$out"/obj/*.o "${headers[@]}"; do
    if [ "$f" -nt "$bin" ]; then needs_build=1; break; fi
  done
fi
if [ "$needs_build" = 1 ]; then
  echo "run_fuzz.sh: building $bin"
  "$CXX" "${flags[@]}" -fsanitize=fuzzer "$here/fuzz_$target.cpp" "$out"/obj/*.o -lsodium -o "$bin.tmp"
  mv "$bin.tmp" "$bin"
fi
# Fuzz into a scratch corpus seeded from the committed one, so the repo's
# seeds stay small and reviewed.
seeds="$here/corpus/$target"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=2048 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"
