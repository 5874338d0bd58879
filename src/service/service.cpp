#include "qtw/service/service.h"

#include <sodium.h>
#include <unistd.h>

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

void reply(HttpResponse& res, int status, const json& body) {
  res.status = status;
  res.content_type = "application/json";
  res.body = body.dump();
}

void fail(HttpResponse& res, int status, const std::string& why) {
  reply(res, status, json{{"error", why}});
}

// One API answer, independent of the transport.
struct Reply {
  int status = 200;
  json body;
  std::int64_t retry_after_s = -1;  // >= 0: send Retry-After
};

Reply error_reply(int status, const std::string& why) { return Reply{status, json{{"error", why}}}; }

void send(HttpResponse& res, const Reply& r) {
  if (r.retry_after_s >= 0) res.headers.emplace_back("Retry-After", std::to_string(r.retry_after_s));
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
      if (authorized(req, res)) send(res, status());
    } else if (post && path == "/v1/explorers/lease") {
      if (authorized(req, res)) send(res, lease());
    } else if (auto route = explorer_route(path); post && route) {
      const auto& [pubkey, action] = *route;
      if (!authorized(req, res)) return res;
      if (action == "sign") {
        send(res, sign(pubkey, std::string(req.header("Content-Type")), req.body));
      } else {
        send(res, give_back(pubkey, req.body));
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
