#pragma once
// Test fixtures that run the project's Node.js tools as child processes:
//   LocalNode   tools/localnet/server.js  (LiteSVM-backed Solana JSON-RPC)
//   FaultProxy  tools/faultproxy/proxy.js (drops, delays, 429/5xx, ...)
// Each spawns `node` (or $QTW_NODE) with --port 0 / --listen-port 0, waits
// for the single stdout line "READY http://127.0.0.1:<port>", and on
// destruction sends SIGTERM, waits, then SIGKILL. The child also gets
// PR_SET_PDEATHSIG so a crashed test does not leave nodes behind.
// Thread safety: construct and destroy on one thread; url() is immutable.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "qtw/result.h"

namespace qtw::test {

// A child process that announced "READY <url>" on stdout.
class ReadyProcess {
 public:
  // argv[0] is looked up in PATH. Errors: kIo (fork/exec/pipe), kTimeout (no
  // READY line within ready_timeout_ms), kUnavailable (exited early).
  [[nodiscard]] static Result<std::unique_ptr<ReadyProcess>> spawn(std::vector<std::string> argv,
                                                                   std::int64_t ready_timeout_ms);
  ~ReadyProcess();
  ReadyProcess(const ReadyProcess&) = delete;
  ReadyProcess& operator=(const ReadyProcess&) = delete;

  [[nodiscard]] const std::string& url() const { return url_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  // SIGTERM, wait up to 5 s, then SIGKILL; idempotent.
  void stop();

 private:
  ReadyProcess() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string url_;
  std::thread drain_;  // keeps reading stdout so the child never blocks on a full pipe
};

struct LocalNodeOptions {
  // Slot period; unset = the node's default (400 ms).
  std::optional<int> slot_ms;
  std::int64_t ready_timeout_ms = 20'000;
  std::vector<std::string> extra_args;
};

class LocalNode {
 public:
  [[nodiscard]] static Result<std::unique_ptr<LocalNode>> start(LocalNodeOptions options = {});
  [[nodiscard]] const std::string& url() const { return process_->url(); }
  [[nodiscard]] pid_t pid() const { return process_->pid(); }

 private:
  std::unique_ptr<ReadyProcess> process_;
};

class FaultProxy {
 public:
  [[nodiscard]] static Result<std::unique_ptr<FaultProxy>> start(
      const std::string& target_url, std::int64_t ready_timeout_ms = 20'000);
  [[nodiscard]] const std::string& url() const { return process_->url(); }
  // POST /__proxy/mode {"mode": mode[, "count": count]}; count 0 = omit
  // (the mode stays until changed). Modes: pass, delay:<ms>, drop,
  // http:429:<retry-after-s>, http:502, http:503, truncate, lose-response, garbage.
  [[nodiscard]] Status set_mode(std::string_view mode, int count = 0);
  // GET /__proxy/stats, raw JSON text.
  [[nodiscard]] Result<std::string> stats();

 private:
  std::unique_ptr<ReadyProcess> process_;
};

// Absolute path of a file under the source tree (QTW_SOURCE_DIR).
[[nodiscard]] std::string source_path(std::string_view relative);

}  // namespace qtw::test
