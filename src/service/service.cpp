#include "qtw/service/service.h"

#include <sodium.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "qtw/metrics/prometheus_text.h"
#include "qtw/metrics/wallet_metrics.h"
#include "qtw/solana/encoding.h"
#include "qtw/solana/message.h"
#include "qtw/vault/vault.h"
#include "qtw/wallet/key_manager.h"
#include "http_server.h"

namespace qtw::service {
namespace {

using nlohmann::json;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void reply(HttpResponse& res, int status, const json& body) {
  res.status = status;
  res.content_type = "application/json";
  res.body = body.dump();
}

void fail(HttpResponse& res, int status, const std::string& why) {
  reply(res, status, json{{"error", why}});
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
      return 400;
    case ErrorCode::kPoolEmpty:
    case ErrorCode::kUnavailable:  // store reconnecting, pool shutting down
      return 503;
    default:
      return 500;
  }
}

// An Explorer route's pubkey segment: base58, 32..44 characters.
bool base58_pubkey_text(std::string_view text) {
  static constexpr std::string_view kAlphabet =
      "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  if (text.size() < 32 || text.size() > 44) return false;
  for (const char c : text) {
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

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

  // Binds the listeners; they serve from here on (the wallet is open).
  Status bind() {
    auto handler = [this](const HttpRequest& req) { return handle(req); };
    HttpServerOptions http;
    http.threads = o_.http_threads;
    http.max_connections = o_.max_connections;
    http.idle_timeout = o_.idle_timeout;
    if (!o_.host.empty()) {
      QTW_ASSIGN_OR_RETURN(tcp_, HttpServer::listen_tcp(o_.host, o_.port, handler, http));
      port_ = tcp_->port();
    }
    if (!o_.unix_socket.empty()) {
      QTW_ASSIGN_OR_RETURN(unix_, HttpServer::listen_unix(o_.unix_socket, handler, http));
    }
    return {};
  }

  // Waits for stop(), then closes the listeners: the handlers in progress
  // finish, and the Unix socket file is removed.
  void run() {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_; });
    }
    tcp_.reset();
    unix_.reset();
  }

  void stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }

  // The routes; the same on TCP and the Unix socket.
  HttpResponse handle(const HttpRequest& req) {
    HttpResponse res;
    const std::string_view path = req.path;
    const bool get = req.method == "GET" || req.method == "HEAD";
    const bool post = req.method == "POST";
    if (get && path == "/healthz") {
      res.content_type = "text/plain";
      res.body = "ok\n";
    } else if (get && path == "/metrics") {
      if (o_.metrics == nullptr) {
        fail(res, 404, "metrics are not enabled");
      } else {
        res.content_type = std::string(metrics::kPrometheusContentType);
        res.body = metrics::write_prometheus_text(o_.metrics->registry());
      }
    } else if (get && path == "/v1/status") {
      if (authorized(req, res)) status(res);
    } else if (post && path == "/v1/explorers/lease") {
      if (authorized(req, res)) lease(res);
    } else if (auto route = explorer_route(path); post && route) {
      const auto& [pubkey, action] = *route;
      if (!authorized(req, res)) return res;
      if (action == "sign") {
        sign(pubkey, req, res);
      } else {
        give_back(pubkey, req.body, res);
      }
    } else {
      fail(res, 404, "no such endpoint (see docs/DAEMON.md)");
    }
    return res;
  }

  // /v1/explorers/{pubkey}/sign|return -> {pubkey, action}.
  static std::optional<std::pair<std::string, std::string_view>> explorer_route(
      std::string_view path) {
    static constexpr std::string_view kPrefix = "/v1/explorers/";
    if (path.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
    path.remove_prefix(kPrefix.size());
    const auto slash = path.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    const std::string_view pubkey = path.substr(0, slash);
    const std::string_view action = path.substr(slash + 1);
    if (!base58_pubkey_text(pubkey) || (action != "sign" && action != "return")) {
      return std::nullopt;
    }
    return std::pair{std::string(pubkey), action};
  }

  bool authorized(const HttpRequest& req, HttpResponse& res) {
    const std::string_view header = req.header("Authorization");
    static constexpr std::string_view kBearer = "Bearer ";
    if (header.empty() || header.rfind(kBearer, 0) != 0) {
      res.headers.emplace_back("WWW-Authenticate", "Bearer");
      fail(res, 401, "missing bearer token (Authorization: Bearer <token>)");
      return false;
    }
    const std::string_view given = header.substr(kBearer.size());
    const bool ok = given.size() == o_.token.size() &&
                    sodium_memcmp(given.data(), o_.token.data(), o_.token.size()) == 0;
    if (!ok) {
      spdlog::warn("refused a request with a wrong bearer token from {}",
                   req.peer.empty() ? std::string("the unix socket") : req.peer);
      fail(res, 403, "wrong bearer token");
      return false;
    }
    return true;
  }

  void lease(HttpResponse& res) {
    const std::int64_t deadline = unix_ms() + o_.lease_timeout.count();
    auto claimed = km_.store().claim_explorers(o_.owner, 1, deadline);
    if (!claimed) return fail(res, status_for(claimed.error().code), claimed.error().message);
    if (claimed->empty()) {
      km_.wake_balancer();
      res.headers.emplace_back("Retry-After", std::to_string(o_.retry_after.count()));
      return fail(res, 503, "no Explorer available; the balancer is creating more");
    }
    const auto& k = claimed->front();
    if (o_.metrics != nullptr) o_.metrics->explorer_keys_acquired().inc();
    // Every few leases: below the minimum, balance now rather than at the
    // next interval (one count query per kWakeCheckEvery leases).
    if (leases_.fetch_add(1) % kWakeCheckEvery == 0) {
      if (auto counts = km_.store().count_keys(); counts) {
        std::uint64_t available = 0;
        for (const auto& c : *counts) {
          if (c.tier == store::KeyTier::Explorer && c.state == store::KeyState::kAvailable) {
            available += c.count;
          }
        }
        if (available < o_.min_available) km_.wake_balancer();
      }
    }
    spdlog::info("leased Explorer {} (lease {})", k.pubkey.to_base58(), k.lease->lease_id);
    reply(res, 200,
          json{{"pubkey", k.pubkey.to_base58()},
               {"lease_id", k.lease->lease_id},
               {"deadline_ms", k.lease->deadline_ms}});
  }

  // The Explorer `text` names, if it is one leased by this daemon.
  Result<store::KeyRecord> leased_here(const std::string& text) {
    QTW_ASSIGN_OR_RETURN(auto pk, solana::Pubkey::from_base58(text));
    auto key = km_.store().get_key(pk);
    if (!key) return tl::unexpected(key.error());
    if (key->tier != store::KeyTier::Explorer) {
      return make_error(ErrorCode::kNotFound, text + " is not an Explorer of this wallet");
    }
    if (key->state != store::KeyState::kLeased || !key->lease || key->lease->owner != o_.owner) {
      const bool ours_before = key->state == store::KeyState::kUsed ||
                               key->state == store::KeyState::kDraining ||
                               key->state == store::KeyState::kRetired;
      if (ours_before) {
        return make_error(ErrorCode::kConflict,
                          "Explorer " + text + " is " +
                              std::string(store::key_state_name(key->state)) +
                              ": its lease has ended (returned or expired)");
      }
      return make_error(ErrorCode::kNotFound, "Explorer " + text + " is not leased by this daemon");
    }
    return key;
  }

  // The message bytes of a sign request: the raw body for
  // application/octet-stream, else JSON {"message": "<base64>"}.
  static Result<std::vector<std::uint8_t>> message_bytes(const HttpRequest& req) {
    const std::string_view type = req.header("Content-Type");
    if (type.rfind("application/octet-stream", 0) == 0) {
      return std::vector<std::uint8_t>(req.body.begin(), req.body.end());
    }
    json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("message") || !body["message"].is_string()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "body must be {\"message\": \"<base64 legacy message>\"} (or the raw "
                        "bytes with Content-Type: application/octet-stream)");
    }
    auto bytes = solana::base64_decode(body["message"].get<std::string>());
    if (!bytes) {
      return make_error(ErrorCode::kInvalidArgument,
                        "message is not base64: " + bytes.error().message);
    }
    return std::move(*bytes);
  }

  void sign(const std::string& pubkey_text, const HttpRequest& req, HttpResponse& res) {
    auto bytes = message_bytes(req);
    if (!bytes) return fail(res, 400, bytes.error().message);
    auto message = solana::Message::deserialize(*bytes);
    if (!message) {
      return fail(res, 400, "message is not a legacy Solana message: " + message.error().message);
    }
    auto key = leased_here(pubkey_text);
    if (!key) return fail(res, status_for(key.error().code), key.error().message);
    // Only a message this Explorer must sign: never arbitrary bytes.
    bool signer = false;
    for (std::size_t i = 0; i < message->header.num_required_signatures &&
                            i < message->account_keys.size();
         ++i) {
      signer = signer || message->account_keys[i] == key->pubkey;
    }
    if (!signer) {
      return fail(res, 400, "Explorer " + pubkey_text + " is not a signer of this message");
    }
    // Past its deadline a lease counts as used (I2) even before the
    // balancer's next expiry pass writes that down: no signature then.
    if (key->lease->deadline_ms < unix_ms()) {
      return fail(res, 409, "the lease of Explorer " + pubkey_text + " expired; it counts as used");
    }
    // I2: the guard is durable before any signature exists.
    if (auto guard = km_.store().mark_signed(key->pubkey, key->lease->lease_id); !guard) {
      return fail(res, status_for(guard.error().code),
                  guard.error().code == ErrorCode::kConflict
                      ? "Explorer " + pubkey_text + " already signed its one message"
                      : guard.error().message);
    }
    auto kp = km_.explorer_keypair(*key);
    if (!kp) return fail(res, 500, kp.error().message);
    const auto signature = kp->sign(*bytes);
    spdlog::info("signed one message with Explorer {}", pubkey_text);
    reply(res, 200, json{{"signature", signature.to_base58()}});
  }

  void give_back(const std::string& pubkey_text, const std::string& body,
                 HttpResponse& res) {
    json req = json::parse(body.empty() ? std::string("{}") : body, nullptr, false);
    if (!req.is_object() || (req.contains("retire") && !req["retire"].is_boolean())) {
      return fail(res, 400, "body must be {\"retire\": true|false}");
    }
    const bool retire = req.value("retire", true);
    auto key = leased_here(pubkey_text);
    if (!key) return fail(res, status_for(key.error().code), key.error().message);
    if (!retire && key->lease->deadline_ms < unix_ms()) {
      // A late return counts as used even if the Lander says keep (I2), as
      // ExplorerPool::release does: it may have signed elsewhere meanwhile.
      auto late = km_.store().release_explorer(key->pubkey, key->lease->lease_id, true);
      if (!late && late.error().code != ErrorCode::kConflict) {
        return fail(res, status_for(late.error().code), late.error().message);
      }
      return fail(
          res, 409,
          "the lease of Explorer " + pubkey_text + " expired; it counts as used and was retired");
    }
    auto st = km_.store().release_explorer(key->pubkey, key->lease->lease_id, retire);
    if (!st) {
      return fail(res, status_for(st.error().code),
                  st.error().code == ErrorCode::kConflict && !retire
                      ? "Explorer " + pubkey_text + " signed: it can only be retired (I2)"
                      : st.error().message);
    }
    if (retire && o_.metrics != nullptr) o_.metrics->explorer_keys_retired().inc();
    spdlog::info("Explorer {} returned ({})", pubkey_text, retire ? "retired" : "kept");
    reply(res, 200, json{{"pubkey", pubkey_text}, {"state", retire ? "used" : "available"}});
  }

  void status(HttpResponse& res) {
    auto counts = km_.store().count_keys();
    if (!counts) return fail(res, 500, counts.error().message);
    json keys = json::object();
    for (const auto& c : *counts) {
      keys[std::string(store::key_tier_name(c.tier))][std::string(store::key_state_name(c.state))] =
          c.count;
    }
    const auto t = km_.totals();
    reply(res, 200,
          json{{"store", km_.store().describe()},
               {"instance", o_.owner.instance},
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
                 {"last_error", t.last_error}}}});
  }

  static constexpr std::uint64_t kWakeCheckEvery = 8;
  wallet::KeyManager& km_;
  ServiceOptions o_;
  std::atomic<std::uint64_t> leases_{0};
  std::unique_ptr<HttpServer> tcp_;
  std::unique_ptr<HttpServer> unix_;
  int port_ = -1;  // bound TCP port, -1 = no TCP listener

  std::mutex mu_;  // guards stopping_
  std::condition_variable cv_;
  bool stopping_ = false;
};

Result<std::unique_ptr<Service>> Service::create(wallet::KeyManager& km, ServiceOptions options) {
  if (options.token.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "the API needs a bearer token");
  }
  if (options.owner.host.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    options.owner = store::LeaseOwner{host, 0, "qtw-serve"};
  }
  if (options.host.empty() && options.unix_socket.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "nothing to listen on: give a loopback host:port, a unix socket, or both");
  }
  auto impl = std::make_unique<Impl>(km, std::move(options));
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
