#pragma once
// Time as the RPC layer sees it: injectable so backoff and confirmation loops
// can be driven by tests without real sleeping.
#include <cstdint>

namespace qtw::rpc {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds since an arbitrary origin.
  [[nodiscard]] virtual std::int64_t now_ms() = 0;
  // Blocks for about `ms` milliseconds (<= 0 returns at once).
  virtual void sleep_ms(std::int64_t ms) = 0;
};

// std::chrono::steady_clock and std::this_thread::sleep_for. Thread-safe;
// the returned object lives for the whole program.
[[nodiscard]] Clock& system_clock() noexcept;

}  // namespace qtw::rpc
