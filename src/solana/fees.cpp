#include "qtw/solana/fees.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include "qtw/solana/programs.h"

namespace qtw::solana {
namespace {

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max()
                                                           : a + b;
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) {
    return std::numeric_limits<std::uint64_t>::max();
  }
  return a * b;
}

// Precompiles: the first data byte is the number of signatures they verify
// (agave fee/src/lib.rs counts them with the transaction's own).
const Pubkey& ed25519_program() {
  static const Pubkey id = *Pubkey::from_base58("Ed25519SigVerify111111111111111111111111111");
  return id;
}
const Pubkey& secp256k1_program() {
  static const Pubkey id = *Pubkey::from_base58("KeccakSecp256k11111111111111111111111111111");
  return id;
}
const Pubkey& secp256r1_program() {
  static const Pubkey id = *Pubkey::from_base58("Secp256r1SigVerify1111111111111111111111111");
  return id;
}

std::uint32_t read_u32_le(const std::vector<std::uint8_t>& d) {
  return static_cast<std::uint32_t>(d[1]) | static_cast<std::uint32_t>(d[2]) << 8 |
         static_cast<std::uint32_t>(d[3]) << 16 | static_cast<std::uint32_t>(d[4]) << 24;
}

std::uint64_t read_u64_le(const std::vector<std::uint8_t>& d) {
  std::uint64_t v = 0;
  for (int i = 8; i >= 1; --i) v = v << 8 | d[static_cast<std::size_t>(i)];
  return v;
}

}  // namespace

Result<FeeDetails> fee_details(const Message& message, const FeeRules& rules) {
  FeeDetails out;
  out.signatures = message.header.num_required_signatures;
  std::optional<std::uint64_t> limit;
  bool have_price = false;
  std::uint64_t builtin = 0;
  std::uint64_t other = 0;
  bool unknown_program = false;
  for (std::size_t i = 0; i < message.instructions.size(); ++i) {
    const auto& ix = message.instructions[i];
    if (ix.program_id_index >= message.account_keys.size()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "instruction " + std::to_string(i) + " names program index " +
                            std::to_string(ix.program_id_index) + " beyond the account keys");
    }
    const Pubkey& program = message.account_keys[ix.program_id_index];
    if (program == compute_budget_program_id()) {
      ++builtin;
      const std::uint8_t tag = ix.data.empty() ? 0 : ix.data[0];
      if (tag == 2) {
        if (ix.data.size() != 5 || limit) {
          return make_error(ErrorCode::kInvalidArgument,
                            "instruction " + std::to_string(i) +
                                ": malformed or duplicate SetComputeUnitLimit");
        }
        limit = read_u32_le(ix.data);
      } else if (tag == 3) {
        if (ix.data.size() != 9 || have_price) {
          return make_error(ErrorCode::kInvalidArgument,
                            "instruction " + std::to_string(i) +
                                ": malformed or duplicate SetComputeUnitPrice");
        }
        have_price = true;
        out.cu_price_micro_lamports = read_u64_le(ix.data);
      }
    } else if (program == system_program_id()) {
      ++builtin;
    } else if (program == ed25519_program() || program == secp256k1_program() ||
               program == secp256r1_program()) {
      ++builtin;
      if (!ix.data.empty()) out.signatures += ix.data[0];
    } else {
      // Which other programs count as builtin depends on the cluster's
      // migration features: only an explicit limit makes the fee certain.
      ++other;
      unknown_program = true;
    }
  }
  if (limit) {
    out.cu_limit = std::min<std::uint64_t>(*limit, compute_budget::kMaxComputeUnitLimit);
  } else {
    if (unknown_program && out.cu_price_micro_lamports > 0) {
      return make_error(ErrorCode::kUnavailable,
                        "priced message without SetComputeUnitLimit calls a program outside "
                        "System/Compute Budget: its default limit depends on the cluster; ask "
                        "the node (getFeeForMessage)");
    }
    out.cu_limit = std::min<std::uint64_t>(
        saturating_add(saturating_mul(builtin, kBuiltinInstructionComputeUnits),
                       saturating_mul(other, kDefaultInstructionComputeUnits)),
        compute_budget::kMaxComputeUnitLimit);
  }
  out.signature_fee_lamports = saturating_mul(out.signatures, rules.lamports_per_signature);
  out.prioritization_fee_lamports =
      compute_budget::prioritization_fee_lamports(out.cu_price_micro_lamports, out.cu_limit);
  out.total_lamports = saturating_add(out.signature_fee_lamports, out.prioritization_fee_lamports);
  return out;
}

Result<std::uint64_t> fee_lamports(const Message& message, const FeeRules& rules) {
  QTW_ASSIGN_OR_RETURN(auto d, fee_details(message, rules));
  return d.total_lamports;
}

}  // namespace qtw::solana
