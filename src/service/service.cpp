#include "qtw/service/service.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "qtw/metrics/prometheus_text.h"
#include "qtw/metrics/wallet_metrics.h"
#include "qtw/solana/encoding.h"
#include "qtw/solana/message.h"
#include "qtw/vault/vault.h"
#include "qtw/wallet/key_manager.h"

namespace qtw::service {
namespace {

using nlohmann::json;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void fail(httplib::Response& res, int status, const std::string& why) {
  reply(res, status, json{{"error", why}});
}

// One API answer, independent of the transport.
struct Reply {
  int status = 200;
  json body;
  std::int64_t retry_after_s = -1;  // >= 0: send Retry-After
};

Reply error_reply(int status, const std::string& why) { return Reply{status, json{{"error", why}}}; }

void send(httplib::Response& res, const Reply& r) {
  if (r.retry_after_s >= 0) res.set_header("Retry-After", std::to_string(r.retry_after_s));
  reply(res, r.status, r.body);
}

// The HTTP status an error of the store or wallet maps to.
int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
    case ErrorCode::kIllegalTransition:
      return 409;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParse:
      return 400;
    case ErrorCode::kPolicyRefused:
      return 403;
    case ErrorCode::kPoolEmpty:
    case ErrorCode::kUnavailable:  // store reconnecting, pool shutting down
      return 503;
    default:
      return 500;
  }
}

// cpp-httplib 0.11.4 (Debian 12) cannot bind a Unix socket itself, but its
// accept loop (listen_after_bind) only needs a listening descriptor in the
// protected svr_sock_: we bind the AF_UNIX socket and hand it over. Accepted
// connections then go through the same request parser and handlers as TCP;
// the peer address is simply empty.
class UnixServer final : public httplib::Server {
 public:
  // Creates `path` (mode 0600 through the umask: only the daemon's user may
  // connect) and listens on it. A stale socket file left by a crash is
  // replaced; a live one (another daemon answers) is kUnavailable, and a path
  // that is not a socket is never removed.
  Status bind_unix(const std::string& path) {
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
      return make_error(ErrorCode::kInvalidArgument, "unix_socket path must be 1.." +
                                                         std::to_string(sizeof(addr.sun_path) - 1) +
                                                         " bytes: " + path);
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        return make_error(ErrorCode::kAlreadyExists,
                          path + " exists and is not a socket; refusing to replace it");
      }
      const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const bool live = probe >= 0 && ::connect(probe, reinterpret_cast<const sockaddr*>(&addr),
                                                sizeof(addr)) == 0;
      if (probe >= 0) ::close(probe);
      if (live) {
        return make_error(ErrorCode::kUnavailable,
                          "another process is serving on " + path + " (is a daemon running?)");
      }
      ::unlink(path.c_str());
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return make_error(ErrorCode::kIo, "socket(AF_UNIX): " + std::string(std::strerror(errno)));
    // umask is process wide, but nothing else creates files at start-up.
    const mode_t old_mask = ::umask(0177);
    const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    const int bind_errno = errno;
    ::umask(old_mask);
    if (bound != 0 || ::listen(fd, 64) != 0) {
      const int err = bound != 0 ? bind_errno : errno;
      ::close(fd);
      return make_error(ErrorCode::kUnavailable,
                        "cannot listen on " + path + ": " + std::string(std::strerror(err)));
    }
    svr_sock_ = fd;
    path_ = path;
    return {};
  }
  // Removes the socket file (after stop()).
  void unlink_path() {
    if (!path_.empty()) ::unlink(path_.c_str());
    path_.clear();
  }
  [[nodiscard]] bool bound() const { return !path_.empty(); }

 private:
  std::string path_;
};

}  // namespace

Result<SecureBytes> read_token_file(const std::string& path) {
  // Mode, file type and the read into secure memory: vault::read_secret_file.
  auto raw = vault::read_secret_file(path, 4098);
  if (!raw) return tl::unexpected(with_context(raw.error(), "token file"));
  std::size_t len = raw->size();
  if (len > 0 && raw->data()[len - 1] == '\n') --len;
  if (len > 0 && raw->data()[len - 1] == '\r') --len;
  if (len < 16 || len > 4096) {
    return make_error(ErrorCode::kInvalidArgument,
                      "token file " + path + " must hold 16 to 4096 bytes (e.g. `openssl rand "
                      "-hex 32`)");
  }
  return SecureBytes::copy_of(raw->span().first(len));
}

class Service::Impl {
 public:
  Impl(wallet::KeyManager& km, ServiceOptions options) : km_(km), o_(std::move(options)) {}

  Status bind() {
    if (!o_.host.empty()) {
      port_ = o_.port == 0 ? tcp_.bind_to_any_port(o_.host) : o_.port;
      if (o_.port != 0 && !tcp_.bind_to_port(o_.host, o_.port)) port_ = -1;
      if (port_ < 0) {
        return make_error(ErrorCode::kUnavailable, "cannot listen on " + o_.host + ":" +
                                                       std::to_string(o_.port) +
                                                       " (in use, or not a local address)");
      }
    }
    if (!o_.unix_socket.empty()) QTW_TRY(unix_.bind_unix(o_.unix_socket));
    return {};
  }

  // Serves on every bound listener until stop(). The listeners run on their
  // own threads; this thread owns their lifecycle, so a stop() that comes
  // before httplib marks a server running (its stop() is then a no-op) is
  // retried instead of lost.
  void run() {
    std::vector<std::pair<httplib::Server*, std::atomic<bool>*>> servers;
    if (port_ >= 0) servers.emplace_back(&tcp_, &tcp_done_);
    if (unix_.bound()) servers.emplace_back(&unix_, &unix_done_);
    std::vector<std::thread> threads;
    for (auto& [server, done] : servers) {
      done->store(false);
      threads.emplace_back([this, server = server, done = done] {
        if (!server->listen_after_bind()) spdlog::error("an API listener failed; stopping");
        std::lock_guard lock(mu_);
        done->store(true);
        cv_.notify_all();
      });
    }
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] {
        if (stopping_) return true;
        for (auto& [server, done] : servers) {
          if (done->load()) return true;
        }
        return false;
      });
    }
    for (auto& [server, done] : servers) {
      while (!done->load()) {
        server->stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    for (auto& t : threads) t.join();
    unix_.unlink_path();
  }

  void stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }

  void install(httplib::Server& server) {
    server.set_payload_max_length(64 * 1024);
    // Nagle + the client's delayed ACK would add ~40 ms to every answer
    // written in more than one segment (headers, then body). (A no-op on
    // the Unix socket.)
    server.set_tcp_nodelay(true);
    server.set_read_timeout(10, 0);
    server.set_write_timeout(10, 0);
    server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      if (o_.metrics == nullptr) return fail(res, 404, "metrics are not enabled");
      res.set_content(metrics::write_prometheus_text(o_.metrics->registry()),
                      std::string(metrics::kPrometheusContentType));
    });
    server.Get("/v1/status", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      send(res, status());
    });
    server.Post("/v1/explorers/lease", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      send(res, lease());
    });
    server.Post(R"(/v1/explorers/([1-9A-HJ-NP-Za-km-z]{32,44})/sign)",
                [this](const httplib::Request& req, httplib::Response& res) {
                  if (!authorized(req, res)) return;
                  send(res, sign(req.matches[1], req.get_header_value("Content-Type"), req.body));
                });
    server.Post(R"(/v1/explorers/([1-9A-HJ-NP-Za-km-z]{32,44})/return)",
                [this](const httplib::Request& req, httplib::Response& res) {
                  if (!authorized(req, res)) return;
                  send(res, give_back(req.matches[1], req.body));
                });
    server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      const char* why = res.status == 404 ? "no such endpoint (see docs/DAEMON.md)"
                        : res.status == 400
                            ? "bad request (a POST needs a Content-Length header, even 0)"
                            : "request refused";
      res.set_content(json{{"error", why}}.dump(), "application/json");
    });
    server.set_exception_handler(
        [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
          spdlog::error("{} {}: internal error", req.method, req.path);
          fail(res, 500, "internal error");
        });
    server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      spdlog::debug("{} {} -> {}", req.method, req.path, res.status);
    });
  }

  bool authorized(const httplib::Request& req, httplib::Response& res) {
    const std::string header = req.get_header_value("Authorization");
    static constexpr std::string_view kBearer = "Bearer ";
    if (header.empty() || header.rfind(kBearer, 0) != 0) {
      res.set_header("WWW-Authenticate", "Bearer");
      fail(res, 401, "missing bearer token (Authorization: Bearer <token>)");
      return false;
    }
    const std::string_view given = std::string_view(header).substr(kBearer.size());
    const bool ok = given.size() == o_.token.size() &&
                    sodium_memcmp(given.data(), o_.token.data(), o_.token.size()) == 0;
    if (!ok) {
      spdlog::warn("refused a request with a wrong bearer token from {}",
                   req.remote_addr.empty() ? std::string("the unix socket") : req.remote_addr);
      fail(res, 403, "wrong bearer token");
      return false;
    }
    return true;
  }

  // ---- the API, apart from the transport: (request) -> (status, JSON) ----

  Reply lease() {
    auto lease = km_.get_explorer_keypair();
    if (!lease) {
      if (lease.error().code == ErrorCode::kPoolEmpty) {
        Reply r = error_reply(503, "no Explorer available; the balancer is creating more");
        r.retry_after_s = o_.retry_after.count();
        return r;
      }
      return error_reply(status_for(lease.error().code), lease.error().message);
    }
    const std::string pk = lease->pubkey.to_base58();
    spdlog::info("leased Explorer {} (lease {})", pk, lease->lease_id);
    return Reply{200,
                 json{{"pubkey", pk},
                      {"lease_id", lease->lease_id},
                      {"deadline_ms", wallet::KeyManager::deadline_unix_ms(*lease)}}};
  }

  // `content_type` application/octet-stream: `body` is the message bytes;
  // otherwise JSON {"message": "<base64>"}.
  Reply sign(const std::string& pubkey_text, const std::string& content_type,
             const std::string& body) {
    auto pk = solana::Pubkey::from_base58(pubkey_text);
    if (!pk) return error_reply(404, pk.error().message);
    auto bytes = message_bytes(content_type, body);
    if (!bytes) return error_reply(400, bytes.error().message);
    wallet::PolicyRefusal refusal;
    auto signature = km_.sign(*pk, *bytes, &refusal);
    if (!signature) {
      if (signature.error().code == ErrorCode::kPolicyRefused) {
        json j{{"error", refusal.reason}, {"rule", std::string(refusal.rule)}};
        j["instruction_index"] =
            refusal.instruction_index ? json(*refusal.instruction_index) : json(nullptr);
        return Reply{403, std::move(j)};
      }
      return error_reply(status_for(signature.error().code), signature.error().message);
    }
    spdlog::info("signed one message with Explorer {}", pubkey_text);
    return Reply{200, json{{"signature", signature->to_base58()}}};
  }

  Reply give_back(const std::string& pubkey_text, const std::string& body) {
    json req = json::parse(body.empty() ? std::string("{}") : body, nullptr, false);
    if (!req.is_object() || (req.contains("retire") && !req["retire"].is_boolean())) {
      return error_reply(400, "body must be {\"retire\": true|false}");
    }
    const bool retire = req.value("retire", true);
    auto pk = solana::Pubkey::from_base58(pubkey_text);
    if (!pk) return error_reply(404, pk.error().message);
    if (auto st = km_.return_explorer_keypair(*pk, retire); !st) {
      return error_reply(status_for(st.error().code), st.error().message);
    }
    spdlog::info("Explorer {} returned ({})", pubkey_text, retire ? "retired" : "kept");
    return Reply{200, json{{"pubkey", pubkey_text}, {"state", retire ? "used" : "available"}}};
  }

  // The message bytes of a sign request: the raw body for
  // application/octet-stream, else JSON {"message": "<base64>"}.
  static Result<std::vector<std::uint8_t>> message_bytes(const std::string& type,
                                                         const std::string& body) {
    if (type.rfind("application/octet-stream", 0) == 0) {
      return std::vector<std::uint8_t>(body.begin(), body.end());
    }
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("message") || !j["message"].is_string()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "body must be {\"message\": \"<base64 message>\"} (or the raw "
                        "bytes with Content-Type: application/octet-stream)");
    }
    auto bytes = solana::base64_decode(j["message"].get<std::string>());
    if (!bytes) {
      return make_error(ErrorCode::kInvalidArgument,
                        "message is not base64: " + bytes.error().message);
    }
    return std::move(*bytes);
  }

  Reply status() {
    auto counts = km_.store().count_keys();
    if (!counts) return error_reply(500, counts.error().message);
    json keys = json::object();
    for (const auto& c : *counts) {
      keys[std::string(store::key_tier_name(c.tier))][std::string(store::key_state_name(c.state))] =
          c.count;
    }
    const auto t = km_.totals();
    return Reply{200,
                 json{{"store", km_.store().describe()},
                      {"instance", km_.owner().instance},
                      {"leader", km_.is_leader()},
                      {"keys", keys},
                      {"balancer",
                       {{"cycles", t.cycles},
                        {"cycle_errors", t.cycle_errors},
                        {"explorers_created", t.explorers_created},
                        {"explorers_recovered", t.explorers_recovered},
                        {"lamports_recovered", t.lamports_recovered},
                        {"banks_funded", t.banks_funded},
                        {"fees_lamports", t.fees_lamports},
                        {"last_error", t.last_error}}}}};
  }

  wallet::KeyManager& km_;
  ServiceOptions o_;
  httplib::Server tcp_;
  UnixServer unix_;
  int port_ = -1;  // bound TCP port, -1 = no TCP listener

  std::mutex mu_;  // guards stopping_; tcp_done_/unix_done_ change under it
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> tcp_done_{true};
  std::atomic<bool> unix_done_{true};
};

Result<std::unique_ptr<Service>> Service::create(wallet::KeyManager& km, ServiceOptions options) {
  if (options.token.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "the API needs a bearer token");
  }
  if (options.host.empty() && options.unix_socket.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "nothing to listen on: give a loopback host:port, a unix socket, or both");
  }
  auto impl = std::make_unique<Impl>(km, std::move(options));
  impl->install(impl->tcp_);
  impl->install(impl->unix_);
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Service::~Service() { stop(); }
Status Service::bind() { return impl_->bind(); }
int Service::bound_port() const noexcept { return impl_->port_; }
void Service::run() {
  impl_->run();
}
void Service::stop() {
  impl_->stop();
}

}  // namespace qtw::service
