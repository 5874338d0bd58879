#pragma once
// Cold HODL (docs/COLD_HODL.md): HODL keys that never touch a networked
// machine. Their Bank top-ups are durable-nonce transactions: a nonce account
// whose authority is the HODL key, a message whose first instruction
// advances that nonce and whose recent_blockhash is the nonce value, so it
// stays valid until used (or until the nonce moves), however long it takes to
// carry it to an offline signer and back.
//
// This header holds the pure parts (message building and the offline
// signer's checks, HODL address checks) and the two networked steps that are
// not balancer cycles (creating a nonce account, submitting a signed
// request). The balancer writes the requests (Balancer::fund_banks).
//
// Thread safety: free functions; the store/RPC rules of their arguments apply.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "qtw/result.h"
#include "qtw/rpc/rpc_client.h"
#include "qtw/rpc/transaction_sender.h"
#include "qtw/solana/message.h"
#include "qtw/solana/nonce.h"
#include "qtw/solana/types.h"
#include "qtw/store/key_store.h"

namespace qtw::wallet {

// ---- HODL address checks (qtw init, qtw hodl add, qtw rescue) ----

// kInvalidArgument naming what the address is when `pubkey` is a program id
// (System, Compute Budget, Token, Token-2022, Associated Token, loaders,
// Vote, Stake, Config, lookup tables, precompiles, Memo, Feature), a sysvar,
// or the incinerator: funds sent there are lost or the transfer fails.
// Off-curve addresses (a multisig vault) pass. Pure.
[[nodiscard]] Status check_hodl_address(const solana::Pubkey& pubkey);

// What the chain says about a HODL candidate. kInvalidArgument when the
// account is executable (a program); otherwise warnings for the operator: the
// account does not exist (0 lamports: a typo?), it is owned by a program other
// than System (it cannot pay fees), it is off-curve (no key can sign for it:
// fine for a multisig vault as sweep destination, but `qtw hodl sign` cannot
// sign its top-ups). RPC errors are returned as they are.
[[nodiscard]] Result<std::vector<std::string>> check_hodl_on_chain(rpc::RpcClient& rpc,
                                                                   const solana::Pubkey& pubkey);

// ---- top-up messages ----

// The unsigned top-up message: AdvanceNonceAccount(nonce_account, hodl) then
// one System Transfer hodl -> Bank per transfer, in order; fee payer and only
// signer: the HODL key (it must sign as nonce authority and source anyway,
// so the offline signer checks one signature, and no hot key signs a message
// that never expires); recent_blockhash = nonce_value. No compute-budget
// instructions (nothing beyond the transfers for the offline signer to
// judge). kInvalidArgument when a transfer is not from `hodl` or is 0;
// kTooLarge past 1,232 bytes.
[[nodiscard]] Result<solana::Message> build_topup_message(
    const solana::Pubkey& hodl, const solana::Pubkey& nonce_account,
    const solana::Hash& nonce_value, std::span<const store::IntentTransfer> transfers);

// Banks one top-up request may cover (fits the packet limit with room).
inline constexpr std::size_t kMaxBanksPerTopup = 18;

// What a request file claims; the offline signer checks the message against
// it and against the signer's own key.
struct TopupClaim {
  solana::Pubkey hodl;
  solana::Pubkey nonce_account;
  solana::Hash nonce_value;
  std::vector<solana::Pubkey> banks;             // the Banks listed in the request
  std::vector<store::IntentTransfer> transfers;  // as listed, in order
};

// One decoded transfer of a checked message.
struct TopupTransferView {
  solana::Pubkey from;
  solana::Pubkey to;
  std::uint64_t lamports = 0;
};

struct CheckedTopup {
  solana::Message message;
  std::vector<TopupTransferView> transfers;
  std::uint64_t total_lamports = 0;
};

// The offline signer's check of `message_bytes` (qtw hodl sign). Refuses
// (kInvalidArgument, with the instruction index and the reason) anything but
// exactly: a legacy message with one signer, the claimed HODL key, as fee
// payer; recent_blockhash = the claimed nonce value; instruction 0 =
// AdvanceNonceAccount of the claimed nonce account with the HODL key as
// authority; every other instruction a System Transfer from the HODL key to
// a Bank listed in the claim, with the listed amount, in the listed order;
// no other program, account or signer; and the message equal, byte for byte,
// to build_topup_message of the claim. Pure.
[[nodiscard]] Result<CheckedTopup> check_topup_message(std::span<const std::uint8_t> message_bytes,
                                                       const TopupClaim& claim);

// ---- networked steps ----

struct CreateNonceOptions {
  rpc::SenderOptions sender;  // how the creation is confirmed
};

// qtw hodl nonce create: creates a nonce account with `hodl` as authority,
// funded by Bank `bank` (rent-exempt minimum for 80 bytes, from the node) at
// create_with_seed(bank, "qtw-nonce-<n>", System Program): no key of its
// own, so there is no secret to hold, store or lose, and the address is
// re-derivable from the Bank. Records it (kCreating) and the intent before
// sending (I1); kActive once confirmed, kFailed if it did not land.
// kInvalidArgument when `hodl` is not a HODL key or `bank` does not match
// the Bank record; kInsufficientFunds when the Bank cannot pay rent + fee and
// keep its own rent-exempt minimum.
[[nodiscard]] Result<store::NonceAccountRecord> create_nonce_account(
    store::KeyStore& store, rpc::RpcClient& rpc, const solana::Keypair& bank,
    const solana::Pubkey& hodl, const CreateNonceOptions& options = {});

// Outcome of submitting a signed request.
struct SubmitResult {
  std::int64_t request_id = 0;
  store::TopupStatus status = store::TopupStatus::kSubmitted;  // after this call
  solana::Signature signature;
  bool already_landed = false;  // it had landed before this call: nothing sent
  std::uint64_t slot = 0;
  std::uint64_t fee_lamports = 0;
  std::string detail;
};

// qtw hodl submit: checks `signature` against request `request_id`'s
// message (Ed25519 over the exact stored bytes: a signature of any other
// message is kInvalidArgument), checks on chain that its nonce still holds
// the request's value (otherwise the request is marked stale and the call
// fails with kConflict saying so, unless it is this signature that advanced
// it), persists the intent, sends, confirms and records the outcome in the
// intent log, the request and the audit log. A request that already landed
// is reported (already_landed) and not sent again.
[[nodiscard]] Result<SubmitResult> submit_topup(store::KeyStore& store, rpc::RpcClient& rpc,
                                                std::int64_t request_id,
                                                const solana::Signature& signature,
                                                const rpc::SenderOptions& sender = {});

// Reads the nonce accounts named and decodes them: nullopt for a missing or
// non-nonce account. One getMultipleAccounts.
[[nodiscard]] Result<std::vector<std::optional<solana::NonceAccountState>>> read_nonce_accounts(
    rpc::RpcClient& rpc, std::span<const solana::Pubkey> addresses);

}  // namespace qtw::wallet
