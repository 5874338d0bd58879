#pragma once
// Instruction builders: System Program and Compute Budget
// (solana-sdk system-interface/src/instruction.rs,
// compute-budget-interface/src/lib.rs).
#include <cstdint>
#include <optional>
#include <span>

#include "qtw/solana/message.h"
#include "qtw/solana/types.h"

namespace qtw::solana {

// 11111111111111111111111111111111
[[nodiscard]] const Pubkey& system_program_id() noexcept;
// ComputeBudget111111111111111111111111111111
[[nodiscard]] const Pubkey& compute_budget_program_id() noexcept;
// TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA (SPL Token)
[[nodiscard]] const Pubkey& token_program_id() noexcept;
// TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb (SPL Token-2022)
[[nodiscard]] const Pubkey& token_2022_program_id() noexcept;
// ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL (SPL Associated Token Account)
[[nodiscard]] const Pubkey& associated_token_program_id() noexcept;
// BPFLoaderUpgradeab1e11111111111111111111111 (loader v3)
[[nodiscard]] const Pubkey& bpf_upgradeable_loader_id() noexcept;
// LoaderV411111111111111111111111111111111111
[[nodiscard]] const Pubkey& loader_v4_id() noexcept;
// AddressLookupTab1e1111111111111111111111111
[[nodiscard]] const Pubkey& address_lookup_table_program_id() noexcept;

namespace system_program {
// Transfer { lamports }: data 02000000 + u64 LE; [from: W,S], [to: W].
[[nodiscard]] Instruction transfer(const Pubkey& from, const Pubkey& to, std::uint64_t lamports);
// CreateAccount { lamports, space, owner }: [from: W,S], [new: W,S].
[[nodiscard]] Instruction create_account(const Pubkey& from, const Pubkey& new_account,
                                         std::uint64_t lamports, std::uint64_t space,
                                         const Pubkey& owner);
// Assign { owner }: [account: W,S].
[[nodiscard]] Instruction assign(const Pubkey& account, const Pubkey& owner);
// WithdrawNonceAccount { lamports } (variant 5): [nonce: W], [to: W],
// [RecentBlockhashes sysvar], [Rent sysvar], [authority: S]. Withdrawing the
// whole balance closes the nonce account.
[[nodiscard]] Instruction withdraw_nonce_account(const Pubkey& nonce, const Pubkey& to,
                                                 const Pubkey& authority, std::uint64_t lamports);

// A System-owned account's data as a nonce account (solana-sdk
// nonce/src/state.rs: u32 version, u32 state, then when initialized the
// authority, the durable nonce and the fee calculator; 80 bytes).
inline constexpr std::size_t kNonceAccountLen = 80;
struct NonceAccount {
  bool initialized = false;
  Pubkey authority;  // set when initialized
};
// nullopt when `data` is not 80 bytes or its version/state tags are not a
// nonce account's.
[[nodiscard]] std::optional<NonceAccount> parse_nonce_account(std::span<const std::uint8_t> data);
}  // namespace system_program

namespace compute_budget {
inline constexpr std::uint32_t kMaxComputeUnitLimit = 1'400'000;
// SetComputeUnitLimit(u32): tag 2.
[[nodiscard]] Instruction set_compute_unit_limit(std::uint32_t units);
// SetComputeUnitPrice(u64 micro-lamports per CU): tag 3.
[[nodiscard]] Instruction set_compute_unit_price(std::uint64_t micro_lamports);
// ceil(price * limit / 1e6), saturating (agave compute_budget_limits.rs).
[[nodiscard]] std::uint64_t prioritization_fee_lamports(std::uint64_t micro_lamports_per_cu,
                                                        std::uint64_t compute_unit_limit) noexcept;
}  // namespace compute_budget

}  // namespace qtw::solana
