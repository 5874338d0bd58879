// qtw: the qtrade-wallets CLI and daemon. Parses flags and the config file
// into options structs and calls libqtw; all logic lives in the library.
#include <CLI/CLI.hpp>

#include <iostream>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "commands.h"

int main(int argc, char** argv) {
  using qtw::cli::GlobalOptions;
  // The library's log lines (a stranded Explorer, a split recovery batch)
  // go to stderr: stdout carries only the command's output (--json).
  spdlog::set_default_logger(spdlog::stderr_logger_mt("qtw-cli"));
  CLI::App app{
      "qtw: three-tier Solana key management (HODL -> Bank -> single-use Explorer).\n"
      "Exit codes: 0 success, 1 operational failure, 2 bad usage or input."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  GlobalOptions global;
  auto* config = app.add_option("--config", global.config_path,
                                "TOML config file (default qtw.toml; must exist when given)");
  global.config_option = config;
  app.add_option("--store", global.store, "Store: a SQLite file path or postgresql://... URI");
  app.add_option("--rpc-url", global.rpc_url, "Solana JSON-RPC URL (default http://127.0.0.1:8899)");
  app.add_flag("--json", global.json, "Machine-readable JSON output");

  qtw::cli::register_key_commands(app, global);
  qtw::cli::register_transfer_commands(app, global);
  qtw::cli::register_rpc_commands(app, global);
  qtw::cli::register_wallet_commands(app, global);
  qtw::cli::register_balancer_commands(app, global);
  qtw::cli::register_service_commands(app, global);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "qtw: error: " << e.what() << "\n(run `qtw --help` or `qtw <command> --help`)\n";
    return 2;
  }
  return global.exit_code;
}
