#include "qtw/vault/core_dumps.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace qtw::vault {

Status disable_core_dumps() {
  const rlimit none{0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    const int e = errno;
    return make_error(ErrorCode::kInternal,
                      std::string("setrlimit(RLIMIT_CORE, 0): ") + std::strerror(e), e);
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    const int e = errno;
    return make_error(ErrorCode::kInternal,
                      std::string("prctl(PR_SET_DUMPABLE, 0): ") + std::strerror(e), e);
  }
  return {};
}

bool core_dumps_disabled() {
  rlimit lim{};
  if (getrlimit(RLIMIT_CORE, &lim) != 0) return false;
  return lim.rlim_cur == 0 && lim.rlim_max == 0 && prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0;
}

}  // namespace qtw::vault
