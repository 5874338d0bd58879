#pragma once
// Keeps secrets out of core dumps and away from same-user debuggers.
//
//   if (auto s = qtw::vault::disable_core_dumps(); !s) warn(s.error().message);
//
// Sets RLIMIT_CORE to 0 (soft and hard: a later setrlimit cannot raise it)
// and PR_SET_DUMPABLE to 0: no core file, no /proc/<pid>/mem or ptrace
// attach by other processes of the same user, /proc/<pid>/ owned by root.
// Call it at process start, before any secret is read; qtw does for every
// command. A library user (an embedding Lander) decides for its own process.
// Errors: kInternal naming the call that failed (errno in native).
#include "qtw/result.h"

namespace qtw::vault {

[[nodiscard]] Status disable_core_dumps();

// True when this process can no longer dump core: RLIMIT_CORE is 0 and it is
// not dumpable.
[[nodiscard]] bool core_dumps_disabled();

}  // namespace qtw::vault
