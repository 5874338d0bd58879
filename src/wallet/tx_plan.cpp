#include "qtw/wallet/tx_plan.h"

#include <algorithm>
#include <string>
#include <unordered_set>

#include "qtw/solana/programs.h"
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
