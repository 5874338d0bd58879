#include "qtw/solana/programs.h"

#include <algorithm>
#include <limits>

#include "solana/le_bytes.h"

namespace qtw::solana {
namespace {

using detail::put_u32;
using detail::put_u64;

// solana-sdk system-interface/src/instruction.rs: bincode of the enum, a u32
// LE variant index then the fields.
enum SystemVariant : std::uint32_t {
  kCreateAccount = 0,
  kAssign = 1,
  kTransfer = 2,
  kWithdrawNonceAccount = 5,
};

}  // namespace

const Pubkey& system_program_id() noexcept {
  static const Pubkey id{};  // 32 zero bytes = 11111111111111111111111111111111
  return id;
}

const Pubkey& compute_budget_program_id() noexcept {
  // ComputeBudget111111111111111111111111111111 (solana-sdk sdk-ids).
  static const Pubkey id = *Pubkey::from_base58("ComputeBudget111111111111111111111111111111");
  return id;
}

// solana-sdk sdk-ids / spl program ids.
const Pubkey& token_program_id() noexcept {
  static const Pubkey id = *Pubkey::from_base58("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
  return id;
}
const Pubkey& token_2022_program_id() noexcept {
  static const Pubkey id = *Pubkey::from_base58("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
  return id;
}
const Pubkey& associated_token_program_id() noexcept {
  static const Pubkey id = *Pubkey::from_base58("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
  return id;
}
const Pubkey& bpf_upgradeable_loader_id() noexcept {
  static const Pubkey id = *Pubkey::from_base58("BPFLoaderUpgradeab1e11111111111111111111111");
  return id;
}
const Pubkey& loader_v4_id() noexcept {
  static const Pubkey id = *Pubkey::from_base58("LoaderV411111111111111111111111111111111111");
  return id;
}
const Pubkey& address_lookup_table_program_id() noexcept {
  static const Pubkey id = *Pubkey::from_base58("AddressLookupTab1e1111111111111111111111111");
  return id;
}

namespace system_program {

Instruction transfer(const Pubkey& from, const Pubkey& to, std::uint64_t lamports) {
  Instruction ix;
  ix.program_id = system_program_id();
  ix.accounts = {AccountMeta{from, true, true}, AccountMeta{to, false, true}};
  put_u32(ix.data, kTransfer);
  put_u64(ix.data, lamports);
  return ix;
}

Instruction create_account(const Pubkey& from, const Pubkey& new_account, std::uint64_t lamports,
                           std::uint64_t space, const Pubkey& owner) {
  Instruction ix;
  ix.program_id = system_program_id();
  ix.accounts = {AccountMeta{from, true, true}, AccountMeta{new_account, true, true}};
  put_u32(ix.data, kCreateAccount);
  put_u64(ix.data, lamports);
  put_u64(ix.data, space);
  ix.data.insert(ix.data.end(), owner.bytes.begin(), owner.bytes.end());
  return ix;
}

Instruction assign(const Pubkey& account, const Pubkey& owner) {
  Instruction ix;
  ix.program_id = system_program_id();
  ix.accounts = {AccountMeta{account, true, true}};
  put_u32(ix.data, kAssign);
  ix.data.insert(ix.data.end(), owner.bytes.begin(), owner.bytes.end());
  return ix;
}

Instruction withdraw_nonce_account(const Pubkey& nonce, const Pubkey& to, const Pubkey& authority,
                                   std::uint64_t lamports) {
  // sdk-ids sysvar::recent_blockhashes and sysvar::rent.
  static const Pubkey kRecentBlockhashes =
      *Pubkey::from_base58("SysvarRecentB1ockHashes11111111111111111111");
  static const Pubkey kRent = *Pubkey::from_base58("SysvarRent111111111111111111111111111111111");
  Instruction ix;
  ix.program_id = system_program_id();
  ix.accounts = {AccountMeta{nonce, false, true}, AccountMeta{to, false, true},
                 AccountMeta{kRecentBlockhashes, false, false}, AccountMeta{kRent, false, false},
                 AccountMeta{authority, true, false}};
  put_u32(ix.data, kWithdrawNonceAccount);
  put_u64(ix.data, lamports);
  return ix;
}

std::optional<NonceAccount> parse_nonce_account(std::span<const std::uint8_t> data) {
  if (data.size() != kNonceAccountLen) return std::nullopt;
  auto u32 = [&](std::size_t at) {
    return std::uint32_t{data[at]} | std::uint32_t{data[at + 1]} << 8 |
           std::uint32_t{data[at + 2]} << 16 | std::uint32_t{data[at + 3]} << 24;
  };
  // Versions: 0 legacy, 1 current; State: 0 uninitialized, 1 initialized.
  if (u32(0) > 1 || u32(4) > 1) return std::nullopt;
  NonceAccount out;
  out.initialized = u32(4) == 1;
  if (out.initialized) std::copy_n(data.begin() + 8, kPubkeySize, out.authority.bytes.begin());
  return out;
}

}  // namespace system_program

namespace compute_budget {

// solana-sdk compute-budget-interface/src/lib.rs: data[0] = tag, then the
// value little-endian; no accounts.
Instruction set_compute_unit_limit(std::uint32_t units) {
  Instruction ix;
  ix.program_id = compute_budget_program_id();
  ix.data.push_back(2);
  put_u32(ix.data, units);
  return ix;
}

Instruction set_compute_unit_price(std::uint64_t micro_lamports) {
  Instruction ix;
  ix.program_id = compute_budget_program_id();
  ix.data.push_back(3);
  put_u64(ix.data, micro_lamports);
  return ix;
}

std::uint64_t prioritization_fee_lamports(std::uint64_t micro_lamports_per_cu,
                                          std::uint64_t compute_unit_limit) noexcept {
  // agave compute_budget_limits.rs get_prioritization_fee: ceil(price *
  // limit / 1e6) computed in u128, saturating. Here without __int128:
  // price * limit = q * 1e6 + r exactly, split per factor.
  constexpr std::uint64_t kMicro = 1'000'000;
  const std::uint64_t p_hi = micro_lamports_per_cu / kMicro;
  const std::uint64_t p_lo = micro_lamports_per_cu % kMicro;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  // whole part: p_hi * limit (may overflow -> saturate)
  if (p_hi != 0 && compute_unit_limit > kMax / p_hi) return kMax;
  std::uint64_t fee = p_hi * compute_unit_limit;
  // p_lo < 1e6 and limit < 2^64: p_lo * limit may overflow u64, so split limit.
  const std::uint64_t l_hi = compute_unit_limit / kMicro;
  const std::uint64_t l_lo = compute_unit_limit % kMicro;
  // p_lo * limit = p_lo * l_hi * 1e6 + p_lo * l_lo; p_lo * l_lo < 1e12 fits.
  if (l_hi != 0 && p_lo > kMax / l_hi) return kMax;
  const std::uint64_t whole = p_lo * l_hi;
  const std::uint64_t rest = p_lo * l_lo;
  const std::uint64_t add = whole + rest / kMicro + (rest % kMicro != 0 ? 1 : 0);
  if (fee > kMax - add) return kMax;
  return fee + add;
}

}  // namespace compute_budget
}  // namespace qtw::solana
