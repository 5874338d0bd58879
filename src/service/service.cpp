#include "qtw/service/service.h"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "qtw/metrics/prometheus_text.h"
#include "qtw/metrics/wallet_metrics.h"
#include "qtw/solana/encoding.h"
#include "qtw/solana/message.h"
#include "qtw/wallet/key_manager.h"

namespace qtw::service {
namespace {

using nlohmann::json;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void fail(httplib::Response& res, int status, const std::string& why) {
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

}  // namespace

Result<SecureBytes> read_token_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(ErrorCode::kNotFound, "cannot open token file " + path);
  }
  if ((st.st_mode & 077) != 0) {
    return make_error(ErrorCode::kPermission, "token file " + path +
                                                  " is readable by others; chmod 600 " + path);
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return make_error(ErrorCode::kIo, "cannot read token file " + path);
  SecureBytes buf(4098);
  const std::size_t n = std::fread(buf.data(), 1, buf.size(), f);
  std::fclose(f);
  std::size_t len = n;
  if (len > 0 && buf.data()[len - 1] == '\n') --len;
  if (len > 0 && buf.data()[len - 1] == '\r') --len;
  if (len < 16 || len > 4096) {
    return make_error(ErrorCode::kInvalidArgument,
                      "token file " + path + " must hold 16 to 4096 bytes (e.g. `openssl rand "
                      "-hex 32`)");
  }
  return SecureBytes::copy_of(std::span<const std::uint8_t>(buf.data(), len));
}

class Service::Impl {
 public:
  Impl(wallet::KeyManager& km, ServiceOptions options) : km_(km), o_(std::move(options)) {}

  Status bind() {
    port_ = o_.port == 0 ? server_.bind_to_any_port(o_.host) : o_.port;
    if (o_.port != 0 && !server_.bind_to_port(o_.host, o_.port)) port_ = -1;
    if (port_ < 0) {
      return make_error(ErrorCode::kUnavailable,
                        "cannot listen on " + o_.host + ":" + std::to_string(o_.port) +
                            " (in use, or not a local address)");
    }
    return {};
  }

  void install() {
    server_.set_payload_max_length(64 * 1024);
    // Nagle + the client's delayed ACK would add ~40 ms to every answer
    // written in more than one segment (headers, then body).
    server_.set_tcp_nodelay(true);
    server_.set_read_timeout(10, 0);
    server_.set_write_timeout(10, 0);
    server_.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      if (o_.metrics == nullptr) return fail(res, 404, "metrics are not enabled");
      res.set_content(metrics::write_prometheus_text(o_.metrics->registry()),
                      std::string(metrics::kPrometheusContentType));
    });
    server_.Get("/v1/status", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      status(res);
    });
    server_.Post("/v1/explorers/lease", [this](const httplib::Request& req,
                                               httplib::Response& res) {
      if (!authorized(req, res)) return;
      lease(res);
    });
    server_.Post(R"(/v1/explorers/([1-9A-HJ-NP-Za-km-z]{32,44})/sign)",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   if (!authorized(req, res)) return;
                   sign(req.matches[1], req.body, res);
                 });
    server_.Post(R"(/v1/explorers/([1-9A-HJ-NP-Za-km-z]{32,44})/return)",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   if (!authorized(req, res)) return;
                   give_back(req.matches[1], req.body, res);
                 });
    server_.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      const char* why = res.status == 404 ? "no such endpoint (see docs/DAEMON.md)"
                        : res.status == 400
                            ? "bad request (a POST needs a Content-Length header, even 0)"
                            : "request refused";
      res.set_content(json{{"error", why}}.dump(), "application/json");
    });
    server_.set_exception_handler(
        [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
          spdlog::error("{} {}: internal error", req.method, req.path);
          fail(res, 500, "internal error");
        });
    server_.set_logger([](const httplib::Request& req, const httplib::Response& res) {
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
      spdlog::warn("refused a request with a wrong bearer token from {}", req.remote_addr);
      fail(res, 403, "wrong bearer token");
      return false;
    }
    return true;
  }

  void lease(httplib::Response& res) {
    const std::int64_t deadline = unix_ms() + o_.lease_timeout.count();
    auto claimed = km_.store().claim_explorers(o_.owner, 1, deadline);
    if (!claimed) return fail(res, status_for(claimed.error().code), claimed.error().message);
    if (claimed->empty()) {
      km_.wake_balancer();
      res.set_header("Retry-After", std::to_string(o_.retry_after.count()));
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

  void sign(const std::string& pubkey_text, const std::string& body, httplib::Response& res) {
    json req = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!req.is_object() || !req.contains("message") || !req["message"].is_string()) {
      return fail(res, 400, "body must be {\"message\": \"<base64 legacy message>\"}");
    }
    auto bytes = solana::base64_decode(req["message"].get<std::string>());
    if (!bytes) return fail(res, 400, "message is not base64: " + bytes.error().message);
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
                 httplib::Response& res) {
    json req = json::parse(body.empty() ? std::string("{}") : body, nullptr, false);
    if (!req.is_object() || (req.contains("retire") && !req["retire"].is_boolean())) {
      return fail(res, 400, "body must be {\"retire\": true|false}");
    }
    const bool retire = req.value("retire", true);
    auto key = leased_here(pubkey_text);
    if (!key) return fail(res, status_for(key.error().code), key.error().message);
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

  void status(httplib::Response& res) {
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
  httplib::Server server_;
  int port_ = -1;
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
  auto impl = std::make_unique<Impl>(km, std::move(options));
  impl->install();
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Service::~Service() { stop(); }
Status Service::bind() { return impl_->bind(); }
int Service::bound_port() const noexcept { return impl_->port_; }
void Service::run() { impl_->server_.listen_after_bind(); }
void Service::stop() { impl_->server_.stop(); }

}  // namespace qtw::service
