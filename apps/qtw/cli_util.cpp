#include "cli_util.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iostream>

#include "qtw/store/open_store.h"

namespace qtw::cli {

int report_error(const Error& error) {
  std::cerr << "qtw: error: " << error.message << "\n";
  return exit_code_for(error.code);
}

int usage_error(const std::string& message) {
  std::cerr << "qtw: error: " << message << "\n";
  return 2;
}

Result<wallet::WalletConfig> load_effective_config(const GlobalOptions& global) {
  QTW_ASSIGN_OR_RETURN(auto config, wallet::load_config(
      global.config_path, global.config_option != nullptr && global.config_option->count() > 0));
  if (!global.store.empty()) config.store.path = global.store;
  if (!global.rpc_url.empty()) config.rpc.url = global.rpc_url;
  return config;
}

Result<std::unique_ptr<store::KeyStore>> open_wallet_store(const wallet::WalletConfig& config,
                                                           bool create) {
  store::OpenStoreOptions options;
  options.create_if_missing = create;
  options.take_over_dead_leader = true;
  options.postgres_pool_size = static_cast<int>(config.store.postgres_pool_size);
  return store::open_store(config.store.path, options);
}

void add_passphrase_option(CLI::App* cmd, std::optional<std::string>& passphrase_file) {
  cmd->add_option("--passphrase-file", passphrase_file,
                  "File holding the wallet passphrase (mode 0600). Otherwise QTW_PASSPHRASE or "
                  "$CREDENTIALS_DIRECTORY/qtw-passphrase");
}

void add_seal_options(CLI::App* cmd, SealArgs& args) {
  add_passphrase_option(cmd, args.passphrase_file);
  cmd->add_option("--kdf-opslimit", args.kdf_opslimit, "Argon2id passes (default 3)")
      ->check(CLI::Range(std::uint64_t{1}, vault::kOpslimitMaxAccepted));
  cmd->add_option("--kdf-memlimit-kib", args.kdf_memlimit_kib,
                  "Argon2id memory in KiB (default 262144 = 256 MiB; minimum 8)")
      ->check(CLI::Range(std::uint64_t{8}, vault::kMemlimitMaxAcceptedBytes / 1024));
}

Result<SecureBytes> load_cli_passphrase(const std::optional<std::string>& passphrase_file) {
  vault::PassphraseSource source;
  if (passphrase_file) source.passphrase_file = *passphrase_file;
  return vault::load_passphrase(source);
}

Result<std::unique_ptr<wallet::KeyManager>> open_key_manager(
    const wallet::WalletConfig& config, const std::optional<std::string>& passphrase_file) {
  QTW_ASSIGN_OR_RETURN(auto passphrase, load_cli_passphrase(passphrase_file));
  QTW_ASSIGN_OR_RETURN(auto st, open_wallet_store(config, /*create=*/false));
  return wallet::KeyManager::open(std::move(st), passphrase, wallet::key_manager_options(config));
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
