#include "qtw/solana/nonce.h"

#include <sodium.h>

#include <cstring>

#include "solana/le_bytes.h"

namespace qtw::solana {
namespace {

using detail::get_u32;
using detail::get_u64;
using detail::put_u32;
using detail::put_u64;
void put_key(std::vector<std::uint8_t>& out, const Pubkey& k) {
  out.insert(out.end(), k.bytes.begin(), k.bytes.end());
}

// pubkey/src/lib.rs PDA_MARKER.
constexpr std::string_view kPdaMarker = "ProgramDerivedAddress";

}  // namespace

const Pubkey& sysvar_recent_blockhashes_id() noexcept {
  static const Pubkey id = *Pubkey::from_base58("SysvarRecentB1ockHashes11111111111111111111");
  return id;
}

const Pubkey& sysvar_rent_id() noexcept {
  static const Pubkey id = *Pubkey::from_base58("SysvarRent111111111111111111111111111111111");
  return id;
}

Result<Pubkey> create_with_seed(const Pubkey& base, std::string_view seed, const Pubkey& owner) {
  if (seed.size() > kMaxSeedLen) {
    return make_error(ErrorCode::kInvalidArgument,
                      "seed is " + std::to_string(seed.size()) + " bytes; at most 32 allowed");
  }
  if (std::memcmp(owner.bytes.data() + kPubkeySize - kPdaMarker.size(), kPdaMarker.data(),
                  kPdaMarker.size()) == 0) {
    return make_error(ErrorCode::kInvalidArgument, "owner is an illegal PDA owner");
  }
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, base.bytes.data(), base.bytes.size());
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  crypto_hash_sha256_update(&st, owner.bytes.data(), owner.bytes.size());
  Pubkey out;
  crypto_hash_sha256_final(&st, out.bytes.data());
  return out;
}

namespace system_program {

Instruction create_account_with_seed(const Pubkey& from, const Pubkey& to, const Pubkey& base,
                                     std::string_view seed, std::uint64_t lamports,
                                     std::uint64_t space, const Pubkey& owner) {
  Instruction ix;
  ix.program_id = Pubkey{};
  ix.accounts = {AccountMeta{from, true, true}, AccountMeta{to, false, true}};
  if (base != from) ix.accounts.push_back(AccountMeta{base, true, false});
  put_u32(ix.data, kSystemCreateAccountWithSeed);
  put_key(ix.data, base);
  // Rust String under bincode: u64 LE length then the bytes.
  put_u64(ix.data, seed.size());
  ix.data.insert(ix.data.end(), seed.begin(), seed.end());
  put_u64(ix.data, lamports);
  put_u64(ix.data, space);
  put_key(ix.data, owner);
  return ix;
}

Instruction advance_nonce_account(const Pubkey& nonce, const Pubkey& authority) {
  Instruction ix;
  ix.program_id = Pubkey{};
  ix.accounts = {AccountMeta{nonce, false, true},
                 AccountMeta{sysvar_recent_blockhashes_id(), false, false},
                 AccountMeta{authority, true, false}};
  put_u32(ix.data, kSystemAdvanceNonceAccount);
  return ix;
}

Instruction initialize_nonce_account(const Pubkey& nonce, const Pubkey& authority) {
  Instruction ix;
  ix.program_id = Pubkey{};
  ix.accounts = {AccountMeta{nonce, false, true},
                 AccountMeta{sysvar_recent_blockhashes_id(), false, false},
                 AccountMeta{sysvar_rent_id(), false, false}};
  put_u32(ix.data, kSystemInitializeNonceAccount);
  put_key(ix.data, authority);
  return ix;
}

}  // namespace system_program

Result<NonceAccountState> decode_nonce_account(std::span<const std::uint8_t> data) {
  if (data.size() != kNonceAccountSize) {
    return make_error(ErrorCode::kInvalidArgument, "not a nonce account: data is " +
                                                       std::to_string(data.size()) +
                                                       " bytes, a nonce account holds 80");
  }
  NonceAccountState out;
  out.version = get_u32(data, 0);
  if (out.version > 1) {
    return make_error(ErrorCode::kInvalidArgument,
                      "not a nonce account: version " + std::to_string(out.version));
  }
  const std::uint32_t state = get_u32(data, 4);
  if (state > 1) {
    return make_error(ErrorCode::kInvalidArgument,
                      "not a nonce account: state " + std::to_string(state));
  }
  out.initialized = state == 1;
  if (!out.initialized) return out;
  std::memcpy(out.authority.bytes.data(), data.data() + 8, kPubkeySize);
  std::memcpy(out.durable_nonce.bytes.data(), data.data() + 40, kHashSize);
  out.lamports_per_signature = get_u64(data, 72);
  return out;
}

}  // namespace qtw::solana
