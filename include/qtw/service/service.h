#pragma once
// The daemon's HTTP API (docs/DAEMON.md): out-of-process Landers lease an
// Explorer, have the daemon sign exactly one message with it, and return it.
//
//   POST /v1/explorers/lease              -> 200 {"pubkey","lease_id","deadline_ms"}
//                                            503 + Retry-After when none is available
//   POST /v1/explorers/{pubkey}/sign      body {"message": base64 legacy or v0 message}
//                                         -> 200 {"signature": base58}
//                                            403 {"error","rule","instruction_index"}
//                                            when the signing policy refuses it
//                                            409 if this Explorer already signed
//   POST /v1/explorers/{pubkey}/return    body {"retire": true|false}
//                                         -> 200 {"pubkey","state"}
//                                            409 retire=false after a signature,
//                                            or the lease already ended
//   GET  /v1/status                       -> counts by tier/state, balancer totals
//   GET  /healthz                         -> 200 "ok" (no token)
//   GET  /metrics                         -> Prometheus text 0.0.4 (no token)
//
// /v1/* needs "Authorization: Bearer <token>": 401 without one, 403 for a
// wrong one (constant-time compare). Malformed bodies are 400 with a reason;
// a key that is not an Explorer leased by this daemon is 404.
//
// Lease, sign and return are KeyManager's (get_explorer_keypair, sign,
// return_explorer_keypair): this class only adapts HTTP to them. The
// KeyManager of a daemon runs with a stable owner: a restart ends the
// leases its predecessor held as used (409 for their Landers, who lease
// again). An Explorer signs once (I2: its durable claim is the commitment;
// the sign record follows within a flush). The secret never leaves the process.
// A lease not returned by its deadline counts as used and is recovered by
// the balancer.
//
// Listeners: loopback TCP, a Unix socket, or both (the same API on each).
//
// Thread safety: handlers run on the HTTP server's threads (several at once); all shared state
// is in the store (transactional) and KeyManager (thread safe).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "qtw/result.h"
#include "qtw/secure_bytes.h"
#include "qtw/store/key_store.h"

namespace qtw::wallet {
class KeyManager;
}
namespace qtw::metrics {
class WalletMetrics;
}

namespace qtw::service {

struct ServiceOptions {
  // TCP bind address (loopback by default); "" = no TCP listener.
  std::string host = "127.0.0.1";
  int port = 8686;  // 0 = an ephemeral port (see bound_port)
  // Unix socket path; "" = none. Created mode 0600 (only the daemon's user
  // can connect; the bearer token is still required). A stale socket file
  // is replaced, any other file at the path is refused. Removed on stop.
  std::string unix_socket;
  SecureBytes token;               // bearer token; required, non-empty
  std::chrono::seconds retry_after{1};              // 503 Retry-After
  metrics::WalletMetrics* metrics = nullptr;        // not owned; /metrics
  // Connections (per listener). The server is event driven: an idle or
  // slow connection holds a descriptor, never a thread.
  // Threads serving requests. A request holds its thread for its whole
  // handling (a lease that claims on the request path waits for the store);
  // 16 keeps one slow request from stalling the connections behind it
  // (with 4, 8 clients ran at ~60 % of the rate, bench/RESULTS.md).
  unsigned http_threads = 16;
  unsigned max_connections = 8192;            // beyond: queued until one closes
  std::chrono::seconds idle_timeout{30};      // silent connections are closed
};

// Reads a bearer token file: must exist, be mode 0600 or stricter (kPermission
// otherwise, with the chmod to run), hold 16..4096 bytes; one trailing newline
// is dropped.
[[nodiscard]] Result<SecureBytes> read_token_file(const std::string& path);

class Service {
 public:
  // `km` must outlive the service. kInvalidArgument without a token, or with
  // neither a TCP host nor a Unix socket.
  [[nodiscard]] static Result<std::unique_ptr<Service>> create(wallet::KeyManager& km,
                                                                ServiceOptions options);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Binds the listening sockets. kUnavailable if an address is taken (or a
  // live daemon answers on the Unix socket), kAlreadyExists if the socket
  // path is a file that is not a socket, kInvalidArgument if it is too long.
  [[nodiscard]] Status bind();
  // The bound TCP port; -1 when there is no TCP listener.
  [[nodiscard]] int bound_port() const noexcept;
  // Serves on every bound listener until stop(). Requests in progress
  // finish before it returns; the Unix socket file is removed.
  void run();
  // Makes run() return. Safe from any thread, before or during run().
  void stop();

 private:
  class Impl;
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qtw::service
