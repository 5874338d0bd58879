#pragma once
// Small helpers shared by the CLI commands: error printing with the right exit
// code, config loading with flag overrides, tables and JSON output.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "qtw/result.h"
#include "qtw/secure_bytes.h"
#include "qtw/store/key_store.h"
#include "qtw/vault/vault.h"
#include "qtw/wallet/config.h"
#include "qtw/wallet/key_manager.h"

namespace qtw::cli {

// Prints "qtw: error: <message>" to stderr; returns exit_code_for(code).
int report_error(const Error& error);
// Same, for bad usage spotted by the CLI itself (exit 2).
int usage_error(const std::string& message);

// Loads the config file (must exist only if --config was given) and applies
// --store / --rpc-url overrides.
[[nodiscard]] Result<wallet::WalletConfig> load_effective_config(const GlobalOptions& global);

// Opens the store named by the config ([store] path or --store). A missing
// store is kNotFound with "run qtw init" unless `create`.
[[nodiscard]] Result<std::unique_ptr<store::KeyStore>> open_wallet_store(
    const wallet::WalletConfig& config, bool create);

// Seal settings shared by init and rescue (Argon2id cost, passphrase file).
struct SealArgs {
  std::optional<std::string> passphrase_file;
  std::uint64_t kdf_opslimit = vault::kOpslimitModerate;
  std::uint64_t kdf_memlimit_kib = vault::kMemlimitModerateBytes / 1024;
};
// Adds --passphrase-file to a command.
void add_passphrase_option(CLI::App* cmd, std::optional<std::string>& passphrase_file);
// Adds --passphrase-file, --kdf-opslimit and --kdf-memlimit-kib.
void add_seal_options(CLI::App* cmd, SealArgs& args);
// --passphrase-file if given, else QTW_PASSPHRASE, else the systemd credential.
[[nodiscard]] Result<SecureBytes> load_cli_passphrase(
    const std::optional<std::string>& passphrase_file);

// Config + passphrase + store -> a running KeyManager (no balancer thread).
[[nodiscard]] Result<std::unique_ptr<wallet::KeyManager>> open_key_manager(
    const wallet::WalletConfig& config, const std::optional<std::string>& passphrase_file);

// Parses a lamports amount: a whole number 1..u64 max (kInvalidArgument).
[[nodiscard]] Result<std::uint64_t> parse_lamports(const std::string& text);

// Renders rows as an aligned text table with a header line.
std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

// 1234567890 -> "1.23456789 SOL" (exact, no floating point).
std::string format_sol(std::uint64_t lamports);

}  // namespace qtw::cli
