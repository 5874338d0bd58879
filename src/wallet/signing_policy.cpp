#include "qtw/wallet/signing_policy.h"

#include <algorithm>
#include <array>
#include <limits>

#include "qtw/solana/instruction_decode.h"
#include "qtw/solana/programs.h"

namespace qtw::wallet {
namespace {

using solana::Pubkey;
using solana::VersionedMessage;

constexpr std::uint64_t kLamportsPerSignature = 5'000;  // agave fee/src/lib.rs
// agave compute-budget-instruction/src/compute_budget_instruction_details.rs
// (MAX_BUILTIN_ALLOCATION_COMPUTE_UNIT_LIMIT, DEFAULT_INSTRUCTION_COMPUTE_UNIT_LIMIT,
// MAX_COMPUTE_UNIT_LIMIT).
constexpr std::uint64_t kBuiltinInstructionCu = 3'000;
constexpr std::uint64_t kDefaultInstructionCu = 200'000;
constexpr std::uint64_t kMaxComputeUnitLimit = 1'400'000;

std::uint64_t add_sat(std::uint64_t a, std::uint64_t b) noexcept {
  return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max()
                                                           : a + b;
}

// agave builtins-default-costs: programs whose instructions count as
// builtins for the default CU limit (stake and config migrated to BPF).
bool is_builtin(const Pubkey& program) {
  static const std::array<Pubkey, 11> kBuiltins = {
      solana::system_program_id(),
      solana::compute_budget_program_id(),
      *Pubkey::from_base58("Vote111111111111111111111111111111111111111"),
      *Pubkey::from_base58("BPFLoader1111111111111111111111111111111111"),
      *Pubkey::from_base58("BPFLoader2111111111111111111111111111111111"),
      solana::bpf_upgradeable_loader_id(),
      solana::loader_v4_id(),
      solana::address_lookup_table_program_id(),
      *Pubkey::from_base58("Ed25519SigVerify111111111111111111111111111"),
      *Pubkey::from_base58("KeccakSecp256k11111111111111111111111111111"),
      *Pubkey::from_base58("Secp256r1SigVerify1111111111111111111111111"),
  };
  return std::find(kBuiltins.begin(), kBuiltins.end(), program) != kBuiltins.end();
}

bool is_precompile(const Pubkey& program) {
  static const std::array<Pubkey, 3> kPrecompiles = {
      *Pubkey::from_base58("Ed25519SigVerify111111111111111111111111111"),
      *Pubkey::from_base58("KeccakSecp256k11111111111111111111111111111"),
      *Pubkey::from_base58("Secp256r1SigVerify1111111111111111111111111"),
  };
  return std::find(kPrecompiles.begin(), kPrecompiles.end(), program) != kPrecompiles.end();
}

// The instruction's i-th account, if it is a static key (loaded accounts are
// never the Explorer: see the header).
const Pubkey* account(const VersionedMessage& m, const solana::CompiledInstruction& ix,
                      std::size_t i) {
  if (i >= ix.accounts.size()) return nullptr;
  return m.static_key(ix.accounts[i]);
}

bool account_is(const VersionedMessage& m, const solana::CompiledInstruction& ix, std::size_t i,
                const Pubkey& key) {
  const Pubkey* k = account(m, ix, i);
  return k != nullptr && *k == key;
}

// True if `key` is any of the instruction's accounts from index `from` on.
bool any_account_from(const VersionedMessage& m, const solana::CompiledInstruction& ix,
                      std::size_t from, const Pubkey& key) {
  for (std::size_t i = from; i < ix.accounts.size(); ++i) {
    if (account_is(m, ix, i, key)) return true;
  }
  return false;
}

PolicyRefusal refusal(std::optional<std::size_t> index, std::string_view rule, std::string reason) {
  return PolicyRefusal{index, rule, std::move(reason)};
}

std::string at(std::size_t i) { return "instruction " + std::to_string(i) + ": "; }

}  // namespace

std::uint64_t MessageOutflow::total() const noexcept {
  return add_sat(add_sat(signature_fee_lamports, priority_fee_lamports),
                 add_sat(transfer_lamports, funding_lamports));
}

Result<MessageOutflow> message_outflow(const VersionedMessage& m, const Pubkey& explorer) {
  MessageOutflow out;
  std::optional<std::uint64_t> cu_limit;
  std::optional<std::uint64_t> cu_price;
  std::uint64_t builtin = 0;
  std::uint64_t other = 0;
  std::uint64_t signatures = m.header.num_required_signatures;
  for (std::size_t i = 0; i < m.instructions.size(); ++i) {
    const auto& ix = m.instructions[i];
    const Pubkey& program = m.static_keys[ix.program_id_index];
    // agave fee/src/lib.rs: precompile signatures (count in data[0]) are
    // charged like transaction signatures.
    if (is_precompile(program) && !ix.data.empty()) signatures += ix.data[0];
    if (is_builtin(program)) {
      ++builtin;
    } else {
      ++other;
    }
    if (program == solana::compute_budget_program_id()) {
      auto cb = solana::compute_budget_ix::decode(ix.data);
      if (!cb) return tl::unexpected(with_context(cb.error(), at(i)));
      using K = solana::compute_budget_ix::Kind;
      // agave: a second instruction of the same kind fails the transaction
      // (DuplicateInstruction).
      if (cb->kind == K::kSetComputeUnitLimit) {
        if (cu_limit) {
          return make_error(ErrorCode::kParse, at(i) + "second SetComputeUnitLimit");
        }
        cu_limit = cb->value;
      } else if (cb->kind == K::kSetComputeUnitPrice) {
        if (cu_price) return make_error(ErrorCode::kParse, at(i) + "second SetComputeUnitPrice");
        cu_price = cb->value;
      }
      continue;
    }
    if (program != solana::system_program_id()) continue;
    auto sys = solana::system_ix::decode(ix.data);
    if (!sys) return tl::unexpected(with_context(sys.error(), at(i)));
    using K = solana::system_ix::Kind;
    switch (sys->kind) {
      case K::kTransfer:
        if (account_is(m, ix, 0, explorer)) out.transfer_lamports = add_sat(out.transfer_lamports, sys->lamports);
        break;
      case K::kCreateAccount:
      case K::kCreateAccountWithSeed:
        if (account_is(m, ix, 0, explorer)) out.funding_lamports = add_sat(out.funding_lamports, sys->lamports);
        break;
      default:
        break;  // TransferWithSeed moves a derived account's lamports, not the Explorer's
    }
  }
  std::uint64_t limit = cu_limit ? *cu_limit : builtin * kBuiltinInstructionCu + other * kDefaultInstructionCu;
  limit = std::min(limit, kMaxComputeUnitLimit);
  out.compute_unit_limit = limit;
  if (!m.static_keys.empty() && m.static_keys[0] == explorer) {
    out.signature_fee_lamports = kLamportsPerSignature * signatures;
    out.priority_fee_lamports =
        solana::compute_budget::prioritization_fee_lamports(cu_price.value_or(0), limit);
  }
  return out;
}

namespace {

// The rules that look at one instruction. nullopt = nothing to refuse.
std::optional<PolicyRefusal> check_instruction(const VersionedMessage& m, std::size_t i,
                                               const Pubkey& explorer, const SigningPolicy& p) {
  const auto& ix = m.instructions[i];
  const Pubkey& program = m.static_keys[ix.program_id_index];
  const std::string who = explorer.to_base58();

  if (std::find(p.denied_programs.begin(), p.denied_programs.end(), program) !=
      p.denied_programs.end()) {
    return refusal(i, "program_denied", at(i) + "program " + program.to_base58() +
                                            " is in [policy] denied_programs");
  }
  if (!p.allowed_programs.empty() &&
      std::find(p.allowed_programs.begin(), p.allowed_programs.end(), program) ==
          p.allowed_programs.end()) {
    return refusal(i, "program_not_allowed", at(i) + "program " + program.to_base58() +
                                                 " is not in [policy] allowed_programs");
  }

  if (program == solana::system_program_id()) {
    auto d = solana::system_ix::decode(ix.data);
    if (!d) {
      if (!p.deny_malformed) return std::nullopt;
      return refusal(i, "malformed_instruction", at(i) + d.error().message);
    }
    using K = solana::system_ix::Kind;
    const std::string name(solana::system_ix::kind_name(d->kind));
    if (i == 0 && d->kind == K::kAdvanceNonceAccount && p.deny_durable_nonce) {
      return refusal(i, "durable_nonce",
                     at(i) + "a durable-nonce transaction (first instruction AdvanceNonceAccount) "
                             "stays valid after the lease ends");
    }
    switch (d->kind) {
      case K::kAssign:
      case K::kAssignWithSeed:
        if (p.deny_assign && account_is(m, ix, 0, explorer)) {
          return refusal(i, "system_assign", at(i) + name + " would give Explorer " + who +
                                                 " to program " + d->owner.to_base58() +
                                                 ": its lamports could never be recovered");
        }
        break;
      case K::kAllocate:
      case K::kAllocateWithSeed:
        if (p.deny_allocate && account_is(m, ix, 0, explorer)) {
          return refusal(i, "system_allocate", at(i) + name + " would give Explorer " + who +
                                                   " data: it could never be drained to 0");
        }
        break;
      case K::kCreateAccount:
      case K::kCreateAccountWithSeed:
        if (p.deny_create_explorer && account_is(m, ix, 1, explorer)) {
          return refusal(i, "system_create_explorer",
                         at(i) + name + " with Explorer " + who + " as the new account");
        }
        if (p.deny_fund_nonce && account_is(m, ix, 0, explorer) &&
            d->owner == solana::system_program_id() && d->space > 0) {
          return refusal(i, "system_fund_nonce",
                         at(i) + name + " funded by Explorer " + who +
                             " creates a System-owned account with data (a nonce account)");
        }
        break;
      default:
        break;
    }
    if (solana::system_ix::is_nonce_instruction(d->kind)) {
      if (d->kind == K::kInitializeNonceAccount && p.deny_fund_nonce &&
          !(p.deny_nonce && (account_is(m, ix, 0, explorer) || d->authority == explorer))) {
        return refusal(i, "system_fund_nonce",
                       at(i) + "InitializeNonceAccount in a message Explorer " + who +
                           " signs: nonce accounts are not part of a trade");
      }
      if (p.deny_nonce) {
        // The nonce account is index 0 in every nonce instruction; the
        // authority is a signer account (Advance 2, Withdraw 4, Authorize 1)
        // or, for Initialize/Authorize, a pubkey in the data.
        bool role = account_is(m, ix, 0, explorer) || any_account_from(m, ix, 1, explorer);
        if (d->kind == K::kInitializeNonceAccount || d->kind == K::kAuthorizeNonceAccount) {
          role = role || d->authority == explorer;
        }
        if (role) {
          return refusal(i, "system_nonce", at(i) + name + " with Explorer " + who +
                                                " as the nonce account or its authority");
        }
      }
    }
    return std::nullopt;
  }

  if (program == solana::compute_budget_program_id()) {
    // Decoded (and duplicates refused) by message_outflow; only the shape here.
    if (auto d = solana::compute_budget_ix::decode(ix.data); !d && p.deny_malformed) {
      return refusal(i, "malformed_instruction", at(i) + d.error().message);
    }
    return std::nullopt;
  }

  if (program == solana::token_program_id() || program == solana::token_2022_program_id()) {
    auto tag = solana::token_ix::tag(ix.data);
    if (!tag) {
      if (!p.deny_malformed) return std::nullopt;
      return refusal(i, "malformed_instruction", at(i) + tag.error().message);
    }
    const auto auth = solana::token_ix::authority_index(*tag);
    if (!auth || !any_account_from(m, ix, *auth, explorer)) return std::nullopt;
    using namespace solana::token_ix;
    if (*tag == kSetAuthority && p.deny_token_set_authority) {
      return refusal(i, "token_set_authority",
                     at(i) + "SetAuthority hands an account of Explorer " + who + " to another authority");
    }
    if ((*tag == kApprove || *tag == kApproveChecked) && p.deny_token_approve) {
      return refusal(i, "token_approve",
                     at(i) + (*tag == kApprove ? std::string("Approve") : std::string("ApproveChecked")) +
                         " lets a delegate move tokens of Explorer " + who);
    }
    if (*tag == kCloseAccount && p.deny_token_close_to_other && !account_is(m, ix, 1, explorer)) {
      return refusal(i, "token_close_to_other",
                     at(i) + "CloseAccount of an account of Explorer " + who +
                         " sends its rent to another destination (only the Explorer itself may receive it)");
    }
    return std::nullopt;
  }

  const bool v3 = program == solana::bpf_upgradeable_loader_id();
  if (v3 || program == solana::loader_v4_id()) {
    auto a = v3 ? solana::loader_v3_ix::authorities(ix.data)
                : solana::loader_v4_ix::authorities(ix.data);
    if (!a) {
      if (!p.deny_malformed) return std::nullopt;
      return refusal(i, "malformed_instruction", at(i) + a.error().message);
    }
    for (std::uint8_t k = 0; k < a->count && p.deny_loader_authority; ++k) {
      if (account_is(m, ix, a->index[k], explorer)) {
        return refusal(i, "loader_authority",
                       at(i) + std::string(v3 ? "upgradeable loader" : "loader v4") +
                           " instruction with Explorer " + who + " as a program or buffer authority");
      }
    }
    return std::nullopt;
  }

  if (program == solana::address_lookup_table_program_id()) {
    auto v = solana::lookup_table_ix::variant(ix.data);
    if (!v) {
      if (!p.deny_malformed) return std::nullopt;
      return refusal(i, "malformed_instruction", at(i) + v.error().message);
    }
    if (p.deny_lookup_table_authority &&
        account_is(m, ix, solana::lookup_table_ix::kAuthorityIndex, explorer)) {
      return refusal(i, "lookup_table_authority",
                     at(i) + "address lookup table instruction with Explorer " + who + " as its authority");
    }
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::optional<PolicyRefusal> check_signing_policy(const VersionedMessage& m, const Pubkey& explorer,
                                                  const ManagedKeyLookup& is_managed,
                                                  const SigningPolicy& p) {
  if (p.deny_managed_signers) {
    for (std::size_t s = 0; s < m.header.num_required_signatures && s < m.static_keys.size(); ++s) {
      const Pubkey& k = m.static_keys[s];
      if (k != explorer && is_managed && is_managed(k)) {
        return refusal(std::nullopt, "managed_signer",
                       "signer " + k.to_base58() +
                           " is a key of this wallet (Bank, HODL or another Explorer): an Explorer "
                           "never signs beside another managed key");
      }
    }
  }
  for (std::size_t i = 0; i < m.instructions.size(); ++i) {
    if (auto r = check_instruction(m, i, explorer, p)) return r;
  }
  auto flow = message_outflow(m, explorer);
  if (!flow) {
    if (!p.deny_malformed) return std::nullopt;
    return refusal(std::nullopt, "malformed_instruction", flow.error().message);
  }
  if (p.max_priority_fee_lamports && flow->priority_fee_lamports > *p.max_priority_fee_lamports) {
    return refusal(std::nullopt, "max_priority_fee",
                   "priority fee " + std::to_string(flow->priority_fee_lamports) + " lamports (" +
                       std::to_string(flow->compute_unit_limit) + " CU) exceeds [policy] "
                       "max_priority_fee_lamports = " + std::to_string(*p.max_priority_fee_lamports));
  }
  if (p.max_outflow_lamports && flow->total() > *p.max_outflow_lamports) {
    // Name the instruction that crossed the cap (fees count first), if any.
    std::optional<std::size_t> index;
    std::uint64_t sum = add_sat(flow->signature_fee_lamports, flow->priority_fee_lamports);
    for (std::size_t i = 0; i < m.instructions.size() && sum <= *p.max_outflow_lamports; ++i) {
      const auto& ix = m.instructions[i];
      if (m.static_keys[ix.program_id_index] != solana::system_program_id()) continue;
      auto d = solana::system_ix::decode(ix.data);
      using K = solana::system_ix::Kind;
      if (d && account_is(m, ix, 0, explorer) &&
          (d->kind == K::kTransfer || d->kind == K::kCreateAccount ||
           d->kind == K::kCreateAccountWithSeed)) {
        sum = add_sat(sum, d->lamports);
        if (sum > *p.max_outflow_lamports) index = i;
      }
    }
    return refusal(index, "max_outflow",
                   "Explorer " + explorer.to_base58() + " would spend " + std::to_string(flow->total()) +
                       " lamports (transfers " + std::to_string(flow->transfer_lamports) +
                       ", new accounts " + std::to_string(flow->funding_lamports) + ", fees " +
                       std::to_string(flow->signature_fee_lamports + flow->priority_fee_lamports) +
                       "), over [policy] max_outflow_lamports = " +
                       std::to_string(*p.max_outflow_lamports));
  }
  return std::nullopt;
}

}  // namespace qtw::wallet
