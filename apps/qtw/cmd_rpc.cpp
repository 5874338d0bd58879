// qtw airdrop, qtw account: small cluster helpers.
#include <CLI/CLI.hpp>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "qtw/rpc/rpc_client.h"
#include "qtw/rpc/transaction_sender.h"
#include "qtw/solana/types.h"

namespace qtw::cli {
namespace {

Result<std::unique_ptr<rpc::RpcClient>> connect(const GlobalOptions& global) {
  QTW_ASSIGN_OR_RETURN(auto config, load_effective_config(global));
  return rpc::RpcClient::connect(config.rpc.url);
}

}  // namespace

void register_rpc_commands(CLI::App& app, GlobalOptions& global) {
  struct Args {
    std::string pubkey;
    AmountArgs amount;
  };
  auto a = std::make_shared<Args>();
  auto* airdrop = app.add_subcommand("airdrop", "Request an airdrop (test clusters only) and wait for it");
  airdrop->add_option("pubkey", a->pubkey, "Recipient (base58)")->required();
  airdrop->add_option("lamports", a->amount.lamports, "Amount in lamports (or --sol)");
  airdrop->add_option("--sol", a->amount.sol, "Amount in SOL, e.g. 1.5 (at most 9 decimals)");
  airdrop->callback([a, &global] {
    auto to = solana::Pubkey::from_base58(a->pubkey);
    if (!to) return void(global.exit_code = report_error(to.error()));
    auto lamports = amount_lamports(a->amount);
    if (!lamports) return void(global.exit_code = report_error(lamports.error()));
    auto client = connect(global);
    if (!client) return void(global.exit_code = report_error(client.error()));
    auto sig = (*client)->request_airdrop(*to, *lamports);
    if (!sig) return void(global.exit_code = report_error(with_context(sig.error(), "requestAirdrop")));
    // Wait until the airdrop is confirmed so the next command sees the funds.
    rpc::TransactionSender sender(**client);
    auto latest = (*client)->get_latest_blockhash();
    if (!latest) return void(global.exit_code = report_error(latest.error()));
    auto outcome = sender.confirm_all(
        std::vector<rpc::PendingTransaction>{{{}, *sig, latest->last_valid_block_height}}, false);
    if (!outcome || (*outcome)[0].kind != rpc::TxOutcomeKind::kConfirmed) {
      return void(global.exit_code =
                      print_error("airdrop " + sig->to_base58() + " was not confirmed", 1));
    }
    std::cout << sig->to_base58() << "\n";
  });

  auto acct = std::make_shared<std::string>();
  auto* account = app.add_subcommand("account", "Show an account's lamports and owner");
  account->add_option("pubkey", *acct, "Account (base58)")->required();
  account->callback([acct, &global] {
    auto key = solana::Pubkey::from_base58(*acct);
    if (!key) return void(global.exit_code = report_error(key.error()));
    auto client = connect(global);
    if (!client) return void(global.exit_code = report_error(client.error()));
    auto info = (*client)->get_account_info(*key);
    if (!info) return void(global.exit_code = report_error(with_context(info.error(), "getAccountInfo")));
    const std::uint64_t lamports = *info ? (*info)->lamports : 0;
    const std::string owner = *info ? (*info)->owner.to_base58() : "";
    if (global.json) {
      std::cout << nlohmann::json{{"pubkey", key->to_base58()}, {"exists", info->has_value()},
                                  {"lamports", lamports}, {"owner", owner},
                                  {"data_len", *info ? (*info)->data.size() : 0}}
                       .dump()
                << "\n";
      return;
    }
    if (!*info) {
      std::cout << key->to_base58() << ": no account (0 lamports)\n";
      return;
    }
    std::cout << render_table({"pubkey", "lamports", "SOL", "owner", "data"},
                              {{key->to_base58(), std::to_string(lamports), format_sol(lamports), owner,
                                std::to_string((*info)->data.size()) + " bytes"}});
  });
}

}  // namespace qtw::cli
