// qtw transfer: build, sign and either print (--sign-only) or send and confirm.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli_util.h"
#include "commands.h"
#include "qtw/rpc/rpc_client.h"
#include "qtw/rpc/transaction_sender.h"
#include "qtw/solana/encoding.h"
#include "qtw/solana/keypair_file.h"
#include "qtw/solana/programs.h"
#include "qtw/solana/transaction.h"

namespace qtw::cli {
namespace {

struct TransferArgs {
  std::string from;
  std::string to;
  AmountArgs amount;
  std::string fee_payer;
  std::optional<std::uint64_t> cu_price;
  std::optional<std::uint32_t> cu_limit;
  std::string blockhash;
  bool sign_only = false;
  bool allow_insecure = false;
};

int run_transfer(const TransferArgs& a, const GlobalOptions& global) {
  auto to = solana::Pubkey::from_base58(a.to);
  if (!to) return report_error(with_context(to.error(), "--to"));
  auto lamports = amount_lamports(a.amount);
  if (!lamports) return report_error(lamports.error());
  if (a.cu_limit && (*a.cu_limit == 0 || *a.cu_limit > solana::compute_budget::kMaxComputeUnitLimit)) {
    return usage_error("--cu-limit must be 1..1400000");
  }
  if (a.sign_only && a.blockhash.empty()) {
    return usage_error("--sign-only needs --blockhash (a recent blockhash from the cluster)");
  }
  solana::KeypairFileOptions file_opts;
  file_opts.allow_insecure_permissions = a.allow_insecure;
  auto from = solana::read_keypair_file(a.from, file_opts);
  if (!from) return report_error(with_context(from.error(), "--from"));
  std::optional<solana::Keypair> payer;
  if (!a.fee_payer.empty()) {
    auto p = solana::read_keypair_file(a.fee_payer, file_opts);
    if (!p) return report_error(with_context(p.error(), "--fee-payer"));
    payer = std::move(*p);
  }
  const solana::Pubkey fee_payer = payer ? payer->pubkey() : from->pubkey();

  std::vector<solana::Instruction> ixs;
  if (a.cu_limit) ixs.push_back(solana::compute_budget::set_compute_unit_limit(*a.cu_limit));
  if (a.cu_price) ixs.push_back(solana::compute_budget::set_compute_unit_price(*a.cu_price));
  ixs.push_back(solana::system_program::transfer(from->pubkey(), *to, *lamports));

  std::unique_ptr<rpc::RpcClient> client;
  solana::Hash blockhash;
  std::uint64_t last_valid_block_height = 0;
  if (!a.blockhash.empty()) {
    auto h = solana::Hash::from_base58(a.blockhash);
    if (!h) return report_error(with_context(h.error(), "--blockhash"));
    blockhash = *h;
  }
  if (!a.sign_only) {
    auto config = load_effective_config(global);
    if (!config) return report_error(config.error());
    auto c = rpc::RpcClient::connect(config->rpc.url);
    if (!c) return report_error(c.error());
    client = std::move(*c);
    auto latest = client->get_latest_blockhash();
    if (!latest) return report_error(with_context(latest.error(), "getLatestBlockhash at " + config->rpc.url));
    if (a.blockhash.empty()) blockhash = latest->blockhash;
    last_valid_block_height = latest->last_valid_block_height;
  }

  auto msg = solana::Message::compile(fee_payer, ixs, blockhash);
  if (!msg) return report_error(msg.error());
  auto tx = solana::Transaction::from_message(std::move(*msg));
  std::vector<const solana::Keypair*> signers{&*from};
  if (payer && payer->pubkey() != from->pubkey()) signers.push_back(&*payer);
  if (auto st = tx.sign(signers); !st) return report_error(st.error());
  auto wire = tx.serialize();
  if (!wire) return report_error(wire.error());

  if (a.sign_only) {
    std::cout << solana::base64_encode(*wire) << "\n";
    return 0;
  }
  rpc::TransactionSender sender(*client);
  auto outcome = sender.send_and_confirm({*wire, tx.id(), last_valid_block_height});
  if (!outcome) return report_error(outcome.error());
  const auto& o = *outcome;
  if (global.json) {
    std::cout << nlohmann::json{{"signature", tx.id().to_base58()},
                                {"outcome", std::string(rpc::tx_outcome_name(o.kind))},
                                {"slot", o.slot},
                                {"error", o.err}}
                     .dump()
              << "\n";
  } else if (o.kind == rpc::TxOutcomeKind::kConfirmed || o.kind == rpc::TxOutcomeKind::kFinalized) {
    std::cout << tx.id().to_base58() << "\n";
  }
  switch (o.kind) {
    case rpc::TxOutcomeKind::kConfirmed:
    case rpc::TxOutcomeKind::kFinalized:
      return 0;
    case rpc::TxOutcomeKind::kFailed:
    {
      std::string what = "transaction " + tx.id().to_base58() + " failed: " + o.err;
      for (const auto& l : o.logs) what += "\n  " + l;
      return print_error(what, 1);
    }
    case rpc::TxOutcomeKind::kExpired:
      return print_error("transaction " + tx.id().to_base58() +
                             " expired without landing (blockhash too old); nothing was spent, "
                             "retry",
                         1);
    case rpc::TxOutcomeKind::kUnknown:
      return print_error("outcome of " + tx.id().to_base58() + " unknown (" + o.last_error +
                             "); check it before retrying: it may still land",
                         1);
  }
  return 1;
}

}  // namespace

void register_transfer_commands(CLI::App& app, GlobalOptions& global) {
  auto a = std::make_shared<TransferArgs>();
  auto* cmd = app.add_subcommand(
      "transfer",
      "Transfer lamports: build, sign, send and confirm; prints the signature.\n"
      "With --sign-only --blockhash B it prints the base64 wire transaction and sends nothing.");
  cmd->add_option("--from", a->from, "Keypair file of the sender")->required();
  cmd->add_option("--to", a->to, "Recipient pubkey (base58)")->required();
  cmd->add_option("--lamports", a->amount.lamports, "Amount in lamports (1 SOL = 1000000000)");
  cmd->add_option("--sol", a->amount.sol, "Amount in SOL, e.g. 1.5 (at most 9 decimals)");
  cmd->add_option("--fee-payer", a->fee_payer, "Keypair file paying the fee (default: --from)");
  cmd->add_option("--cu-price", a->cu_price, "Priority fee: SetComputeUnitPrice in micro-lamports per CU");
  cmd->add_option("--cu-limit", a->cu_limit, "SetComputeUnitLimit (1..1400000)");
  cmd->add_option("--blockhash", a->blockhash, "Recent blockhash to sign with (required with --sign-only)");
  cmd->add_flag("--sign-only", a->sign_only, "Print the signed base64 transaction; do not send");
  cmd->add_flag("--allow-insecure-keypair-file", a->allow_insecure,
                "Read keypair files even if group/others can read them");
  cmd->callback([a, &global] { global.exit_code = run_transfer(*a, global); });
}

}  // namespace qtw::cli
