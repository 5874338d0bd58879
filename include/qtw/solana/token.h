#pragma once
// SPL Token, Token-2022 and Associated Token Account: program addresses,
// the instructions recovery and sweeps need, program-derived addresses, and
// parsers for token accounts and mints (with the Token-2022 extensions that
// decide whether an account can be moved or closed).
//
// Sources: solana-program/token interface/src/instruction.rs and state.rs,
// solana-program/token-2022 interface/src/extension/mod.rs,
// solana-program/associated-token-account interface/src/instruction.rs,
// solana-sdk pubkey/src/lib.rs (create_program_address,
// find_program_address). Every function is pure; thread-safe.
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "qtw/result.h"
#include "qtw/solana/message.h"
#include "qtw/solana/programs.h"
#include "qtw/solana/types.h"

namespace qtw::solana {

// token_program_id(), token_2022_program_id() and
// associated_token_program_id() are in programs.h.
// So11111111111111111111111111111111111111112 (wrapped SOL, both programs)
[[nodiscard]] const Pubkey& native_mint() noexcept;
// True for the two token programs above.
[[nodiscard]] bool is_token_program(const Pubkey& program) noexcept;

// solana-sdk limits: at most 16 seeds of at most 32 bytes each.
inline constexpr std::size_t kMaxSeeds = 16;
inline constexpr std::size_t kMaxSeedLen = 32;

// sha256(seeds... || program || "ProgramDerivedAddress"); kInvalidArgument
// when the seeds break the limits or the hash is a curve point (the caller
// then tries the next bump).
[[nodiscard]] Result<Pubkey> create_program_address(
    std::span<const std::span<const std::uint8_t>> seeds, const Pubkey& program);
// The first bump from 255 down whose address is off the curve, with the
// address. kInvalidArgument on bad seeds; kNotFound if no bump works
// (probability ~2^-255).
[[nodiscard]] Result<std::pair<Pubkey, std::uint8_t>> find_program_address(
    std::span<const std::span<const std::uint8_t>> seeds, const Pubkey& program);
// The associated token account of `owner` for `mint` under `token_program`
// (seeds: owner, token program, mint). kInvalidArgument if `token_program`
// is not one of the two token programs.
[[nodiscard]] Result<Pubkey> associated_token_address(const Pubkey& owner, const Pubkey& mint,
                                                      const Pubkey& token_program);

namespace token {
// Instruction tags shared by SPL Token and Token-2022.
inline constexpr std::uint8_t kCloseAccount = 9;
inline constexpr std::uint8_t kTransferChecked = 12;
inline constexpr std::uint8_t kSyncNative = 17;

// TransferChecked { amount, decimals }: [source: W], [mint: R],
// [destination: W], [owner: S].
[[nodiscard]] Instruction transfer_checked(const Pubkey& token_program, const Pubkey& source,
                                           const Pubkey& mint, const Pubkey& destination,
                                           const Pubkey& owner, std::uint64_t amount,
                                           std::uint8_t decimals);
// CloseAccount: [account: W], [destination: W], [owner: S]. Every lamport of
// the account (rent, and the wrapped SOL of a native account) goes to
// `destination`; a non-native account must hold 0 tokens.
[[nodiscard]] Instruction close_account(const Pubkey& token_program, const Pubkey& account,
                                        const Pubkey& destination, const Pubkey& owner);
// SyncNative: [account: W]; a native account's token amount follows its lamports.
[[nodiscard]] Instruction sync_native(const Pubkey& token_program, const Pubkey& account);
}  // namespace token

namespace associated_token {
// CreateIdempotent (tag 1): creates `owner`'s associated token account for
// `mint`, paid by `payer`; succeeds without effect if it exists. Accounts:
// [payer: W,S], [ata: W], [owner], [mint], [system program], [token program].
[[nodiscard]] Result<Instruction> create_idempotent(const Pubkey& payer, const Pubkey& owner,
                                                    const Pubkey& mint,
                                                    const Pubkey& token_program);
}  // namespace associated_token

// Token-2022 extension types (token-2022 interface extension/mod.rs
// ExtensionType, u16 in each TLV entry). Only those recovery looks at.
enum class TokenExtension : std::uint16_t {
  kTransferFeeConfig = 1,
  kTransferFeeAmount = 2,
  kConfidentialTransferAccount = 5,
  kImmutableOwner = 7,
  kNonTransferable = 9,
  kNonTransferableAccount = 13,
  kTransferHook = 14,
  kTransferHookAccount = 15,
  kPausable = 26,
  kPausableAccount = 27,
};

// Base layouts (token interface state.rs, Pack::LEN).
inline constexpr std::size_t kTokenAccountLen = 165;
inline constexpr std::size_t kMintLen = 82;

enum class TokenAccountState : std::uint8_t { kUninitialized = 0, kInitialized = 1, kFrozen = 2 };

struct TokenAccount {
  Pubkey mint;
  Pubkey owner;
  std::uint64_t amount = 0;
  std::optional<Pubkey> delegate;
  TokenAccountState state = TokenAccountState::kUninitialized;
  // Set for wrapped SOL: the rent-exempt reserve the account keeps.
  std::optional<std::uint64_t> native_rent_reserve;
  std::uint64_t delegated_amount = 0;
  std::optional<Pubkey> close_authority;
  // Token-2022 extensions present, in TLV order.
  std::vector<TokenExtension> extensions;
  // TransferFeeAmount: fees withheld in this account (it cannot be closed
  // while > 0).
  std::uint64_t withheld_fee_amount = 0;
  [[nodiscard]] bool has(TokenExtension e) const noexcept;
};

struct Mint {
  std::optional<Pubkey> mint_authority;
  std::uint64_t supply = 0;
  std::uint8_t decimals = 0;
  bool initialized = false;
  std::optional<Pubkey> freeze_authority;
  std::vector<TokenExtension> extensions;
  [[nodiscard]] bool has(TokenExtension e) const noexcept;
};

// Parses account data of either token program. kParse, naming the field,
// for data shorter than the base layout, an invalid COption tag or state,
// a Token-2022 account-type byte that is not "account", or a TLV entry that
// runs past the data. Never reads past `data`.
[[nodiscard]] Result<TokenAccount> parse_token_account(std::span<const std::uint8_t> data);
// Same for a mint (82 bytes, or Token-2022: padded to 165, type byte 1, TLV).
[[nodiscard]] Result<Mint> parse_mint(std::span<const std::uint8_t> data);

}  // namespace qtw::solana
