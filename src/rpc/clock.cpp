#include "qtw/rpc/clock.h"

#include <chrono>
#include <thread>

namespace qtw::rpc {
namespace {
class SystemClock final : public Clock {
 public:
  std::int64_t now_ms() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void sleep_ms(std::int64_t ms) override {
    if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
};
}  // namespace

Clock& system_clock() noexcept {
  static SystemClock clock;
  return clock;
}

}  // namespace qtw::rpc
