#pragma once
// Small helpers shared by the CLI commands: error printing with the right exit
// code, config loading with flag overrides, tables and JSON output.
#include <cstdint>
#include <string>
#include <vector>

#include "commands.h"
#include "qtw/result.h"
#include "qtw/wallet/config.h"

namespace qtw::cli {

// Prints "qtw: error: <message>" to stderr; returns exit_code_for(code).
int report_error(const Error& error);
// Same, for bad usage spotted by the CLI itself (exit 2).
int usage_error(const std::string& message);

// Loads the config file (must exist only if --config was given) and applies
// --store / --rpc-url overrides.
[[nodiscard]] Result<wallet::WalletConfig> load_effective_config(const GlobalOptions& global);

// Parses a lamports amount: a whole number 1..u64 max (kInvalidArgument).
[[nodiscard]] Result<std::uint64_t> parse_lamports(const std::string& text);

// Renders rows as an aligned text table with a header line.
std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

// 1234567890 -> "1.23456789 SOL" (exact, no floating point).
std::string format_sol(std::uint64_t lamports);

}  // namespace qtw::cli
