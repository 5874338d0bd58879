#include "qtw/wallet/tx_plan.h"

#include <algorithm>
#include <string>
#include <unordered_set>

#include <map>

#include "qtw/solana/programs.h"
#include "qtw/solana/token.h"
#include "qtw/solana/transaction.h"

namespace qtw::wallet {
namespace {

using solana::Instruction;
using solana::Message;

void add_priority(std::vector<Instruction>& ixs, const PriorityFee& priority,
                  std::size_t payload_instructions) {
  if (!priority.enabled()) return;
  std::uint32_t limit = priority.cu_limit;
  if (limit == 0) {
    // Two compute-budget instructions plus the payload, 150 CU each.
    limit = static_cast<std::uint32_t>((payload_instructions + 2) * kComputeUnitsPerInstruction);
  }
  ixs.push_back(solana::compute_budget::set_compute_unit_limit(limit));
  ixs.push_back(solana::compute_budget::set_compute_unit_price(priority.cu_price_micro_lamports));
}

Result<Message> compile_checked(const solana::Pubkey& payer, const std::vector<Instruction>& ixs,
                                const solana::Hash& blockhash) {
  QTW_ASSIGN_OR_RETURN(Message msg, Message::compile(payer, ixs, blockhash));
  const auto tx = solana::Transaction::from_message(msg);
  const std::size_t size = tx.serialized_size();
  if (size > solana::kPacketDataSize) {
    return make_error(ErrorCode::kTooLarge, "transaction would be " + std::to_string(size) +
                                                " bytes, over the 1232-byte packet limit");
  }
  return msg;
}

}  // namespace

Result<Message> build_recovery_message(const solana::Pubkey& bank, std::span<const Drain> drains,
                                       std::uint64_t fee_lamports, const solana::Hash& blockhash,
                                       const PriorityFee& priority) {
  if (drains.empty()) return make_error(ErrorCode::kInvalidArgument, "no Explorers to recover");
  std::size_t payer = 0;
  std::unordered_set<solana::Pubkey> seen;
  seen.reserve(drains.size());
  for (std::size_t i = 0; i < drains.size(); ++i) {
    if (drains[i].lamports == 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        "Explorer " + drains[i].explorer.to_base58() + " holds 0 lamports");
    }
    if (drains[i].explorer == bank) {
      return make_error(ErrorCode::kInvalidArgument, "an Explorer cannot drain into itself");
    }
    // A repeated Explorer would transfer its balance twice: the transaction
    // fails on chain and the fee is still charged.
    if (!seen.insert(drains[i].explorer).second) {
      return make_error(ErrorCode::kInvalidArgument,
                        "Explorer " + drains[i].explorer.to_base58() + " is listed twice");
    }
    if (drains[i].lamports > drains[payer].lamports) payer = i;
  }
  if (drains[payer].lamports < fee_lamports) {
    return make_error(ErrorCode::kInsufficientFunds,
                      "richest Explorer holds " + std::to_string(drains[payer].lamports) +
                          " lamports, less than the fee of " + std::to_string(fee_lamports));
  }
  std::vector<Instruction> ixs;
  ixs.reserve(drains.size() + 2);
  add_priority(ixs, priority, drains.size());
  for (std::size_t i = 0; i < drains.size(); ++i) {
    // The fee is debited before execution, so the payer moves what remains
    // and ends at exactly 0 (a 0 < balance < rent-exempt remainder would be
    // rejected with InsufficientFundsForRent).
    const std::uint64_t amount = i == payer ? drains[i].lamports - fee_lamports : drains[i].lamports;
    ixs.push_back(solana::system_program::transfer(drains[i].explorer, bank, amount));
  }
  return compile_checked(drains[payer].explorer, ixs, blockhash);
}

Result<Message> build_funding_message(const solana::Pubkey& bank,
                                      std::span<const solana::Pubkey> recipients,
                                      std::uint64_t lamports_each, const solana::Hash& blockhash,
                                      const PriorityFee& priority) {
  if (recipients.empty()) return make_error(ErrorCode::kInvalidArgument, "no recipients");
  if (lamports_each == 0) return make_error(ErrorCode::kInvalidArgument, "funding amount is 0");
  std::vector<Instruction> ixs;
  ixs.reserve(recipients.size() + 2);
  add_priority(ixs, priority, recipients.size());
  std::unordered_set<solana::Pubkey> seen;
  seen.reserve(recipients.size());
  for (const auto& r : recipients) {
    if (r == bank) return make_error(ErrorCode::kInvalidArgument, "a Bank cannot fund itself");
    // A repeated recipient would be funded twice from one message.
    if (!seen.insert(r).second) {
      return make_error(ErrorCode::kInvalidArgument,
                        "recipient " + r.to_base58() + " is listed twice");
    }
    ixs.push_back(solana::system_program::transfer(bank, r, lamports_each));
  }
  return compile_checked(bank, ixs, blockhash);
}

Result<Message> build_transfer_message(const solana::Pubkey& from, const solana::Pubkey& to,
                                       std::uint64_t lamports, const solana::Hash& blockhash,
                                       const PriorityFee& priority) {
  const solana::Pubkey one[] = {to};
  return build_funding_message(from, one, lamports, blockhash, priority);
}

std::size_t max_drains_per_transaction(const PriorityFee& priority) {
  // Distinct synthetic keys; sizes depend only on counts, not values.
  solana::Pubkey bank;
  bank.bytes.fill(0xbb);
  std::vector<Drain> drains;
  std::size_t best = 0;
  for (std::size_t n = 1; n <= 64; ++n) {
    Drain d;
    d.explorer.bytes.fill(0);
    d.explorer.bytes[0] = static_cast<std::uint8_t>(n);
    d.explorer.bytes[1] = 1;
    d.lamports = 1'000'000;
    drains.push_back(d);
    if (!build_recovery_message(bank, drains, 5000, solana::Hash{}, priority)) break;
    best = n;
  }
  return best;
}

std::size_t max_recipients_per_transaction(const PriorityFee& priority) {
  solana::Pubkey bank;
  bank.bytes.fill(0xbb);
  std::vector<solana::Pubkey> recipients;
  std::size_t best = 0;
  for (std::size_t n = 1; n <= 128; ++n) {
    solana::Pubkey r;
    r.bytes[0] = static_cast<std::uint8_t>(n);
    r.bytes[1] = 2;
    recipients.push_back(r);
    if (!build_funding_message(bank, recipients, 1, solana::Hash{}, priority)) break;
    best = n;
  }
  return best;
}

namespace {

// Compute-budget instructions priced on `units` of payload (plus their own).
void add_priority_units(std::vector<Instruction>& ixs, const PriorityFee& priority,
                        std::uint64_t payload_units) {
  if (!priority.enabled()) return;
  std::uint64_t limit = priority.cu_limit;
  if (limit == 0) limit = payload_units + 2 * kComputeUnitsPerInstruction;
  limit = std::min<std::uint64_t>(limit, solana::compute_budget::kMaxComputeUnitLimit);
  ixs.push_back(solana::compute_budget::set_compute_unit_limit(static_cast<std::uint32_t>(limit)));
  ixs.push_back(solana::compute_budget::set_compute_unit_price(priority.cu_price_micro_lamports));
}

std::uint64_t fee_for(std::size_t signatures, const PriorityFee& priority,
                      std::uint64_t payload_units) {
  std::uint64_t fee = kLamportsPerSignature * signatures;
  if (priority.enabled()) {
    std::uint64_t limit = priority.cu_limit;
    if (limit == 0) limit = payload_units + 2 * kComputeUnitsPerInstruction;
    limit = std::min<std::uint64_t>(limit, solana::compute_budget::kMaxComputeUnitLimit);
    fee += solana::compute_budget::prioritization_fee_lamports(priority.cu_price_micro_lamports,
                                                               limit);
  }
  return fee;
}

bool fits(const Message& msg) {
  return solana::Transaction::from_message(msg).serialized_size() <= solana::kPacketDataSize;
}

// Builds one recovery transaction for `members` (index, tokens to include,
// whether to drain); nullopt-like kTooLarge when it does not fit.
class RecoveryBuilder {
 public:
  RecoveryBuilder(const solana::Pubkey& bank, std::span<const ExplorerRecovery> explorers,
                  const solana::Hash& blockhash, const PriorityFee& priority)
      : bank_(bank), explorers_(explorers), blockhash_(blockhash), priority_(priority) {}

  Result<RecoveryPlanTx> build(const std::vector<RecoveredShare>& shares) {
    std::uint64_t units = 0;
    bool any_partial = false;
    for (const auto& sh : shares) {
      const auto& e = explorers_[sh.index];
      for (std::size_t t = 0; t < sh.tokens_done; ++t) {
        if (e.tokens[t].amount > 0) units += kTokenTransferComputeUnits;
        units += kTokenCloseComputeUnits;
      }
      if (sh.complete) units += kComputeUnitsPerInstruction;
      any_partial = any_partial || !sh.complete;
    }
    // Who pays: the richest member that is drained here and holds the fee
    // (a nonce account only if nobody else can), else the Bank.
    std::uint64_t fee = fee_for(shares.size(), priority_, units);
    std::optional<std::size_t> payer;
    if (!any_partial) {
      for (int pass = 0; pass < 2 && !payer; ++pass) {
        for (std::size_t i = 0; i < shares.size(); ++i) {
          const auto& e = explorers_[shares[i].index];
          if (e.nonce_account != (pass == 1) || e.lamports < fee) continue;
          if (!payer || e.lamports > explorers_[shares[*payer].index].lamports) payer = i;
        }
      }
    }
    RecoveryPlanTx out;
    out.bank_signs = !payer;
    if (out.bank_signs) fee = fee_for(shares.size() + 1, priority_, units);
    out.fee_lamports = fee;
    std::vector<Instruction> ixs;
    add_priority_units(ixs, priority_, units);
    for (std::size_t i = 0; i < shares.size(); ++i) {
      RecoveredShare sh = shares[i];
      const auto& e = explorers_[sh.index];
      for (std::size_t t = 0; t < sh.tokens_done; ++t) {
        const auto& tok = e.tokens[t];
        if (tok.amount > 0) {
          QTW_ASSIGN_OR_RETURN(auto dest, bank_ata(tok.mint, tok.token_program));
          ixs.push_back(solana::token::transfer_checked(tok.token_program, tok.account, tok.mint,
                                                        dest, e.explorer, tok.amount,
                                                        tok.decimals));
        }
        ixs.push_back(solana::token::close_account(tok.token_program, tok.account, bank_, e.explorer));
      }
      if (sh.complete) {
        // The fee is debited before execution, so the payer moves what
        // remains and ends at exactly 0 like the others.
        const std::uint64_t amount = payer && *payer == i ? e.lamports - fee : e.lamports;
        sh.drained_lamports = amount;
        if (amount > 0) {
          ixs.push_back(e.nonce_account
                            ? solana::system_program::withdraw_nonce_account(e.explorer, bank_,
                                                                             e.explorer, amount)
                            : solana::system_program::transfer(e.explorer, bank_, amount));
        }
      }
      out.members.push_back(sh);
    }
    if (ixs.empty()) return make_error(ErrorCode::kInvalidArgument, "nothing to recover");
    // Every member signs even when it moves nothing (a 0-lamport Explorer
    // closing token accounts signs as their owner).
    const solana::Pubkey payer_key = payer ? explorers_[shares[*payer].index].explorer : bank_;
    QTW_ASSIGN_OR_RETURN(out.message, Message::compile(payer_key, ixs, blockhash_));
    if (!fits(out.message)) {
      return make_error(ErrorCode::kTooLarge, "recovery transaction over 1232 bytes");
    }
    return out;
  }

 private:
  Result<solana::Pubkey> bank_ata(const solana::Pubkey& mint, const solana::Pubkey& program) {
    auto key = std::make_pair(mint, program);
    auto it = atas_.find(key);
    if (it != atas_.end()) return it->second;
    QTW_ASSIGN_OR_RETURN(auto ata, solana::associated_token_address(bank_, mint, program));
    atas_.emplace(key, ata);
    return ata;
  }

  const solana::Pubkey& bank_;
  std::span<const ExplorerRecovery> explorers_;
  const solana::Hash& blockhash_;
  const PriorityFee& priority_;
  std::map<std::pair<solana::Pubkey, solana::Pubkey>, solana::Pubkey> atas_;
};

}  // namespace

Result<std::vector<RecoveryPlanTx>> plan_recovery(const solana::Pubkey& bank,
                                                  std::span<const ExplorerRecovery> explorers,
                                                  const solana::Hash& blockhash,
                                                  const PriorityFee& priority) {
  std::unordered_set<solana::Pubkey> seen;
  for (const auto& e : explorers) {
    if (e.explorer == bank) {
      return make_error(ErrorCode::kInvalidArgument, "an Explorer cannot recover into itself");
    }
    if (!seen.insert(e.explorer).second) {
      return make_error(ErrorCode::kInvalidArgument,
                        "Explorer " + e.explorer.to_base58() + " is listed twice");
    }
    if (e.lamports == 0 && e.tokens.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "Explorer " + e.explorer.to_base58() + " has nothing to recover");
    }
    for (const auto& t : e.tokens) {
      if (!solana::is_token_program(t.token_program)) {
        return make_error(ErrorCode::kInvalidArgument,
                          "token account " + t.account.to_base58() + " belongs to " +
                              t.token_program.to_base58() + ", not a token program");
      }
    }
  }
  RecoveryBuilder builder(bank, explorers, blockhash, priority);
  std::vector<RecoveryPlanTx> out;
  std::vector<RecoveredShare> group;
  std::optional<RecoveryPlanTx> built;
  auto flush = [&] {
    if (built) out.push_back(std::move(*built));
    built.reset();
    group.clear();
  };
  for (std::size_t i = 0; i < explorers.size(); ++i) {
    RecoveredShare whole{i, 0, explorers[i].tokens.size(), true};
    group.push_back(whole);
    auto attempt = builder.build(group);
    if (attempt) {
      built = std::move(*attempt);
      continue;
    }
    if (attempt.error().code != ErrorCode::kTooLarge) return tl::unexpected(attempt.error());
    group.pop_back();
    flush();
    group.push_back(whole);
    attempt = builder.build(group);
    if (attempt) {
      built = std::move(*attempt);
      continue;
    }
    if (attempt.error().code != ErrorCode::kTooLarge) return tl::unexpected(attempt.error());
    // Alone it does not fit: as many token accounts as fit, the rest (and
    // the drain) next cycle.
    std::optional<RecoveryPlanTx> partial;
    for (std::size_t n = whole.tokens_done; n-- > 1;) {
      group.back() = RecoveredShare{i, 0, n, false};
      auto p = builder.build(group);
      if (p) {
        partial = std::move(*p);
        break;
      }
      if (p.error().code != ErrorCode::kTooLarge) return tl::unexpected(p.error());
    }
    if (!partial) {
      return make_error(ErrorCode::kTooLarge, "one token account of Explorer " +
                                                  explorers[i].explorer.to_base58() +
                                                  " does not fit in a transaction");
    }
    built = std::move(partial);
    flush();
  }
  flush();
  return out;
}

Result<std::vector<AtaPlanTx>> plan_bank_atas(
    const solana::Pubkey& payer, const solana::Pubkey& owner,
    std::span<const std::pair<solana::Pubkey, solana::Pubkey>> mints, const solana::Hash& blockhash,
    const PriorityFee& priority) {
  std::vector<AtaPlanTx> out;
  std::vector<std::pair<solana::Pubkey, solana::Pubkey>> group;
  std::optional<AtaPlanTx> built;
  auto build = [&]() -> Result<AtaPlanTx> {
    std::vector<Instruction> ixs;
    add_priority_units(ixs, priority, group.size() * kAtaCreateComputeUnits);
    for (const auto& [mint, program] : group) {
      QTW_ASSIGN_OR_RETURN(auto ix,
                           solana::associated_token::create_idempotent(payer, owner, mint, program));
      ixs.push_back(std::move(ix));
    }
    AtaPlanTx tx;
    QTW_ASSIGN_OR_RETURN(tx.message, Message::compile(payer, ixs, blockhash));
    if (!fits(tx.message)) return make_error(ErrorCode::kTooLarge, "over 1232 bytes");
    tx.mints = group;
    tx.fee_lamports = fee_for(1, priority, group.size() * kAtaCreateComputeUnits);
    return tx;
  };
  for (const auto& m : mints) {
    group.push_back(m);
    auto attempt = build();
    if (attempt) {
      built = std::move(*attempt);
      continue;
    }
    if (attempt.error().code != ErrorCode::kTooLarge || group.size() == 1) {
      return tl::unexpected(attempt.error());
    }
    out.push_back(std::move(*built));
    group.assign(1, m);
    QTW_ASSIGN_OR_RETURN(auto one, build());
    built = std::move(one);
  }
  if (built) out.push_back(std::move(*built));
  return out;
}

std::uint64_t local_fee_lamports(const Message& message) {
  std::uint64_t price = 0;
  std::optional<std::uint64_t> limit;
  for (const auto& ix : message.instructions) {
    if (ix.program_id_index >= message.account_keys.size()) continue;
    if (message.account_keys[ix.program_id_index] != solana::compute_budget_program_id()) continue;
    if (ix.data.size() == 5 && ix.data[0] == 2) {
      std::uint64_t v = 0;
      for (int i = 0; i < 4; ++i) v |= std::uint64_t{ix.data[1 + i]} << (8 * i);
      limit = v;
    } else if (ix.data.size() == 9 && ix.data[0] == 3) {
      price = 0;
      for (int i = 0; i < 8; ++i) price |= std::uint64_t{ix.data[1 + i]} << (8 * i);
    }
  }
  std::uint64_t fee = kLamportsPerSignature * message.header.num_required_signatures;
  if (price > 0) {
    // Without an explicit limit the runtime's default applies; our
    // messages always set one.
    fee += solana::compute_budget::prioritization_fee_lamports(price, limit.value_or(200'000));
  }
  return fee;
}

std::vector<std::size_t> even_chunks(std::size_t count, std::size_t max_per_chunk) {
  std::vector<std::size_t> out;
  if (count == 0 || max_per_chunk == 0) return out;
  const std::size_t chunks = (count + max_per_chunk - 1) / max_per_chunk;
  const std::size_t base = count / chunks;
  std::size_t extra = count % chunks;
  for (std::size_t i = 0; i < chunks; ++i) {
    std::size_t n = base;
    if (extra > 0) {
      ++n;
      --extra;
    }
    out.push_back(n);
  }
  return out;
}

}  // namespace qtw::wallet
