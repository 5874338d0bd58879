// qtw keygen, qtw pubkey.
#include <CLI/CLI.hpp>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "qtw/solana/keypair_file.h"

namespace qtw::cli {

void register_key_commands(CLI::App& app, GlobalOptions& global) {
  struct KeygenArgs {
    std::string outfile;
    bool force = false;
  };
  auto args = std::make_shared<KeygenArgs>();
  auto* keygen = app.add_subcommand(
      "keygen", "Generate a new keypair file (Solana CLI format, mode 0600) and print its pubkey");
  keygen->add_option("--outfile,-o", args->outfile, "Where to write the keypair")->required();
  keygen->add_flag("--force", args->force, "Overwrite an existing file (its key is lost)");
  keygen->callback([args, &global] {
    const auto kp = solana::Keypair::generate();
    if (auto st = solana::write_keypair_file(args->outfile, kp, args->force); !st) {
      global.exit_code = report_error(st.error());
      return;
    }
    if (global.json) {
      std::cout << nlohmann::json{{"pubkey", kp.pubkey().to_base58()}, {"outfile", args->outfile}}.dump() << "\n";
    } else {
      std::cout << kp.pubkey().to_base58() << "\n";
    }
  });

  struct PubkeyArgs {
    std::string file;
    bool allow_insecure = false;
  };
  auto pargs = std::make_shared<PubkeyArgs>();
  auto* pubkey = app.add_subcommand("pubkey", "Print the base58 pubkey of a keypair file");
  pubkey->add_option("keypair-file", pargs->file, "Solana CLI keypair file")->required();
  pubkey->add_flag("--allow-insecure-keypair-file", pargs->allow_insecure,
                   "Read the file even if group/others can read it");
  pubkey->callback([pargs, &global] {
    solana::KeypairFileOptions opts;
    opts.allow_insecure_permissions = pargs->allow_insecure;
    auto kp = solana::read_keypair_file(pargs->file, opts);
    if (!kp) {
      global.exit_code = report_error(kp.error());
      return;
    }
    if (global.json) {
      std::cout << nlohmann::json{{"pubkey", kp->pubkey().to_base58()}}.dump() << "\n";
    } else {
      std::cout << kp->pubkey().to_base58() << "\n";
    }
  });
}

}  // namespace qtw::cli
