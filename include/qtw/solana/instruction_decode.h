#pragma once
// Decoders for the instruction data of the programs the signing policy
// reasons about. Pure functions over untrusted bytes: a bounds check before
// every read; kParse naming the program and field on anything malformed.
// Each decoder quotes the layout it follows; only the fields a caller needs
// are kept.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "qtw/result.h"
#include "qtw/solana/types.h"

namespace qtw::solana {

namespace system_ix {
// solana-sdk system-interface/src/instruction.rs SystemInstruction: bincode,
// a u32 LE variant index, then the fields (String = u64 LE length + bytes).
// Account lists (the order is the instruction's account order):
enum class Kind : std::uint32_t {
  kCreateAccount = 0,           // {lamports u64, space u64, owner} [funding S W, new S W]
  kAssign = 1,                  // {owner}                          [account S W]
  kTransfer = 2,                // {lamports u64}                   [from S W, to W]
  kCreateAccountWithSeed = 3,   // {base, seed, lamports, space, owner} [funding S W, created W, (base S)]
  kAdvanceNonceAccount = 4,     // {}                               [nonce W, RecentBlockhashes, authority S]
  kWithdrawNonceAccount = 5,    // {lamports u64}                   [nonce W, to W, RecentBlockhashes, Rent, authority S]
  kInitializeNonceAccount = 6,  // {authority}                      [nonce W, RecentBlockhashes, Rent]
  kAuthorizeNonceAccount = 7,   // {new authority}                  [nonce W, authority S]
  kAllocate = 8,                // {space u64}                      [account S W]
  kAllocateWithSeed = 9,        // {base, seed, space, owner}       [allocated W, base S]
  kAssignWithSeed = 10,         // {base, seed, owner}              [assigned W, base S]
  kTransferWithSeed = 11,       // {lamports, from_seed, from_owner} [from W, base S, to W]
  kUpgradeNonceAccount = 12,    // {}                               [nonce W]
};
struct Decoded {
  Kind kind = Kind::kTransfer;
  std::uint64_t lamports = 0;       // CreateAccount*, Transfer*, WithdrawNonceAccount
  std::uint64_t space = 0;          // CreateAccount*, Allocate*
  Pubkey owner;                     // CreateAccount*, Assign*, AllocateWithSeed
  Pubkey authority;                 // InitializeNonceAccount, AuthorizeNonceAccount
  std::optional<Pubkey> base;       // *WithSeed
};
[[nodiscard]] Result<Decoded> decode(std::span<const std::uint8_t> data);
[[nodiscard]] bool is_nonce_instruction(Kind kind) noexcept;
[[nodiscard]] std::string_view kind_name(Kind kind) noexcept;
// solana-sdk nonce/src/state.rs State::size(): 80 bytes.
inline constexpr std::uint64_t kNonceStateSize = 80;
}  // namespace system_ix

namespace compute_budget_ix {
// solana-sdk compute-budget-interface/src/lib.rs ComputeBudgetInstruction
// (borsh: a u8 tag, then the value LE). No accounts.
enum class Kind : std::uint8_t {
  kRequestUnitsDeprecated = 0,
  kRequestHeapFrame = 1,                // u32 bytes
  kSetComputeUnitLimit = 2,             // u32 units
  kSetComputeUnitPrice = 3,             // u64 micro-lamports per CU
  kSetLoadedAccountsDataSizeLimit = 4,  // u32 bytes
};
struct Decoded {
  Kind kind = Kind::kSetComputeUnitLimit;
  std::uint64_t value = 0;
};
// kParse for tag 0 (deprecated: the runtime refuses it), an unknown tag, or a
// length other than the exact layout.
[[nodiscard]] Result<Decoded> decode(std::span<const std::uint8_t> data);
}  // namespace compute_budget_ix

namespace token_ix {
// spl-token program/src/instruction.rs TokenInstruction (Token-2022 keeps
// the same tags 0..24 and layouts): a u8 tag first. Authority positions:
//   Approve 4         [source W, delegate, owner S, ...multisig signers]
//   SetAuthority 6    [account/mint W, current authority S, ...signers]
//                      data: u8 AuthorityType, COption<Pubkey> new authority
//   CloseAccount 9    [account W, destination W, owner S, ...signers]
//   ApproveChecked 13 [source W, mint, delegate, owner S, ...signers]
enum Tag : std::uint8_t {
  kTransfer = 3,
  kApprove = 4,
  kRevoke = 5,
  kSetAuthority = 6,
  kCloseAccount = 9,
  kTransferChecked = 12,
  kApproveChecked = 13,
};
// First account index of the authority (owner) and its multisig signers,
// for the instructions that hand control away; nullopt for the others.
[[nodiscard]] std::optional<std::size_t> authority_index(std::uint8_t tag) noexcept;
// kParse on empty data.
[[nodiscard]] Result<std::uint8_t> tag(std::span<const std::uint8_t> data);
}  // namespace token_ix

namespace loader_v3_ix {
// solana-loader-v3-interface instruction.rs UpgradeableLoaderInstruction
// (bincode u32 variant). Authority account positions:
//   0 InitializeBuffer      [buffer W, authority]
//   1 Write                 [buffer W, authority S]
//   2 DeployWithMaxDataLen  [payer S W, programdata W, program W, buffer W, Rent, Clock, System, authority S]
//   3 Upgrade               [programdata W, program W, buffer W, spill W, Rent, Clock, authority S]
//   4 SetAuthority          [account W, current authority S, new authority (optional)]
//   5 Close                 [account W, recipient W, authority S (optional), program W (optional)]
//   6 ExtendProgram         [programdata W, program W, System (opt), payer S W (opt)]: no authority
//   7 SetAuthorityChecked   [account W, current authority S, new authority S]
//   8 Migrate               [programdata W, program W, authority S]
//   9 ExtendProgramChecked  [programdata W, program W, authority S, System (opt), payer S W (opt)]
// The account indexes that hold an authority (current or new) for `variant`;
// empty for a variant without one. kParse on data shorter than 4 bytes.
struct AuthorityIndexes {
  std::uint8_t count = 0;
  std::size_t index[2] = {0, 0};
};
[[nodiscard]] Result<AuthorityIndexes> authorities(std::span<const std::uint8_t> data);
}  // namespace loader_v3_ix

namespace loader_v4_ix {
// solana-loader-v4-interface instruction.rs LoaderV4Instruction (bincode u32):
// every variant has the authority at index 1 ([program W, authority S, ...]);
// TransferAuthority (5) has the new authority at index 2.
[[nodiscard]] Result<loader_v3_ix::AuthorityIndexes> authorities(std::span<const std::uint8_t> data);
}  // namespace loader_v4_ix

namespace lookup_table_ix {
// solana-address-lookup-table-interface instruction.rs ProgramInstruction
// (bincode u32): 0 CreateLookupTable [table W, authority, payer S W, System],
// 1 Freeze, 2 Extend [table W, authority S, payer S W (opt), System (opt)],
// 3 Deactivate, 4 Close [table W, authority S, recipient W]: the authority is
// at index 1 in every one of them.
inline constexpr std::size_t kAuthorityIndex = 1;
[[nodiscard]] Result<std::uint32_t> variant(std::span<const std::uint8_t> data);
}  // namespace lookup_table_ix

}  // namespace qtw::solana
