#pragma once
// The signing policy (I8): what a leased Explorer may sign. A Lander may spend
// its Explorer's budget on any trade; it may not make the Explorer
// unrecoverable, hand its accounts to someone else, outlive its lease with a
// durable transaction, or borrow another managed key. Deny by default for
// every role listed below; everything else is signed.
//
// check_signing_policy is a pure function: no I/O, no clock, no allocation
// beyond the result. It looks at every top-level instruction of a decoded
// (legacy or v0) message for the role the Explorer plays in it.
//
// Rules (name, what it refuses; each has a switch in SigningPolicy):
//   malformed_instruction   data of a known program that does not decode
//   managed_signer          a Bank, HODL key or another Explorer among the signers
//   program_denied          a program in denied_programs
//   program_not_allowed     a program outside allowed_programs (when not empty)
//   durable_nonce           first instruction AdvanceNonceAccount
//   system_assign           Assign / AssignWithSeed of the Explorer
//   system_allocate         Allocate / AllocateWithSeed of the Explorer
//   system_create_explorer  CreateAccount(WithSeed) whose new account is the Explorer
//   system_nonce            a nonce instruction with the Explorer as nonce
//                           account or authority (accounts or data)
//   system_fund_nonce       InitializeNonceAccount anywhere; the Explorer funding
//                           a System-owned account with data (a nonce account)
//   token_set_authority     SPL Token / Token-2022 SetAuthority by the Explorer
//   token_approve           Approve / ApproveChecked by the Explorer
//   token_close_to_other    CloseAccount by the Explorer to another destination
//   loader_authority        upgradeable loader or loader v4 with the Explorer as
//                           (current or new) authority
//   lookup_table_authority  address lookup table with the Explorer as authority
//   max_priority_fee        ceil(cu_price * cu_limit / 1e6) above the cap
//   max_outflow             lamports leaving the Explorer above the cap
//
// Accounts loaded from lookup tables (v0): the Explorer signs, so it is a
// static key, and the runtime refuses a message that loads a key twice
// (AccountLoadedTwice); so a loaded account is never the Explorer, and the
// managed-key rule looks at signers, which are static. No rule therefore
// needs a table's contents: a loaded account is treated as "not the
// Explorer", which for CloseAccount's destination means refused.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qtw/solana/types.h"
#include "qtw/solana/versioned_message.h"

namespace qtw::wallet {

struct SigningPolicy {
  // A switch per rule; true = the rule refuses (the default for all).
  bool deny_malformed = true;
  bool deny_managed_signers = true;
  bool deny_durable_nonce = true;
  bool deny_assign = true;
  bool deny_allocate = true;
  bool deny_create_explorer = true;
  bool deny_nonce = true;
  bool deny_fund_nonce = true;
  bool deny_token_set_authority = true;
  bool deny_token_approve = true;
  bool deny_token_close_to_other = true;
  bool deny_loader_authority = true;
  bool deny_lookup_table_authority = true;
  // Lamports that may leave the Explorer in one message: System transfers
  // out of it, what it funds new accounts with, 5,000 per signature and the
  // priority fee when it pays the fee. nullopt = no cap. The daemon's default
  // is the Explorer's funding amount ([balancer] lamports_per_explorer).
  std::optional<std::uint64_t> max_outflow_lamports;
  // Priority fee cap (ceil(cu_price * cu_limit / 1e6)); nullopt = no cap.
  std::optional<std::uint64_t> max_priority_fee_lamports;
  // Empty = any program. Otherwise only these programs may be called.
  std::vector<solana::Pubkey> allowed_programs;
  std::vector<solana::Pubkey> denied_programs;
};

struct PolicyRefusal {
  // Index of the offending top-level instruction; nullopt for a refusal of
  // the whole message (managed_signer, max_outflow from fees alone).
  std::optional<std::size_t> instruction_index;
  std::string_view rule;  // one of the names above (static storage)
  std::string reason;     // for humans: what and why
};

// The outflow of a message as check_signing_policy counts it.
struct MessageOutflow {
  std::uint64_t signature_fee_lamports = 0;  // 5,000 per signature, if the Explorer pays
  std::uint64_t priority_fee_lamports = 0;   // if the Explorer pays
  std::uint64_t transfer_lamports = 0;       // System transfers out of the Explorer
  std::uint64_t funding_lamports = 0;        // CreateAccount(WithSeed) funded by the Explorer
  std::uint64_t compute_unit_limit = 0;      // as the runtime will use it
  [[nodiscard]] std::uint64_t total() const noexcept;  // saturating
};

// True if `key` is a managed key (Bank, HODL, or an Explorer) of this wallet.
using ManagedKeyLookup = std::function<bool(const solana::Pubkey& key)>;

// nullopt = allowed. `explorer` must be one of the message's signers (the
// caller checks that first). `is_managed` is called for the other signers
// only; it may be empty when deny_managed_signers is false.
[[nodiscard]] std::optional<PolicyRefusal> check_signing_policy(
    const solana::VersionedMessage& message, const solana::Pubkey& explorer,
    const ManagedKeyLookup& is_managed, const SigningPolicy& policy);

// The compute-unit limit and outflow of a message (agave
// compute-budget-instruction: without SetComputeUnitLimit, 3,000 CU per
// builtin-program instruction and 200,000 per other, capped at 1,400,000).
// kParse if a compute-budget instruction is malformed or repeated.
[[nodiscard]] Result<MessageOutflow> message_outflow(const solana::VersionedMessage& message,
                                                     const solana::Pubkey& explorer);

}  // namespace qtw::wallet
