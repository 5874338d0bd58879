#include "qtw/phase_marker.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

namespace qtw {
namespace {

// -1 unknown, 0 off, 1 on. Read once: the environment does not change.
std::atomic<int> g_enabled{-1};

}  // namespace

void mark_phase(const char* phase) noexcept {
  int on = g_enabled.load(std::memory_order_relaxed);
  if (on < 0) {
    const char* env = std::getenv("QTW_PHASE_MARKERS");
    on = env != nullptr && std::strcmp(env, "1") == 0 ? 1 : 0;
    g_enabled.store(on, std::memory_order_relaxed);
  }
  if (on == 0 || phase == nullptr) return;
  char line[96] = "QTW_PHASE ";
  std::size_t n = std::strlen(line);
  const std::size_t len = std::min(std::strlen(phase), sizeof(line) - n - 2);
  std::memcpy(line + n, phase, len);
  n += len;
  line[n++] = '\n';
  // One write: atomic for a pipe below PIPE_BUF, so lines never mix.
  (void)!::write(2, line, n);
}

}  // namespace qtw
