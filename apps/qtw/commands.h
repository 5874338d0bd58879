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

struct GlobalOptions {
  std::string config_path = "qtw.toml";  // --config
  const CLI::Option* config_option = nullptr;  // set by main; counted to see if --config was given
  std::string store;                     // --store (overrides [store] path)
  std::string rpc_url;                   // --rpc-url (overrides [rpc] url)
  bool json = false;                     // --json
  int exit_code = 0;
};

void register_key_commands(CLI::App& app, GlobalOptions& global);       // keygen, pubkey
void register_transfer_commands(CLI::App& app, GlobalOptions& global);  // transfer
void register_rpc_commands(CLI::App& app, GlobalOptions& global);       // airdrop, account
void register_wallet_commands(CLI::App& app, GlobalOptions& global);    // init, keys, status, ...
void register_balancer_commands(CLI::App& app, GlobalOptions& global);  // balance, acquire, release, sweep
void register_service_commands(CLI::App& app, GlobalOptions& global);   // serve
void register_hodl_commands(CLI::App& app, GlobalOptions& global);      // hodl ..., banks add

}  // namespace qtw::cli
