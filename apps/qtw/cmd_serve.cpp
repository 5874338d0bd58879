// qtw serve: the daemon (docs/DAEMON.md). Balancer loop + HTTP API.
#include <CLI/CLI.hpp>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <thread>

#include "cli_util.h"
#include "commands.h"
#include "qtw/metrics/otlp.h"
#include "qtw/metrics/wallet_metrics.h"
#include "qtw/phase_marker.h"
#include "qtw/service/service.h"

namespace qtw::cli {
namespace {

struct ServeArgs {
  std::optional<std::string> listen;       // host:port, "" = no TCP; unset = [service] listen
  std::optional<std::string> unix_socket;  // path, "" = none; unset = [service] unix_socket
  std::string token_file;
  std::string instance;
  std::optional<std::string> passphrase_file;
  std::string log_format;  // text|json; "" = [log] format
  std::string log_level;
  bool allow_remote = false;
};

// Hosts only this machine can reach. Anything else (0.0.0.0, ::, a LAN
// address, a name) exposes the API and /metrics to other hosts.
bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

// %* in the JSON pattern: the message as the inside of a JSON string (RFC
// 8259 section 7), so a quote or newline in any message (an error text, a
// path) cannot break the one-object-per-line format.
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (const char c : msg.payload) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (u < 0x20) {
        const char esc[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 15]};
        dest.append(esc, esc + sizeof(esc));
      } else {
        dest.push_back(c);
      }
    }
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

Status setup_logging(const std::string& format, const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("qtw");
  if (format == "json") {
    // One JSON object per line. No secret is ever logged (tests check the
    // token and passphrase never appear).
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JsonEscapedMessage>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","pid":%P,"thread":%t,"msg":"%*"})");
    logger->set_formatter(std::move(formatter));
  } else if (format == "text") {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [%P] %v");
  } else {
    return make_error(ErrorCode::kInvalidArgument, "--log-format must be text or json");
  }
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return make_error(ErrorCode::kInvalidArgument,
                      "--log-level must be trace, debug, info, warn or error");
  }
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return {};
}

int run_serve(const ServeArgs& args, const GlobalOptions& global) {
  mark_phase("startup");
  auto config = load_effective_config(global);
  if (!config) return report_error(config.error());
  if (auto st = setup_logging(args.log_format.empty() ? config->log.format : args.log_format,
                              args.log_level.empty() ? config->log.level : args.log_level);
      !st) {
    return report_error(st.error());
  }
  const std::string listen = args.listen ? *args.listen : config->service.listen;
  const std::string unix_socket =
      args.unix_socket ? *args.unix_socket : config->service.unix_socket;
  if (listen.empty() && unix_socket.empty()) {
    return usage_error(
        "nothing to listen on: give --listen HOST:PORT, --unix-socket PATH, or both");
  }
  const auto colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    try {
      port = std::stoi(listen.substr(colon + 1));
    } catch (...) {
      port = -1;
    }
  }
  if (!listen.empty() && (colon == std::string::npos || port < 0 || port > 65535)) {
    return usage_error("--listen must be HOST:PORT (e.g. 127.0.0.1:8686), not '" + listen + "'");
  }
  const std::string listen_host = listen.empty() ? std::string() : listen.substr(0, colon);
  if (!listen.empty() && !is_loopback_host(listen_host)) {
    if (!args.allow_remote) {
      return usage_error("--listen " + listen + " would serve the API and /metrics to other "
                         "hosts; listen on 127.0.0.1 (or a Unix socket) and put a TLS proxy in "
                         "front, or pass --allow-remote if this is really meant "
                         "(docs/DAEMON.md)");
    }
    spdlog::warn("listening on {} (--allow-remote): other hosts can reach the API and /metrics; "
                 "the bearer token and any Explorer signatures travel in clear text without a "
                 "TLS proxy",
                 listen);
  }
  const std::string token_file =
      args.token_file.empty() ? config->service.token_file : args.token_file;
  if (token_file.empty()) {
    return usage_error("serve needs a bearer token: --token-file F or [service] token_file "
                       "(e.g. `openssl rand -hex 32 > F && chmod 600 F`)");
  }
  auto token = service::read_token_file(token_file);
  if (!token) return report_error(token.error());

  // Signals are taken by one thread with sigwait; every other thread
  // (balancer, maintenance, HTTP workers) inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  metrics::WalletMetrics wallet_metrics;
  auto passphrase = load_cli_passphrase(args.passphrase_file);
  if (!passphrase) return report_error(passphrase.error());
  auto st = open_wallet_store(*config, /*create=*/false);
  if (!st) return report_error(st.error());
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  const std::string instance = args.instance.empty() ? config->service.instance : args.instance;
  if (instance.empty()) return usage_error("--instance must not be empty");
  // One live daemon per instance and store: the lock is what lets a
  // restarted daemon end its predecessor's leases (as used) and take its
  // balancer-leader slot back at once (both belong to host + instance), and
  // it keeps two live daemons from sharing the same leases. The OS or the
  // server frees it when this process dies.
  if (auto locked = (*st)->lock_instance(store::LeaseOwner{host, ::getpid(), instance}); !locked) {
    return report_error(locked.error());
  }
  auto options = wallet::key_manager_options(*config);
  options.metrics = &wallet_metrics;
  // The daemon's leases: held in the store by a stable owner and handed out
  // from memory (claimed in batches). A restart ends every lease the last
  // process held as used (its Landers get 409 and lease again); an API
  // lease lasts [service] lease_timeout_ms.
  options.owner = store::LeaseOwner{host, 0, instance};
  options.pool.lease_timeout = std::chrono::milliseconds(config->service.lease_timeout_ms);
  auto km = [&] {
    Spinner spinner("unlocking the wallet (Argon2id)");
    return wallet::KeyManager::open(std::move(*st), *passphrase, std::move(options));
  }();
  if (!km) return report_error(km.error());

  service::ServiceOptions so;
  so.host = listen.empty() ? std::string() : listen.substr(0, colon);
  so.port = port;
  so.unix_socket = unix_socket;
  so.token = std::move(*token);
  so.metrics = &wallet_metrics;
  auto svc = service::Service::create(**km, std::move(so));
  if (!svc) return report_error(svc.error());
  if (auto b = (*svc)->bind(); !b) return report_error(b.error());

  std::unique_ptr<metrics::OtlpPusher> pusher;
  if (!config->metrics.otlp_endpoint.empty()) {
    metrics::OtlpPusherOptions po;
    po.endpoint = config->metrics.otlp_endpoint;
    po.interval_ms = config->metrics.otlp_interval_ms;
    auto p = metrics::OtlpPusher::create(wallet_metrics.registry(), po);
    if (!p) return report_error(p.error());
    pusher = std::move(*p);
    pusher->start();
  }

  (*km)->balancer();
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("signal {}: stopping (in-flight requests finish, leases stay in the store)", sig);
    (*svc)->stop();
  });
  std::string where;
  if (!listen.empty()) {
    where = "http://" + listen.substr(0, colon) + ":" + std::to_string((*svc)->bound_port());
  }
  if (!unix_socket.empty()) where += (where.empty() ? "unix:" : " unix:") + unix_socket;
  spdlog::info("qtw serve: {} on {} as {}, store {}", where, config->rpc.url, instance,
               (*km)->store().describe());
  std::cout << "READY " << where << std::endl;
  mark_phase("ready");
  (*svc)->run();

  // run() returned: stopped by a signal (or the listener failed).
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // no-op if it already took one
  signal_thread.join();
  if (pusher) pusher->stop();
  auto stopped = (*km)->stop();
  if (!stopped) {
    spdlog::error("shutdown: {}", stopped.error().message);
    return 1;
  }
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace

void register_service_commands(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<ServeArgs>();
  auto* serve = app.add_subcommand(
      "serve",
      "The daemon: balancer loop + HTTP API (lease, sign once, return, status, healthz, "
      "metrics). Prints `READY http://host:port [unix:PATH]` when listening; SIGTERM/SIGINT "
      "stop it.");
  serve->add_option("--listen", args->listen,
                    "HOST:PORT (default [service] listen, 127.0.0.1:8686; port 0 = any free "
                    "port; \"\" = no TCP listener)");
  serve->add_option("--unix-socket", args->unix_socket,
                    "Also (or only) serve on this Unix socket, created mode 0600 (default "
                    "[service] unix_socket; \"\" = none)");
  serve->add_option("--token-file", args->token_file,
                    "Bearer token file, mode 0600 (default [service] token_file)");
  serve->add_option("--instance", args->instance,
                    "Lease-holder name in the store; stable across restarts, unique per daemon: "
                    "a second live `qtw serve` with the same instance on the same store is "
                    "refused, a restarted one takes its leases and balancer-leader slot back at "
                    "once (default [service] instance, \"qtw-serve\")");
  serve->add_flag("--allow-remote", args->allow_remote,
                  "Allow a --listen address other hosts can reach (0.0.0.0, a LAN address); "
                  "refused without it");
  add_passphrase_option(serve, args->passphrase_file);
  serve->add_option("--log-format", args->log_format, "text or json (default [log] format)");
  serve->add_option("--log-level", args->log_level,
                    "trace, debug, info, warn, error (default [log] level)");
  serve->callback([args, &global] { global.exit_code = run_serve(*args, global); });
}

}  // namespace qtw::cli
