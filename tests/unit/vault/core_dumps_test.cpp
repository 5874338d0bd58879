#include "qtw/vault/core_dumps.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace qtw::vault {
namespace {

// In a child process, so the test binary keeps its own settings.
TEST(CoreDumps, DisableSetsRlimitCoreZeroAndNotDumpable) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 0;
    // A process that may dump core to begin with (else the test proves nothing).
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    rlimit some{4096, RLIM_INFINITY};
    getrlimit(RLIMIT_CORE, &some);
    some.rlim_cur = some.rlim_max;
    setrlimit(RLIMIT_CORE, &some);
    if (core_dumps_disabled()) code |= 1;
    if (!disable_core_dumps()) code |= 2;
    rlimit lim{};
    getrlimit(RLIMIT_CORE, &lim);
    if (lim.rlim_cur != 0 || lim.rlim_max != 0) code |= 4;
    if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) code |= 8;
    if (!core_dumps_disabled()) code |= 16;
    // The hard limit is 0: an unprivileged process cannot raise it again.
    if (geteuid() != 0) {
      const rlimit raise{4096, 4096};
      if (setrlimit(RLIMIT_CORE, &raise) == 0) code |= 32;
    }
    // Idempotent.
    if (!disable_core_dumps()) code |= 64;
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "failed checks bitmask";
}

}  // namespace
}  // namespace qtw::vault
