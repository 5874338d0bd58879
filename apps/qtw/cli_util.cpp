#include "cli_util.h"

#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "qtw/store/open_store.h"

namespace qtw::cli {
namespace {

const GlobalOptions* g_global = nullptr;
std::atomic<bool> g_interrupted{false};

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// Reads one line from /dev/tty with echo off into secure memory.
Result<SecureBytes> prompt_passphrase(const char* prompt) {
  const int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::kIo, "cannot open /dev/tty to ask for the passphrase");
  termios saved{};
  const bool have_termios = ::tcgetattr(fd, &saved) == 0;
  if (have_termios) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  (void)!::write(fd, prompt, std::strlen(prompt));
  SecureBytes buf(4097);
  std::size_t used = 0;
  bool ended = false;
  while (used < buf.size()) {
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (c == '\n' || c == '\r') {
      ended = true;
      break;
    }
    buf.data()[used++] = static_cast<std::uint8_t>(c);
  }
  if (have_termios) ::tcsetattr(fd, TCSAFLUSH, &saved);
  ::close(fd);
  if (!ended && used >= buf.size()) {
    return make_error(ErrorCode::kInvalidArgument, "the passphrase is longer than 4096 bytes");
  }
  if (used == 0) return make_error(ErrorCode::kInvalidArgument, "the passphrase typed is empty");
  return SecureBytes::copy_of(buf.span().first(used));
}

}  // namespace

void bind_global_options(const GlobalOptions* global) { g_global = global; }

int print_error(const std::string& message, int exit_code) {
  if (g_global != nullptr && g_global->json) {
    std::cerr << nlohmann::json{{"error", message}, {"exit_code", exit_code}}.dump(
                     -1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    std::cerr << "qtw: error: " << message << "\n";
  }
  return exit_code;
}

int report_error(const Error& error) { return print_error(error.message, exit_code_for(error.code)); }

int usage_error(const std::string& message) { return print_error(message, 2); }

ConfigChoice choose_config(const GlobalOptions& global) {
  if (!global.config_path.empty()) return {global.config_path, true};
  if (auto env = env_or_empty("QTW_CONFIG"); !env.empty()) return {env, true};
  std::vector<std::string> candidates = {"qtw.toml"};
  if (auto xdg = env_or_empty("XDG_CONFIG_HOME"); !xdg.empty()) {
    candidates.push_back(xdg + "/qtw/qtw.toml");
  } else if (auto home = env_or_empty("HOME"); !home.empty()) {
    candidates.push_back(home + "/.config/qtw/qtw.toml");
  }
  candidates.push_back("/etc/qtw/qtw.toml");
  for (const auto& c : candidates) {
    if (file_exists(c)) return {c, false};
  }
  return {"", false};
}

Result<wallet::WalletConfig> load_effective_config(const GlobalOptions& global,
                                                   std::string* config_used) {
  const ConfigChoice choice = choose_config(global);
  wallet::WalletConfig config;
  if (!choice.path.empty()) {
    QTW_ASSIGN_OR_RETURN(config, wallet::load_config(choice.path, choice.must_exist));
  }
  if (config_used != nullptr) *config_used = choice.path;
  if (!global.store.empty()) {
    config.store.path = global.store;
  } else if (auto env = env_or_empty("QTW_STORE"); !env.empty()) {
    config.store.path = env;
  }
  if (!global.rpc_url.empty()) {
    config.rpc.url = global.rpc_url;
  } else if (auto env = env_or_empty("QTW_RPC_URL"); !env.empty()) {
    QTW_ASSIGN_OR_RETURN(config.rpc.url, resolve_cluster_url(env));
  }
  return config;
}

Result<std::string> resolve_cluster_url(const std::string& text) {
  if (text == "l" || text == "localhost") return std::string("http://127.0.0.1:8899");
  if (text == "d" || text == "devnet") return std::string("https://api.devnet.solana.com");
  if (text == "t" || text == "testnet") return std::string("https://api.testnet.solana.com");
  if (text == "m" || text == "mainnet-beta") {
    return std::string("https://api.mainnet-beta.solana.com");
  }
  if (text.rfind("http://", 0) == 0 || text.rfind("https://", 0) == 0) return text;
  return make_error(ErrorCode::kInvalidArgument,
                    "--url '" + text + "' is neither a URL (http://..., https://...) nor one of "
                    "l (localhost), d (devnet), t (testnet), m (mainnet-beta)");
}

Result<std::unique_ptr<store::KeyStore>> open_wallet_store(const wallet::WalletConfig& config,
                                                           bool create) {
  store::OpenStoreOptions options;
  options.create_if_missing = create;
  options.take_over_dead_leader = true;
  return store::open_store(config.store.path, options);
}

void add_passphrase_option(CLI::App* cmd, std::optional<std::string>& passphrase_file) {
  cmd->add_option("--passphrase-file", passphrase_file,
                  "File holding the wallet passphrase (mode 0600). Otherwise QTW_PASSPHRASE, "
                  "$CREDENTIALS_DIRECTORY/qtw-passphrase, or a prompt on a terminal");
}

void add_seal_options(CLI::App* cmd, SealArgs& args) {
  add_passphrase_option(cmd, args.passphrase_file);
  cmd->add_option("--kdf-opslimit", args.kdf_opslimit, "Argon2id passes (default 3)")
      ->check(CLI::Range(std::uint64_t{1}, vault::kOpslimitMaxAccepted));
  cmd->add_option("--kdf-memlimit-kib", args.kdf_memlimit_kib,
                  "Argon2id memory in KiB (default 262144 = 256 MiB; minimum 8; above 1 GiB "
                  "asks for confirmation: every unlock needs that much memory)")
      ->check(CLI::Range(std::uint64_t{8}, vault::kMemlimitMaxAcceptedBytes / 1024));
}

Status confirm_seal_cost(const SealArgs& args) {
  if (args.kdf_memlimit_kib <= kConfirmMemlimitAboveKib || args.yes) return {};
  std::cerr << "--kdf-memlimit-kib " << args.kdf_memlimit_kib << " means every unlock of this "
            << "wallet (every balance, serve, sweep) needs " << args.kdf_memlimit_kib / 1024
            << " MiB of memory and takes seconds. Type 'yes' to go on: " << std::flush;
  std::string line;
  std::getline(std::cin, line);
  if (line != "yes") {
    return make_error(ErrorCode::kInvalidArgument,
                      "Argon2id memory cost above 1 GiB not confirmed; nothing created (or pass "
                      "--yes)");
  }
  return {};
}

PassphraseFrom choose_passphrase_source(bool file_given, const char* env_passphrase,
                                        const char* credentials_directory, bool have_terminal) {
  if (file_given) return PassphraseFrom::kFile;
  if (env_passphrase != nullptr && *env_passphrase != '\0') return PassphraseFrom::kEnvironment;
  if (credentials_directory != nullptr && *credentials_directory != '\0') {
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::path(credentials_directory) / "qtw-passphrase",
                                ec)) {
      return PassphraseFrom::kCredential;
    }
  }
  return have_terminal ? PassphraseFrom::kPrompt : PassphraseFrom::kNone;
}

Result<SecureBytes> load_cli_passphrase(const std::optional<std::string>& passphrase_file,
                                        bool confirm) {
  const PassphraseFrom from =
      choose_passphrase_source(passphrase_file.has_value(), std::getenv("QTW_PASSPHRASE"),
                               std::getenv("CREDENTIALS_DIRECTORY"), ::isatty(0) == 1);
  if (from == PassphraseFrom::kPrompt) {
    QTW_ASSIGN_OR_RETURN(auto first, prompt_passphrase(confirm ? "New wallet passphrase: "
                                                               : "Wallet passphrase: "));
    if (confirm) {
      QTW_ASSIGN_OR_RETURN(auto again, prompt_passphrase("Same passphrase again: "));
      if (!first.equals(again.span())) {
        return make_error(ErrorCode::kInvalidArgument, "the two passphrases differ");
      }
    }
    return first;
  }
  vault::PassphraseSource source;
  if (passphrase_file) source.passphrase_file = *passphrase_file;
  auto loaded = vault::load_passphrase(source);
  if (!loaded && from == PassphraseFrom::kNone) {
    return make_error(loaded.error().code,
                      loaded.error().message + ", or run it on a terminal to be asked");
  }
  return loaded;
}

Result<std::unique_ptr<wallet::KeyManager>> open_key_manager(
    const wallet::WalletConfig& config, const std::optional<std::string>& passphrase_file,
    wallet::KeyManagerOptions options) {
  QTW_ASSIGN_OR_RETURN(auto passphrase, load_cli_passphrase(passphrase_file));
  QTW_ASSIGN_OR_RETURN(auto st, open_wallet_store(config, /*create=*/false));
  Spinner spinner("unlocking the wallet (Argon2id)");
  return wallet::KeyManager::open(std::move(st), passphrase, std::move(options));
}

Result<std::unique_ptr<wallet::KeyManager>> open_key_manager(
    const wallet::WalletConfig& config, const std::optional<std::string>& passphrase_file) {
  return open_key_manager(config, passphrase_file, wallet::key_manager_options(config));
}

Result<std::uint64_t> parse_lamports(const std::string& text) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec == std::errc::result_out_of_range) {
    return make_error(ErrorCode::kInvalidArgument,
                      "lamports '" + text + "' is out of range (1 to 18446744073709551615)");
  }
  if (ec != std::errc() || p != end) {
    return make_error(ErrorCode::kInvalidArgument,
                      "lamports '" + text + "' is not a whole number (1 SOL = 1000000000 lamports)");
  }
  if (value == 0) return make_error(ErrorCode::kInvalidArgument, "lamports must be at least 1");
  return value;
}

Result<std::uint64_t> parse_sol(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument, "SOL amount '" + text + "' " + why);
  };
  const auto dot = text.find('.');
  const std::string whole = text.substr(0, dot);
  const std::string frac = dot == std::string::npos ? "" : text.substr(dot + 1);
  auto digits = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() && frac.empty()) return bad("is not a number (e.g. 1.5)");
  if (!digits(whole) || !digits(frac)) return bad("is not a decimal number (e.g. 1.5)");
  if (dot != std::string::npos && frac.empty()) return bad("ends with a dot");
  if (frac.size() > 9) return bad("has more than 9 decimals (1 lamport = 0.000000001 SOL)");
  std::uint64_t sol = 0;
  if (!whole.empty()) {
    auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), sol);
    if (ec != std::errc()) return bad("is too large");
  }
  std::uint64_t nanos = 0;
  if (!frac.empty()) {
    const std::string padded = frac + std::string(9 - frac.size(), '0');
    std::from_chars(padded.data(), padded.data() + padded.size(), nanos);
  }
  constexpr std::uint64_t kLamportsPerSol = 1'000'000'000;
  if (sol > (UINT64_MAX - nanos) / kLamportsPerSol) return bad("is too large");
  const std::uint64_t lamports = sol * kLamportsPerSol + nanos;
  if (lamports == 0) return bad("is zero; the least is 0.000000001 (1 lamport)");
  return lamports;
}

Result<std::uint64_t> amount_lamports(const AmountArgs& amount) {
  if (amount.lamports.empty() == amount.sol.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "give the amount once: --lamports N or --sol X (1 SOL = 1000000000 lamports)");
  }
  if (!amount.sol.empty()) return parse_sol(amount.sol);
  return parse_lamports(amount.lamports);
}

Spinner::Spinner(std::string message) {
  if (::isatty(2) != 1) return;
  thread_ = std::thread([this, message = std::move(message)] {
    static constexpr const char* kFrames[] = {"|", "/", "-", "\\"};
    const auto started = std::chrono::steady_clock::now();
    for (std::size_t i = 0; !done_.load(); ++i) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
      std::fprintf(stderr, "\r%s %s %lld.%llds", kFrames[i % 4], message.c_str(),
                   static_cast<long long>(ms / 1000), static_cast<long long>(ms % 1000 / 100));
      std::fflush(stderr);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  });
}

Spinner::~Spinner() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string format_local_time(std::int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm local{};
  ::localtime_r(&secs, &local);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &local);
  return buf;
}

std::string format_deadline(std::int64_t deadline_ms, std::int64_t now_ms) {
  const std::int64_t left_s = (deadline_ms - now_ms) / 1000;
  return format_local_time(deadline_ms) + (left_s >= 0 ? " (in " + std::to_string(left_s) + " s)"
                                         : " (" + std::to_string(-left_s) + " s ago)");
}

void install_interrupt_flag() {
  struct sigaction sa {};
  sa.sa_handler = [](int) {
    if (g_interrupted.exchange(true)) {
      // Second Ctrl-C: the default action, now.
      ::signal(SIGINT, SIG_DFL);
      ::raise(SIGINT);
    }
  };
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

const std::atomic<bool>* interrupt_flag() { return &g_interrupted; }

std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size(), 0);
  for (std::size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < cells.size() ? cells[i] : "";
      out += cell;
      if (i + 1 < width.size()) out += std::string(width[i] - cell.size() + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += "\n";
  };
  line(header);
  std::vector<std::string> rule;
  for (auto w : width) rule.push_back(std::string(w, '-'));
  line(rule);
  for (const auto& row : rows) line(row);
  return out;
}

std::string format_sol(std::uint64_t lamports) {
  std::string frac = std::to_string(lamports % 1'000'000'000);
  frac = std::string(9 - frac.size(), '0') + frac;
  while (frac.size() > 1 && frac.back() == '0') frac.pop_back();
  return std::to_string(lamports / 1'000'000'000) + "." + frac + " SOL";
}

}  // namespace qtw::cli
