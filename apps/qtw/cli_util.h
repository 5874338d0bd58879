#pragma once
// Small helpers shared by the CLI commands: error printing with the right exit
// code (JSON on stderr under --json), config lookup with environment and flag
// overrides, amounts in lamports or SOL, the passphrase (file, environment,
// systemd credential or a no-echo prompt), a spinner, tables and JSON output.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "qtw/result.h"
#include "qtw/secure_bytes.h"
#include "qtw/store/key_store.h"
#include "qtw/vault/vault.h"
#include "qtw/wallet/config.h"
#include "qtw/wallet/key_manager.h"

namespace qtw::cli {

// main() registers its GlobalOptions so errors know whether --json was given.
void bind_global_options(const GlobalOptions* global);

// Prints "qtw: error: <message>" to stderr, or {"error": ..., "exit_code": N}
// under --json; returns `exit_code`.
int print_error(const std::string& message, int exit_code);
// print_error(error.message, exit_code_for(error.code)).
int report_error(const Error& error);
// Same, for bad usage or a request the wallet refuses (exit 2).
int usage_error(const std::string& message);

// Which config file a command reads: --config, else QTW_CONFIG (both must
// exist), else the first of ./qtw.toml, $XDG_CONFIG_HOME/qtw/qtw.toml
// (default ~/.config/qtw/qtw.toml), /etc/qtw/qtw.toml that exists. `path`
// is empty when none exists (built-in defaults).
struct ConfigChoice {
  std::string path;
  bool must_exist = false;
};
[[nodiscard]] ConfigChoice choose_config(const GlobalOptions& global);

// Loads the chosen config and applies the store and RPC overrides (flag,
// then QTW_STORE / QTW_RPC_URL, then the file). `config_used` (optional)
// receives the config path, or "" for built-in defaults.
[[nodiscard]] Result<wallet::WalletConfig> load_effective_config(
    const GlobalOptions& global, std::string* config_used = nullptr);

// -u/--url values as the Solana CLI takes them: l/localhost, d/devnet,
// t/testnet, m/mainnet-beta, or a full http(s) URL (returned as is).
[[nodiscard]] Result<std::string> resolve_cluster_url(const std::string& text);

// Opens the store named by the config ([store] path or --store). A missing
// store is kNotFound with "run qtw init" unless `create`.
[[nodiscard]] Result<std::unique_ptr<store::KeyStore>> open_wallet_store(
    const wallet::WalletConfig& config, bool create);

// Seal settings shared by init and rescue (Argon2id cost, passphrase file).
struct SealArgs {
  std::optional<std::string> passphrase_file;
  std::uint64_t kdf_opslimit = vault::kOpslimitModerate;
  std::uint64_t kdf_memlimit_kib = vault::kMemlimitModerateBytes / 1024;
  bool yes = false;  // --yes: no confirmation for a memory cost above 1 GiB
};
// Above this Argon2id memory cost, init and rescue ask for confirmation.
inline constexpr std::uint64_t kConfirmMemlimitAboveKib = 1024 * 1024;
// Adds --passphrase-file to a command.
void add_passphrase_option(CLI::App* cmd, std::optional<std::string>& passphrase_file);
// Adds --passphrase-file, --kdf-opslimit and --kdf-memlimit-kib (a command
// that calls confirm_seal_cost binds its own --yes to SealArgs::yes).
void add_seal_options(CLI::App* cmd, SealArgs& args);
// A --kdf-memlimit-kib above 1 GiB: asks for "yes" on the terminal (or
// stdin) unless --yes. kInvalidArgument when not confirmed.
[[nodiscard]] Status confirm_seal_cost(const SealArgs& args);

// Where the passphrase comes from, in this order.
enum class PassphraseFrom { kFile, kEnvironment, kCredential, kPrompt, kNone };
// --passphrase-file if given, else QTW_PASSPHRASE if set and non-empty, else
// $CREDENTIALS_DIRECTORY/qtw-passphrase if that directory is set, else a
// prompt when a terminal is there to ask on.
[[nodiscard]] PassphraseFrom choose_passphrase_source(bool file_given, const char* env_passphrase,
                                                      const char* credentials_directory,
                                                      bool have_terminal);
// The passphrase from the chosen source. A prompt reads /dev/tty with echo
// off; `confirm` asks twice (a new wallet's passphrase).
[[nodiscard]] Result<SecureBytes> load_cli_passphrase(
    const std::optional<std::string>& passphrase_file, bool confirm = false);

// Config + passphrase + store -> a running KeyManager (no balancer thread).
// The Argon2id unlock shows a spinner on a terminal.
[[nodiscard]] Result<std::unique_ptr<wallet::KeyManager>> open_key_manager(
    const wallet::WalletConfig& config, const std::optional<std::string>& passphrase_file,
    wallet::KeyManagerOptions options);
[[nodiscard]] Result<std::unique_ptr<wallet::KeyManager>> open_key_manager(
    const wallet::WalletConfig& config, const std::optional<std::string>& passphrase_file);

// Parses a lamports amount: a whole number 1..u64 max (kInvalidArgument).
[[nodiscard]] Result<std::uint64_t> parse_lamports(const std::string& text);
// Parses a SOL amount exactly ("1.5", "0.000000001", "2"): at most 9
// decimals, no sign, no exponent, at least 1 lamport, no floating point.
[[nodiscard]] Result<std::uint64_t> parse_sol(const std::string& text);
// An amount a person types: exactly one of --lamports N or --sol X.
struct AmountArgs {
  std::string lamports;
  std::string sol;
};
[[nodiscard]] Result<std::uint64_t> amount_lamports(const AmountArgs& amount);

// "\r<frame> <message>" on stderr every 100 ms while alive, only when stderr
// is a terminal; the line is cleared when it ends.
class Spinner {
 public:
  explicit Spinner(std::string message);
  ~Spinner();
  Spinner(const Spinner&) = delete;
  Spinner& operator=(const Spinner&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Unix ms -> "2026-11-29 21:40:05 CET" in local time.
std::string format_local_time(std::int64_t unix_ms);
// Unix ms -> "2026-11-29 21:40:05 CET (in 59 s)" (or "(3 s ago)").
std::string format_deadline(std::int64_t deadline_ms, std::int64_t now_ms);

// SIGINT/SIGTERM set a flag instead of killing the process (qtw balance
// stops after the current step). A second Ctrl-C kills as usual.
void install_interrupt_flag();
[[nodiscard]] const std::atomic<bool>* interrupt_flag();

// Renders rows as an aligned text table with a header line.
std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

// 1234567890 -> "1.23456789 SOL" (exact, no floating point).
std::string format_sol(std::uint64_t lamports);

}  // namespace qtw::cli
