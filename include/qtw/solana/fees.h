#pragma once
// The transaction fee computed locally, by the rule a validator applies
// (agave fee/src/lib.rs calculate_fee_details, compute-budget
// compute_budget_limits.rs get_prioritization_fee):
//
//   fee = lamports_per_signature x (transaction signatures + precompile
//         signatures) + ceil(cu_price x cu_limit / 1,000,000)
//
// where cu_limit is the SetComputeUnitLimit value, or, without one, 3,000
// per builtin instruction + 200,000 per other instruction, capped at
// 1,400,000. A wallet that knows its messages needs no getFeeForMessage
// round trip per transaction; the rule lives here and nowhere else.
//
// When the rule cannot be applied with certainty (a priced message with no
// explicit limit that calls a program whose builtin status depends on the
// cluster's feature set), the function says so (kUnavailable) and the
// caller asks the node instead.
//
// Thread safety: pure functions.
#include <cstdint>

#include "qtw/result.h"
#include "qtw/solana/message.h"

namespace qtw::solana {

// FeeStructure::default() (solana-sdk fee-structure): 5,000 lamports.
inline constexpr std::uint64_t kDefaultLamportsPerSignature = 5'000;
// Default compute-unit limits without SetComputeUnitLimit (agave
// execution_budget.rs).
inline constexpr std::uint64_t kBuiltinInstructionComputeUnits = 3'000;
inline constexpr std::uint64_t kDefaultInstructionComputeUnits = 200'000;

struct FeeRules {
  // Lamports per signature. Default 5,000 (every cluster today).
  std::uint64_t lamports_per_signature = kDefaultLamportsPerSignature;
};

struct FeeDetails {
  std::uint64_t signatures = 0;            // transaction + precompile signatures
  std::uint64_t signature_fee_lamports = 0;
  std::uint64_t cu_price_micro_lamports = 0;
  std::uint64_t cu_limit = 0;              // the limit the priority fee is charged on
  std::uint64_t prioritization_fee_lamports = 0;
  std::uint64_t total_lamports = 0;        // what the fee payer is charged (saturating)
};

// Fee of a legacy message (a v0 message's fee depends only on the same
// fields, so a caller with a v0 message builds the same header/instructions).
// Errors: kUnavailable when the rule cannot be applied locally (see above);
// kInvalidArgument for a malformed Compute Budget instruction (the node
// would reject the transaction) or a program index out of range.
[[nodiscard]] Result<FeeDetails> fee_details(const Message& message, const FeeRules& rules = {});
[[nodiscard]] Result<std::uint64_t> fee_lamports(const Message& message,
                                                 const FeeRules& rules = {});

}  // namespace qtw::solana
