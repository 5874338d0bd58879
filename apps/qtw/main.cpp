// qtw: the qtrade-wallets CLI and daemon. Parses flags and the config file
// into options structs and calls libqtw; all logic lives in the library.
#include <CLI/CLI.hpp>

#include <iostream>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cli_util.h"
#include "commands.h"
#include "app_setup.h"
#include "qtw/vault/core_dumps.h"

int main(int argc, char** argv) {
  using qtw::cli::GlobalOptions;
  // Most commands unseal the master seed or a HODL key, or read the token:
  // no core file, no same-user ptrace, for every one (docs/KEYS.md).
  if (auto s = qtw::vault::disable_core_dumps(); !s) {
    std::cerr << "qtw: warning: " << s.error().message << "\n";
  }
  // The library's log lines (a stranded Explorer, a split recovery batch)
  // go to stderr: stdout carries only the command's output (--json).
  spdlog::set_default_logger(spdlog::stderr_logger_mt("qtw-cli"));
  CLI::App app{
      "qtw: three-tier Solana key management (HODL -> Bank -> single-use Explorer).\n"
      "Exit codes: 0 success, 1 operational failure, 2 bad usage or input (or a request the "
      "wallet refuses), 130 interrupted."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  app.set_version_flag("--version,-V", qtw::cli::version_string(), "Print the version and exit");
  GlobalOptions global;
  qtw::cli::bind_global_options(&global);

  qtw::cli::register_key_commands(app, global);
  qtw::cli::register_transfer_commands(app, global);
  qtw::cli::register_rpc_commands(app, global);
  qtw::cli::register_wallet_commands(app, global);
  qtw::cli::register_balancer_commands(app, global);
  qtw::cli::register_service_commands(app, global);
  qtw::cli::register_data_commands(app, global);
  qtw::cli::register_hodl_commands(app, global);
  qtw::cli::register_completion_command(app, global);
  // Last: every command registered above (and any added later) accepts the
  // global options before or after its name, and lists them in --help.
  qtw::cli::add_global_options_everywhere(app, global);

  if (auto unknown = qtw::cli::check_command_names(app, argc, argv); unknown) {
    global.json = qtw::cli::json_requested(argc, argv);
    return qtw::cli::usage_error(*unknown);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    global.json = global.json || qtw::cli::json_requested(argc, argv);
    return qtw::cli::usage_error(std::string(e.what()) +
                                 " (run `qtw --help` or `qtw <command> --help`)");
  }
  return global.exit_code;
}
