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

// ---- Recovery with tokens (issue 13): the pure planner ----

// The protocol fee per signature (solana-sdk fee_calculator
// DEFAULT_TARGET_LAMPORTS_PER_SIGNATURE; what getFeeForMessage charges).
inline constexpr std::uint64_t kLamportsPerSignature = 5'000;
// Compute units budgeted per instruction when a priority fee is set (the
// limit is priced, so it is kept near what the programs use on the
// runtime: SPL Token ~4-6k, Token-2022 up to ~10k per transfer).
inline constexpr std::uint32_t kTokenTransferComputeUnits = 15'000;
inline constexpr std::uint32_t kTokenCloseComputeUnits = 10'000;
inline constexpr std::uint32_t kAtaCreateComputeUnits = 40'000;

// One token account an Explorer owns that recovery can empty and close.
struct TokenRecovery {
  solana::Pubkey account;
  solana::Pubkey mint;
  solana::Pubkey token_program;
  // Base units moved to the Bank's associated token account for `mint`
  // (TransferChecked) before the close; 0 = close only. Always 0 for
  // wrapped SOL, whose close carries the value as lamports.
  std::uint64_t amount = 0;
  std::uint8_t decimals = 0;
  // Every lamport of the account (rent, plus wrapped SOL), which the close
  // sends to the Bank.
  std::uint64_t lamports = 0;
};

// One used Explorer to recover into its funding Bank.
struct ExplorerRecovery {
  solana::Pubkey explorer;
  // Its own balance, drained to 0 (System transfer, or WithdrawNonceAccount
  // when it is a nonce account whose authority is itself).
  std::uint64_t lamports = 0;
  bool nonce_account = false;
  std::vector<TokenRecovery> tokens;
};

// What one member of a planned transaction recovers.
struct RecoveredShare {
  std::size_t index = 0;            // into the planner's input
  std::uint64_t drained_lamports = 0;  // moved from the Explorer itself (after the fee it paid)
  std::size_t tokens_done = 0;      // tokens[0, tokens_done) are moved and closed here
  // False when its token accounts did not all fit in one transaction: the
  // rest are left for the next cycle and the Explorer is not drained yet.
  bool complete = true;
};

struct RecoveryPlanTx {
  std::vector<RecoveredShare> members;
  solana::Message message;     // ready to sign: every member, and the Bank if bank_signs
  std::uint64_t fee_lamports = 0;
  bool bank_signs = false;     // no member could pay the fee: the Bank pays it
};

// Packs Explorers that all recover into `bank` into as few transactions as
// fit in 1,232 bytes, in input order, each Explorer in exactly one
// transaction (it signs once). Per member: TransferChecked of each token
// balance to the Bank's associated token account for the mint (which must
// exist: created beforehand by the Bank), CloseAccount of each token
// account with its lamports to the Bank, then its own lamports to the Bank.
// The member with the most lamports pays the fee (signatures x 5,000 +
// the priority fee) and ends at 0 like the others; the Bank pays only when
// no member holds the fee. An Explorer whose token accounts do not fit in
// one transaction on their own recovers as many as fit (complete = false).
// Errors: kInvalidArgument for an Explorer listed twice, one that is the
// Bank, one with nothing to recover, or a token account of a program that
// is not a token program.
[[nodiscard]] Result<std::vector<RecoveryPlanTx>> plan_recovery(
    const solana::Pubkey& bank, std::span<const ExplorerRecovery> explorers,
    const solana::Hash& blockhash, const PriorityFee& priority = {});

// The Bank creates its own associated token accounts (idempotent), one per
// (mint, program), paying their rent: as few transactions as fit. Returns
// the messages (the Bank is the only signer) and, per message, the mints it
// covers. kInvalidArgument when a program is not a token program.
struct AtaPlanTx {
  solana::Message message;
  std::vector<std::pair<solana::Pubkey, solana::Pubkey>> mints;  // (mint, token program)
  std::uint64_t fee_lamports = 0;
};
[[nodiscard]] Result<std::vector<AtaPlanTx>> plan_bank_atas(
    const solana::Pubkey& payer, const solana::Pubkey& owner,
    std::span<const std::pair<solana::Pubkey, solana::Pubkey>> mints, const solana::Hash& blockhash,
    const PriorityFee& priority = {});

// The fee a message of this shape is charged: signatures x 5,000 plus
// ceil(price x limit / 1e6) of its compute-budget instructions.
[[nodiscard]] std::uint64_t local_fee_lamports(const solana::Message& message);

// Splits `count` items into chunks of at most `max_per_chunk`, as evenly as
// possible (so 50 into 9s gives 6 chunks of 8-9, not 5x9+5). Returns sizes.
[[nodiscard]] std::vector<std::size_t> even_chunks(std::size_t count, std::size_t max_per_chunk);

}  // namespace qtw::wallet
