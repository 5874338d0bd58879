#pragma once
// The qtw CLI: each command group registers its subcommands here. A command
// callback records its exit code in GlobalOptions::exit_code (0 success, 1
// operational failure, 2 bad usage or input).
#include <string>

namespace CLI {
class App;
class Option;
}

namespace qtw::cli {

// Options accepted before or after any command (main.cpp adds them to every
// registered subcommand). Environment: QTW_CONFIG, QTW_STORE, QTW_RPC_URL.
struct GlobalOptions {
  std::string config_path;  // --config / QTW_CONFIG; "" = look up (cli_util.h)
  std::string store;        // --store / QTW_STORE (overrides [store] path)
  std::string rpc_url;      // --rpc-url, -u/--url / QTW_RPC_URL (overrides [rpc] url)
  bool json = false;        // --json or -o/--output json
  bool yes = false;         // set by commands whose --yes skips confirmations
  int exit_code = 0;
};

void register_key_commands(CLI::App& app, GlobalOptions& global);       // keygen, pubkey
void register_transfer_commands(CLI::App& app, GlobalOptions& global);  // transfer
void register_rpc_commands(CLI::App& app, GlobalOptions& global);       // airdrop, account
void register_wallet_commands(CLI::App& app, GlobalOptions& global);    // init, keys, rescue, ...
void register_balancer_commands(CLI::App& app, GlobalOptions& global);  // status, balance, acquire, release, sweep, resume
void register_service_commands(CLI::App& app, GlobalOptions& global);   // serve
void register_data_commands(CLI::App& app, GlobalOptions& global);      // audit, backup
void register_hodl_commands(CLI::App& app, GlobalOptions& global);      // hodl ..., banks add

}  // namespace qtw::cli
