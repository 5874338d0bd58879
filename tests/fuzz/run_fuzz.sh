#!/usr/bin/env bash
# Builds one libFuzzer target with clang (ASan + UBSan) straight from the
# library sources, then fuzzes it for a bounded time on its seed corpus.
# Usage: run_fuzz.sh <target> <out-dir> [seconds=15]
#   <target>: base58_decode | short_vec_decode | transaction_deserialize | keypair_json
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
mkdir -p "$work/corpus" "$work/artifacts"
bin="$work/fuzz_$target"
srcs=("$here/fuzz_$target.cpp" "$root"/src/solana/*.cpp "$root"/src/common/*.cpp)
# Rebuild only when a source or header is newer than the binary.
needs_build=1
if [ -x "$bin" ]; then
  needs_build=0
  for f in "${srcs[@]}" "$root"/include/qtw/*.h "$root"/include/qtw/solana/*.h; do
    if [ "$f" -nt "$bin" ]; then needs_build=1; break; fi
  done
fi
if [ "$needs_build" = 1 ]; then
  echo "run_fuzz.sh: building $bin"
  "$CXX" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer -I"$root/include" -I"$root/src" "${srcs[@]}" -lsodium -o "$bin.tmp"
  mv "$bin.tmp" "$bin"
fi
# Fuzz into a scratch corpus seeded from the committed one, so the repo's
# seeds stay small and reviewed.
seeds="$here/corpus/$target"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=2048 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"
