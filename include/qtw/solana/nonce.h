#pragma once
// Durable nonces: System Program instruction BUILDERS for nonce accounts
// and the nonce account's data layout. (Decoders of System instructions for
// the signing policy live elsewhere; this file only builds.)
//
// Sources (solana-sdk / solana-program, Apache-2.0):
//   system-interface/src/instruction.rs  SystemInstruction variants (bincode:
//     u32 LE variant index, then the fields) and account lists of
//     create_account_with_seed, create_nonce_account_with_seed,
//     advance_nonce_account
//   nonce/src/versions.rs, nonce/src/state.rs  Versions { Legacy, Current }
//     (u32), State { Uninitialized, Initialized(Data) } (u32), Data {
//     authority: Pubkey, durable_nonce: Hash, fee_calculator: { u64 } }:
//     4 + 4 + 32 + 32 + 8 = 80 bytes (State::size())
//   pubkey/src/lib.rs  Pubkey::create_with_seed: sha256(base || seed ||
//     owner), seed at most 32 bytes
// A durable transaction uses the nonce value as its recent_blockhash and
// AdvanceNonceAccount as its FIRST instruction (agave
// svm-transaction get_durable_nonce), signed by the nonce authority.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "qtw/result.h"
#include "qtw/solana/message.h"
#include "qtw/solana/types.h"

namespace qtw::solana {

// Size of a nonce account's data (nonce/src/state.rs State::size()).
inline constexpr std::size_t kNonceAccountSize = 80;
// MAX_SEED_LEN (pubkey/src/lib.rs).
inline constexpr std::size_t kMaxSeedLen = 32;

// SysvarRecentB1ockHashes11111111111111111111 (deprecated sysvar, still an
// account of every nonce instruction).
[[nodiscard]] const Pubkey& sysvar_recent_blockhashes_id() noexcept;
// SysvarRent111111111111111111111111111111111
[[nodiscard]] const Pubkey& sysvar_rent_id() noexcept;

// Pubkey::create_with_seed(base, seed, owner) = sha256(base || seed ||
// owner). kInvalidArgument when the seed is longer than 32 bytes or the
// owner ends with "ProgramDerivedAddress" (the PDA marker is refused there).
[[nodiscard]] Result<Pubkey> create_with_seed(const Pubkey& base, std::string_view seed,
                                              const Pubkey& owner);

namespace system_program {
// CreateAccountWithSeed { base, seed, lamports, space, owner } (variant 3):
// [from: W,S], [to: W], [base: S] (base omitted when it is `from`).
[[nodiscard]] Instruction create_account_with_seed(const Pubkey& from, const Pubkey& to,
                                                   const Pubkey& base, std::string_view seed,
                                                   std::uint64_t lamports, std::uint64_t space,
                                                   const Pubkey& owner);
// AdvanceNonceAccount (variant 4): [nonce: W], [RecentBlockhashes sysvar],
// [authority: S].
[[nodiscard]] Instruction advance_nonce_account(const Pubkey& nonce, const Pubkey& authority);
// InitializeNonceAccount(authority) (variant 6): [nonce: W],
// [RecentBlockhashes sysvar], [Rent sysvar].
[[nodiscard]] Instruction initialize_nonce_account(const Pubkey& nonce, const Pubkey& authority);
}  // namespace system_program

// System instruction variant indexes used above.
inline constexpr std::uint32_t kSystemCreateAccountWithSeed = 3;
inline constexpr std::uint32_t kSystemAdvanceNonceAccount = 4;
inline constexpr std::uint32_t kSystemInitializeNonceAccount = 6;
inline constexpr std::uint32_t kSystemTransfer = 2;

// A decoded nonce account (nonce/src/state.rs).
struct NonceAccountState {
  std::uint32_t version = 0;                 // 0 Legacy, 1 Current
  bool initialized = false;                  // State::Initialized
  Pubkey authority;                          // meaningful when initialized
  Hash durable_nonce;                        // the value a durable transaction uses as blockhash
  std::uint64_t lamports_per_signature = 0;  // fee_calculator
};

// Strict decode of an account's data: exactly 80 bytes, version 0 or 1,
// state 0 or 1 (kInvalidArgument naming what was wrong). An uninitialized
// account decodes with initialized = false and zero fields.
[[nodiscard]] Result<NonceAccountState> decode_nonce_account(std::span<const std::uint8_t> data);

}  // namespace qtw::solana
