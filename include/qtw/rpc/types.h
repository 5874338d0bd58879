#pragma once
// Typed results of the Solana JSON-RPC methods libqtw uses. Shapes follow the
// validator's JSON (agave rpc/src/rpc.rs, solana-com docs/rpc/http/*.mdx);
// where a field is JSON text (a TransactionError), it is kept verbatim as a
// compact JSON string so callers can log or match it without a JSON library.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qtw/solana/types.h"

namespace qtw::rpc {

// Bank commitment levels (solana-com docs/rpc/index.mdx "Configuring State
// Commitment"). Ordered: processed < confirmed < finalized.
enum class Commitment : std::uint8_t { kProcessed, kConfirmed, kFinalized };
[[nodiscard]] std::string_view commitment_name(Commitment c) noexcept;  // "confirmed"

struct VersionInfo {
  std::string solana_core;                   // "solana-core" field, e.g. "2.2.1"
  std::optional<std::uint64_t> feature_set;  // "feature-set"
};

struct LatestBlockhash {
  solana::Hash blockhash;
  // Last BLOCK HEIGHT (not slot) at which the blockhash is accepted. Compare
  // with get_block_height(), never with a slot (solana-facts §5).
  std::uint64_t last_valid_block_height = 0;
  std::uint64_t context_slot = 0;
};

struct AccountInfo {
  std::uint64_t lamports = 0;
  solana::Pubkey owner;
  std::vector<std::uint8_t> data;  // decoded from base64
  bool executable = false;
  std::uint64_t space = 0;  // data length as the node reports it
  bool operator==(const AccountInfo&) const = default;
};

// An account with its address (getProgramAccounts, getTokenAccountsByOwner).
struct KeyedAccount {
  solana::Pubkey pubkey;
  AccountInfo account;
  bool operator==(const KeyedAccount&) const = default;
};

struct SimulationResult {
  std::string err;  // TransactionError as JSON text; empty = success
  std::vector<std::string> logs;
  std::optional<std::uint64_t> units_consumed;
  std::optional<std::uint64_t> fee;  // lamports, when the node reports it
};

struct SignatureStatus {
  std::uint64_t slot = 0;
  std::optional<std::uint64_t> confirmations;  // null once rooted
  std::string err;                             // TransactionError JSON; empty = success
  // Absent in very old nodes; then derived: confirmations == null -> finalized.
  Commitment confirmation_status = Commitment::kProcessed;
};

struct SignatureInfo {  // one entry of getSignaturesForAddress
  solana::Signature signature;
  std::uint64_t slot = 0;
  std::string err;                         // TransactionError JSON; empty = success
  std::string memo;                        // empty if none
  std::optional<std::int64_t> block_time;  // unix seconds
  std::optional<Commitment> confirmation_status;
};

struct PrioritizationFee {
  std::uint64_t slot = 0;
  std::uint64_t micro_lamports_per_cu = 0;  // "prioritizationFee"
};

struct TransactionInfo {  // subset of getTransaction (json encoding)
  std::uint64_t slot = 0;
  std::optional<std::int64_t> block_time;
  std::uint64_t fee_lamports = 0;
  std::string err;  // TransactionError JSON; empty = success
  std::vector<std::uint64_t> pre_balances;
  std::vector<std::uint64_t> post_balances;
  std::vector<std::string> log_messages;
};

}  // namespace qtw::rpc
