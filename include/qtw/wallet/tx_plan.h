#pragma once
// Pure transaction packing for the balancer (docs/ARCHITECTURE.md, The balancer cycle). No I/O: given keys,
// balances and the fee the node quoted, build the exact messages to sign.
// Thread safety: free functions, no shared state.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "qtw/result.h"
#include "qtw/solana/message.h"
#include "qtw/solana/types.h"

namespace qtw::wallet {

// Priority-fee settings applied to funding and recovery transactions.
struct PriorityFee {
  // SetComputeUnitPrice in micro-lamports per CU; 0 = no compute-budget
  // instructions at all (cheapest when the network is quiet). Default 0.
  std::uint64_t cu_price_micro_lamports = 0;
  // SetComputeUnitLimit; 0 = computed as kComputeUnitsPerInstruction times
  // the instruction count (tight, so the priority fee is not paid on unused
  // units). Default 0.
  std::uint32_t cu_limit = 0;
  [[nodiscard]] bool enabled() const noexcept { return cu_price_micro_lamports > 0; }
};

// Builtin System and Compute Budget instructions each consume 150 CU
// (agave programs/system DEFAULT_COMPUTE_UNITS; compute-budget the same).
inline constexpr std::uint32_t kComputeUnitsPerInstruction = 150;

// One Explorer to drain: its address and its confirmed balance.
struct Drain {
  solana::Pubkey explorer;
  std::uint64_t lamports = 0;
};

// Recovery: several Explorers drain to 0 into one Bank in one transaction;
// every Explorer signs; the richest pays the whole fee (docs/ARCHITECTURE.md, balancer cycle step 2).
// `fee_lamports` is the node's quote for this exact message shape
// (getFeeForMessage); the fee payer transfers balance - fee, the others
// transfer their whole balance. Errors: kInvalidArgument when empty, when a
// balance is 0, when an Explorer is the Bank or is listed twice;
// kInsufficientFunds when the fee payer cannot cover the fee; kTooLarge when
// the message would not fit in 1,232 bytes.
[[nodiscard]] Result<solana::Message> build_recovery_message(const solana::Pubkey& bank,
                                                             std::span<const Drain> drains,
                                                             std::uint64_t fee_lamports,
                                                             const solana::Hash& blockhash,
                                                             const PriorityFee& priority = {});

// Funding: one Bank pays `lamports_each` to each of `recipients` in one
// transaction (one signature, one fee). kInvalidArgument when empty, when
// lamports_each is 0, or when a recipient is the Bank or is listed twice;
// kTooLarge if it would not fit.
[[nodiscard]] Result<solana::Message> build_funding_message(
    const solana::Pubkey& bank, std::span<const solana::Pubkey> recipients,
    std::uint64_t lamports_each, const solana::Hash& blockhash, const PriorityFee& priority = {});

// A plain transfer (HODL -> Bank top-up, sweeps).
[[nodiscard]] Result<solana::Message> build_transfer_message(const solana::Pubkey& from,
                                                             const solana::Pubkey& to,
                                                             std::uint64_t lamports,
                                                             const solana::Hash& blockhash,
                                                             const PriorityFee& priority = {});

// The largest number of Explorers whose drains fit in one recovery
// transaction, and of recipients in one funding transaction, under the
// 1,232-byte packet limit (computed by compiling real messages: about 9 and
// 20 with compute-budget instructions, 10 and 21 without).
[[nodiscard]] std::size_t max_drains_per_transaction(const PriorityFee& priority = {});
[[nodiscard]] std::size_t max_recipients_per_transaction(const PriorityFee& priority = {});

// Splits `count` items into chunks of at most `max_per_chunk`, as evenly as
// possible (so 50 into 9s gives 6 chunks of 8-9, not 5x9+5). Returns sizes.
[[nodiscard]] std::vector<std::size_t> even_chunks(std::size_t count, std::size_t max_per_chunk);

}  // namespace qtw::wallet
