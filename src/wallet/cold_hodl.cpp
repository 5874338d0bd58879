#include "qtw/wallet/cold_hodl.h"

#include <algorithm>
#include <limits>
#include <string_view>
#include <utility>

#include "qtw/solana/nonce.h"
#include "qtw/solana/programs.h"
#include "qtw/solana/transaction.h"
#include "solana/le_bytes.h"

namespace qtw::wallet {
namespace {

using solana::Pubkey;

struct Reserved {
  const char* address;
  const char* what;
};

// Addresses that are never a wallet (solana-sdk sdk-ids, sysvar ids,
// spl program ids). Sending lamports there loses them or fails.
constexpr Reserved kReserved[] = {
    {"11111111111111111111111111111111", "the System Program id"},
    {"ComputeBudget111111111111111111111111111111", "the Compute Budget program id"},
    {"TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "the SPL Token program id"},
    {"TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb", "the Token-2022 program id"},
    {"ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL", "the Associated Token Account program id"},
    {"BPFLoader1111111111111111111111111111111111", "a BPF loader id"},
    {"BPFLoader2111111111111111111111111111111111", "a BPF loader id"},
    {"BPFLoaderUpgradeab1e11111111111111111111111", "the upgradeable BPF loader id"},
    {"LoaderV411111111111111111111111111111111111", "the loader-v4 id"},
    {"NativeLoader1111111111111111111111111111111", "the native loader id"},
    {"Vote111111111111111111111111111111111111111", "the Vote program id"},
    {"Stake11111111111111111111111111111111111111", "the Stake program id"},
    {"Config1111111111111111111111111111111111111", "the Config program id"},
    {"AddressLookupTab1e1111111111111111111111111", "the Address Lookup Table program id"},
    {"Ed25519SigVerify111111111111111111111111111", "the Ed25519 precompile id"},
    {"KeccakSecp256k11111111111111111111111111111", "the secp256k1 precompile id"},
    {"Secp256r1SigVerify1111111111111111111111111", "the secp256r1 precompile id"},
    {"MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "the Memo program id"},
    {"Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo", "the Memo v1 program id"},
    {"Feature111111111111111111111111111111111111", "the Feature program id"},
    {"Sysvar1111111111111111111111111111111111111", "the sysvar owner id"},
    {"1nc1nerator11111111111111111111111111111111", "the incinerator (burn address)"},
    {"SysvarC1ock11111111111111111111111111111111", "the Clock sysvar"},
    {"SysvarEpochSchedu1e111111111111111111111111", "the EpochSchedule sysvar"},
    {"SysvarFees111111111111111111111111111111111", "the Fees sysvar"},
    {"SysvarRecentB1ockHashes11111111111111111111", "the RecentBlockhashes sysvar"},
    {"SysvarRent111111111111111111111111111111111", "the Rent sysvar"},
    {"SysvarRewards111111111111111111111111111111", "the Rewards sysvar"},
    {"SysvarS1otHashes111111111111111111111111111", "the SlotHashes sysvar"},
    {"SysvarS1otHistory11111111111111111111111111", "the SlotHistory sysvar"},
    {"SysvarStakeHistory1111111111111111111111111", "the StakeHistory sysvar"},
    {"Sysvar1nstructions1111111111111111111111111", "the Instructions sysvar"},
    {"SysvarEpochRewards1111111111111111111111111", "the EpochRewards sysvar"},
    {"SysvarLastRestartS1ot1111111111111111111111", "the LastRestartSlot sysvar"},
};

Error bad(const std::string& message) {
  return Error{ErrorCode::kInvalidArgument, message, 0};
}

std::uint32_t u32_le(std::span<const std::uint8_t> d) {
  return solana::detail::get_u32(d, 0);
}
std::uint64_t u64_le(std::span<const std::uint8_t> d) {
  return solana::detail::get_u64(d, 0);
}

}  // namespace

Status check_hodl_address(const Pubkey& pubkey) {
  for (const auto& r : kReserved) {
    auto id = Pubkey::from_base58(r.address);
    if (id && *id == pubkey) {
      return tl::unexpected(bad(pubkey.to_base58() + " is " + r.what +
                                ", not a wallet: funds sent there are lost or the transfer fails"));
    }
  }
  return {};
}

Result<std::vector<std::string>> check_hodl_on_chain(rpc::RpcClient& rpc, const Pubkey& pubkey) {
  std::vector<std::string> warnings;
  QTW_ASSIGN_OR_RETURN(auto account, rpc.get_account_info(pubkey));
  if (!account) {
    warnings.push_back(pubkey.to_base58() +
                       " does not exist on chain (0 lamports): check it is "
                       "the address you meant");
  } else {
    if (account->executable) {
      return tl::unexpected(bad(pubkey.to_base58() + " is an executable account (a program), not "
                                                     "a wallet"));
    }
    if (account->owner != solana::system_program_id()) {
      warnings.push_back(pubkey.to_base58() + " is owned by program " + account->owner.to_base58() +
                         ", not the System Program: it can receive sweeps but cannot pay fees "
                         "for top-ups");
    }
  }
  if (!solana::is_on_curve(pubkey)) {
    warnings.push_back(pubkey.to_base58() +
                       " is off-curve (a program-derived address, e.g. a "
                       "multisig vault): no single key signs for it, so "
                       "its Bank top-ups need that vault's own tooling");
  }
  return warnings;
}

Result<solana::Message> build_topup_message(const Pubkey& hodl, const Pubkey& nonce_account,
                                            const solana::Hash& nonce_value,
                                            std::span<const store::IntentTransfer> transfers) {
  if (transfers.empty()) return tl::unexpected(bad("a top-up needs at least one transfer"));
  std::vector<solana::Instruction> ixs;
  ixs.push_back(solana::system_program::advance_nonce_account(nonce_account, hodl));
  for (const auto& t : transfers) {
    if (t.from != hodl) return tl::unexpected(bad("a top-up transfer must come from the HODL key"));
    if (t.lamports == 0) return tl::unexpected(bad("a top-up transfer of 0 lamports"));
    if (t.to == hodl || t.to == nonce_account) {
      return tl::unexpected(bad("a top-up transfer must go to a Bank"));
    }
    ixs.push_back(solana::system_program::transfer(hodl, t.to, t.lamports));
  }
  QTW_ASSIGN_OR_RETURN(auto message, solana::Message::compile(hodl, ixs, nonce_value));
  auto tx = solana::Transaction::from_message(message);
  if (tx.serialized_size() > solana::kPacketDataSize) {
    return make_error(
        ErrorCode::kTooLarge,
        "top-up request for " + std::to_string(transfers.size()) + " Banks exceeds 1,232 bytes");
  }
  return message;
}

Result<CheckedTopup> check_topup_message(std::span<const std::uint8_t> message_bytes,
                                         const TopupClaim& claim) {
  std::size_t read = 0;
  auto parsed = solana::Message::deserialize(message_bytes, &read);
  if (!parsed) return tl::unexpected(bad("the message does not decode: " + parsed.error().message));
  if (read != message_bytes.size()) return tl::unexpected(bad("trailing bytes after the message"));
  const solana::Message& m = *parsed;
  CheckedTopup out;
  if (m.header.num_required_signatures != 1) {
    return tl::unexpected(bad("the message asks for " +
                              std::to_string(m.header.num_required_signatures) +
                              " signers; a top-up has exactly one, the HODL key"));
  }
  if (m.fee_payer() != claim.hodl) {
    return tl::unexpected(bad("the fee payer and signer " + m.fee_payer().to_base58() +
                              " is not the HODL key " + claim.hodl.to_base58()));
  }
  if (m.recent_blockhash != claim.nonce_value) {
    return tl::unexpected(bad("the message's blockhash " + m.recent_blockhash.to_base58() +
                              " is not the request's nonce value " +
                              claim.nonce_value.to_base58()));
  }
  const auto ixs = m.decompile();
  if (ixs.empty()) return tl::unexpected(bad("the message has no instructions"));
  auto where = [](std::size_t i) { return "instruction " + std::to_string(i) + ": "; };
  // Instruction 0: AdvanceNonceAccount(nonce, RecentBlockhashes, HODL).
  const auto& adv = ixs[0];
  if (adv.program_id != solana::system_program_id() || adv.data.size() != 4 ||
      u32_le(adv.data) != solana::kSystemAdvanceNonceAccount || adv.accounts.size() != 3) {
    return tl::unexpected(bad(where(0) + "is not AdvanceNonceAccount; a top-up starts with it"));
  }
  if (adv.accounts[0].pubkey != claim.nonce_account) {
    return tl::unexpected(
        bad(where(0) + "advances nonce account " + adv.accounts[0].pubkey.to_base58() +
            ", not the request's nonce account " + claim.nonce_account.to_base58()));
  }
  if (adv.accounts[1].pubkey != solana::sysvar_recent_blockhashes_id() ||
      adv.accounts[2].pubkey != claim.hodl) {
    return tl::unexpected(bad(where(0) + "nonce authority is not the HODL key"));
  }
  if (ixs.size() - 1 != claim.transfers.size()) {
    return tl::unexpected(bad("the message has " + std::to_string(ixs.size() - 1) +
                              " instruction(s) after the nonce advance; the request lists " +
                              std::to_string(claim.transfers.size()) + " transfer(s)"));
  }
  for (std::size_t i = 1; i < ixs.size(); ++i) {
    const auto& ix = ixs[i];
    if (ix.program_id != solana::system_program_id()) {
      return tl::unexpected(bad(where(i) + "calls program " + ix.program_id.to_base58() +
                                "; a top-up calls only the System Program"));
    }
    if (ix.data.size() != 12 || u32_le(ix.data) != solana::kSystemTransfer ||
        ix.accounts.size() != 2) {
      return tl::unexpected(bad(where(i) + "is not a System Transfer"));
    }
    TopupTransferView v{ix.accounts[0].pubkey, ix.accounts[1].pubkey,
                        u64_le(std::span(ix.data).subspan(4, 8))};
    if (v.from != claim.hodl) {
      return tl::unexpected(
          bad(where(i) + "transfers from " + v.from.to_base58() + ", not from the HODL key"));
    }
    if (std::find(claim.banks.begin(), claim.banks.end(), v.to) == claim.banks.end()) {
      return tl::unexpected(bad(where(i) + "pays " + v.to.to_base58() +
                                ", which is not a Bank listed in the request"));
    }
    const auto& want = claim.transfers[i - 1];
    if (want.to != v.to) {
      return tl::unexpected(bad(where(i) + "pays " + v.to.to_base58() +
                                " where the request lists " + want.to.to_base58()));
    }
    if (want.lamports != v.lamports) {
      return tl::unexpected(bad(where(i) + "moves " + std::to_string(v.lamports) +
                                " lamports where the request lists " +
                                std::to_string(want.lamports)));
    }
    if (out.total_lamports > std::numeric_limits<std::uint64_t>::max() - v.lamports) {
      return tl::unexpected(bad("total overflows"));
    }
    out.total_lamports += v.lamports;
    out.transfers.push_back(v);
  }
  // Last, the whole message must be exactly what the claim describes: no
  // extra account, no other ordering, nothing the checks above did not name.
  QTW_ASSIGN_OR_RETURN(auto expected, build_topup_message(claim.hodl, claim.nonce_account,
                                                          claim.nonce_value, claim.transfers));
  if (expected.serialize() !=
      std::vector<std::uint8_t>(message_bytes.begin(), message_bytes.end())) {
    return tl::unexpected(
        bad("the message differs from the top-up the request describes "
            "(extra accounts or another layout)"));
  }
  out.message = std::move(*parsed);
  return out;
}

Result<std::vector<std::optional<solana::NonceAccountState>>> read_nonce_accounts(
    rpc::RpcClient& rpc, std::span<const Pubkey> addresses) {
  std::vector<std::optional<solana::NonceAccountState>> out(addresses.size());
  if (addresses.empty()) return out;
  QTW_ASSIGN_OR_RETURN(auto accounts, rpc.get_multiple_accounts(addresses));
  for (std::size_t i = 0; i < accounts.size() && i < out.size(); ++i) {
    if (!accounts[i] || accounts[i]->owner != solana::system_program_id()) continue;
    auto st = solana::decode_nonce_account(accounts[i]->data);
    if (st && st->initialized) out[i] = *st;
  }
  return out;
}

Result<store::NonceAccountRecord> create_nonce_account(store::KeyStore& store, rpc::RpcClient& rpc,
                                                       const solana::Keypair& bank,
                                                       const Pubkey& hodl,
                                                       const CreateNonceOptions& options) {
  QTW_ASSIGN_OR_RETURN(auto hodl_key, store.get_key(hodl));
  if (hodl_key.tier != store::KeyTier::Hodl) {
    return tl::unexpected(bad(hodl.to_base58() + " is not a HODL key of this wallet"));
  }
  QTW_ASSIGN_OR_RETURN(auto bank_key, store.get_key(bank.pubkey()));
  if (bank_key.tier != store::KeyTier::Bank) {
    return tl::unexpected(bad(bank.pubkey().to_base58() + " is not a Bank of this wallet"));
  }
  QTW_ASSIGN_OR_RETURN(auto known, store.list_nonce_accounts());
  // The first free seed: not in the store and not on chain.
  std::string seed;
  Pubkey address;
  for (std::uint32_t n = 0;; ++n) {
    if (n > 1000) return make_error(ErrorCode::kInternal, "no free nonce account seed");
    seed = "qtw-nonce-" + std::to_string(n);
    QTW_ASSIGN_OR_RETURN(
        address, solana::create_with_seed(bank.pubkey(), seed, solana::system_program_id()));
    const bool in_store = std::any_of(known.begin(), known.end(),
                                      [&](const auto& r) { return r.address == address; });
    if (in_store) continue;
    QTW_ASSIGN_OR_RETURN(auto existing, rpc.get_account_info(address));
    if (!existing) break;
  }
  QTW_ASSIGN_OR_RETURN(const std::uint64_t rent,
                       rpc.get_minimum_balance_for_rent_exemption(solana::kNonceAccountSize));
  QTW_ASSIGN_OR_RETURN(const std::uint64_t bank_rent_min,
                       rpc.get_minimum_balance_for_rent_exemption(0));
  QTW_ASSIGN_OR_RETURN(auto blockhash, rpc.get_latest_blockhash());
  const solana::Instruction ixs[] = {
      solana::system_program::create_account_with_seed(bank.pubkey(), address, bank.pubkey(), seed,
                                                       rent, solana::kNonceAccountSize,
                                                       solana::system_program_id()),
      solana::system_program::initialize_nonce_account(address, hodl)};
  QTW_ASSIGN_OR_RETURN(auto message,
                       solana::Message::compile(bank.pubkey(), ixs, blockhash.blockhash));
  QTW_ASSIGN_OR_RETURN(auto fee_quote, rpc.get_fee_for_message(message.serialize()));
  if (!fee_quote)
    return make_error(ErrorCode::kUnavailable, "the node forgot the blockhash; retry");
  QTW_ASSIGN_OR_RETURN(const std::uint64_t bank_lamports, rpc.get_balance(bank.pubkey()));
  const std::uint64_t cost = rent + *fee_quote;
  if (bank_lamports < cost + bank_rent_min) {
    return make_error(ErrorCode::kInsufficientFunds,
                      "Bank " + bank.pubkey().to_base58() + " holds " +
                          std::to_string(bank_lamports) + " lamports; a nonce account costs " +
                          std::to_string(cost) + " (rent " + std::to_string(rent) + " + fee) and " +
                          "the Bank keeps " + std::to_string(bank_rent_min));
  }
  auto tx = solana::Transaction::from_message(std::move(message));
  const solana::Keypair* signers[] = {&bank};
  QTW_TRY(tx.sign(signers));
  QTW_ASSIGN_OR_RETURN(auto wire, tx.serialize());

  store::NonceAccountRecord record;
  record.hodl = hodl;
  record.address = address;
  record.funding_bank = bank.pubkey();
  record.seed = seed;
  record.lamports = rent;
  record.status = store::NonceAccountStatus::kCreating;
  store::IntentRecord intent;
  intent.kind = store::IntentKind::kTransfer;
  intent.fee_payer = bank.pubkey();
  intent.transfers = {store::IntentTransfer{bank.pubkey(), address, rent}};
  intent.signature = tx.id();
  intent.blockhash = tx.message.recent_blockhash;
  intent.last_valid_block_height = blockhash.last_valid_block_height;
  intent.wire = wire;
  intent.fee_lamports = *fee_quote;
  std::int64_t intent_id = 0;
  // I1: the account and the transaction are durable before anything is sent.
  QTW_TRY(store.transact([&]() -> Status {
    QTW_ASSIGN_OR_RETURN(record.id, store.add_nonce_account(record));
    QTW_ASSIGN_OR_RETURN(intent_id, store.insert_intent(intent));
    return {};
  }));
  QTW_TRY(store.update_intent(intent_id, store::IntentStatus::kPrepared, store::IntentStatus::kSent,
                              {}));
  rpc::TransactionSender sender(rpc, options.sender);
  QTW_ASSIGN_OR_RETURN(auto outcome, sender.send_and_confirm(rpc::PendingTransaction{
                                         wire, tx.id(), blockhash.last_valid_block_height}));
  using rpc::TxOutcomeKind;
  if (outcome.kind == TxOutcomeKind::kUnknown) {
    return make_error(ErrorCode::kUnavailable,
                      "the nonce account creation " + tx.id().to_base58() +
                          " is not confirmed yet; the next `qtw balance` finishes it");
  }
  const bool ok =
      outcome.kind == TxOutcomeKind::kConfirmed || outcome.kind == TxOutcomeKind::kFinalized;
  store::IntentOutcome result;
  if (outcome.landed) {
    result.slot = outcome.slot;
    result.fee_lamports = *fee_quote;
  }
  result.error = outcome.err;
  QTW_TRY(store.transact([&]() -> Status {
    QTW_TRY(store.update_intent(
        intent_id, store::IntentStatus::kSent,
        ok ? store::IntentStatus::kConfirmed
           : (outcome.kind == TxOutcomeKind::kExpired ? store::IntentStatus::kExpired
                                                      : store::IntentStatus::kFailed),
        result));
    return store.set_nonce_account_status(
        address, store::NonceAccountStatus::kCreating,
        ok ? store::NonceAccountStatus::kActive : store::NonceAccountStatus::kFailed);
  }));
  if (!ok) {
    return make_error(ErrorCode::kRpc,
                      "the nonce account creation did not land: " +
                          (outcome.err.empty() ? std::string("expired") : outcome.err));
  }
  record.status = store::NonceAccountStatus::kActive;
  return record;
}

Result<SubmitResult> submit_topup(store::KeyStore& store, rpc::RpcClient& rpc,
                                  std::int64_t request_id, const solana::Signature& signature,
                                  const rpc::SenderOptions& sender_options) {
  using store::TopupStatus;
  QTW_ASSIGN_OR_RETURN(auto req, store.get_topup_request(request_id));
  SubmitResult out;
  out.request_id = req.id;
  out.signature = signature;
  const std::string name = "request " + std::to_string(req.id);
  if (req.status == TopupStatus::kLanded) {
    out.status = req.status;
    out.already_landed = true;
    if (req.signature) out.signature = *req.signature;
    out.detail = name + " already landed; nothing was sent";
    return out;
  }
  if (req.status == TopupStatus::kStale) {
    return make_error(ErrorCode::kConflict,
                      name + " is stale: its nonce account advanced without it (" + req.detail +
                          "), so it can never land. Sign the request that replaced it "
                          "(`qtw hodl requests`)");
  }
  if (req.status == TopupStatus::kFailed) {
    return make_error(ErrorCode::kConflict, name + " already landed with an error: " + req.detail);
  }
  // The signature must be the HODL key's signature of exactly this message.
  if (!solana::verify(req.hodl, req.message, signature)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the signature is not HODL " + req.hodl.to_base58() + "'s signature of " +
                          name + "'s message (was another message or key signed?)");
  }
  QTW_ASSIGN_OR_RETURN(auto message, solana::Message::deserialize(req.message));
  solana::Transaction tx = solana::Transaction::from_message(std::move(message));
  tx.signatures[0] = signature;
  QTW_ASSIGN_OR_RETURN(auto wire, tx.serialize());

  // The nonce must still hold the request's value, unless this very
  // transaction is what advanced it.
  const Pubkey nonce_keys[] = {req.nonce_account};
  QTW_ASSIGN_OR_RETURN(auto nonces, read_nonce_accounts(rpc, nonce_keys));
  // Set when this very transaction is what moved the nonce: it is recorded
  // as it landed and not sent again.
  std::optional<rpc::TxOutcome> already;
  if (!nonces[0] || nonces[0]->durable_nonce != req.nonce_value) {
    const solana::Signature sigs[] = {signature};
    QTW_ASSIGN_OR_RETURN(auto statuses, rpc.get_signature_statuses(sigs, true));
    if (statuses[0]) {
      rpc::TxOutcome o;
      o.kind =
          statuses[0]->err.empty() ? rpc::TxOutcomeKind::kConfirmed : rpc::TxOutcomeKind::kFailed;
      o.signature = signature;
      o.slot = statuses[0]->slot;
      o.landed = true;
      o.err = statuses[0]->err;
      already = o;
    } else {
      const std::string why = !nonces[0] ? "nonce account " + req.nonce_account.to_base58() +
                                               " is gone or not a nonce account"
                                         : "nonce account " + req.nonce_account.to_base58() +
                                               " now holds " + nonces[0]->durable_nonce.to_base58();
      QTW_TRY(store.update_topup_request(req.id, req.status, TopupStatus::kStale, std::nullopt,
                                         std::nullopt, why));
      return make_error(ErrorCode::kConflict,
                        name + " is stale: " + why +
                            ", so it can never land. Sign the request "
                            "that replaces it (the next `qtw balance` writes it)");
    }
  }

  // Persist the intent (or reuse the one an earlier submit wrote), then send.
  std::int64_t intent_id = 0;
  QTW_ASSIGN_OR_RETURN(const std::uint64_t height, rpc.get_block_height());
  if (req.status == TopupStatus::kSubmitted && req.intent_id) {
    intent_id = *req.intent_id;
    QTW_ASSIGN_OR_RETURN(auto intent, store.get_intent(intent_id));
    if (intent.signature != signature) {
      return make_error(ErrorCode::kConflict, name + " was already submitted with signature " +
                                                  intent.signature.to_base58());
    }
    if (intent.status == store::IntentStatus::kPrepared) {
      QTW_TRY(store.update_intent(intent_id, store::IntentStatus::kPrepared,
                                  store::IntentStatus::kSent, {}));
    }
  } else {
    store::IntentRecord intent;
    intent.kind = store::IntentKind::kFundBank;
    intent.fee_payer = req.hodl;
    intent.transfers = req.transfers;
    intent.signature = signature;
    intent.blockhash = req.nonce_value;
    // A durable transaction has no blockhash expiry; the intent log tracks
    // it like a fresh one (150 blocks from now) and the request, not the
    // intent, decides whether it can still land (its nonce).
    intent.last_valid_block_height = height + 150;
    intent.wire = wire;
    QTW_ASSIGN_OR_RETURN(auto fee, rpc.get_fee_for_message(req.message));
    intent.fee_lamports = fee.value_or(5000);
    QTW_TRY(store.transact([&]() -> Status {
      auto existing = store.get_intent_by_signature(signature);
      if (existing) {
        intent_id = existing->id;
      } else {
        QTW_ASSIGN_OR_RETURN(intent_id, store.insert_intent(intent));
      }
      return store.update_topup_request(req.id, TopupStatus::kPending, TopupStatus::kSubmitted,
                                        signature, intent_id, "");
    }));
    QTW_ASSIGN_OR_RETURN(auto written, store.get_intent(intent_id));
    if (written.status == store::IntentStatus::kPrepared) {
      QTW_TRY(store.update_intent(intent_id, store::IntentStatus::kPrepared,
                                  store::IntentStatus::kSent, {}));
    }
  }
  QTW_ASSIGN_OR_RETURN(auto intent, store.get_intent(intent_id));
  rpc::TxOutcome outcome;
  if (already) {
    outcome = *already;
  } else {
    rpc::TransactionSender sender(rpc, sender_options);
    QTW_ASSIGN_OR_RETURN(
        outcome, sender.send_and_confirm(rpc::PendingTransaction{wire, signature, height + 150}));
  }
  using rpc::TxOutcomeKind;
  out.slot = outcome.slot;
  if (outcome.kind == TxOutcomeKind::kUnknown) {
    out.status = TopupStatus::kSubmitted;
    out.detail =
        "sent, not confirmed yet: `qtw hodl submit` again or the next `qtw balance` "
        "finishes it";
    return out;
  }
  const bool ok =
      outcome.kind == TxOutcomeKind::kConfirmed || outcome.kind == TxOutcomeKind::kFinalized;
  store::IntentOutcome result;
  if (outcome.landed) {
    result.slot = outcome.slot;
    result.fee_lamports = intent.fee_lamports;
    out.fee_lamports = intent.fee_lamports.value_or(0);
  }
  result.error = outcome.err;
  const store::IntentStatus intent_to =
      ok ? store::IntentStatus::kConfirmed
         : (outcome.kind == TxOutcomeKind::kExpired ? store::IntentStatus::kExpired
                                                    : store::IntentStatus::kFailed);
  // Landed: landed or failed. Not landed (rejected before landing, or
  // expired by the intent's clock): back to pending while its nonce holds.
  const TopupStatus req_to =
      ok ? TopupStatus::kLanded : (outcome.landed ? TopupStatus::kFailed : TopupStatus::kPending);
  QTW_TRY(store.transact([&]() -> Status {
    if (intent.status != intent_to) {
      QTW_TRY(store.update_intent(intent_id,
                                  intent.status == store::IntentStatus::kPrepared
                                      ? store::IntentStatus::kSent
                                      : intent.status,
                                  intent_to, result));
    }
    return store.update_topup_request(req.id, TopupStatus::kSubmitted, req_to, std::nullopt,
                                      std::nullopt, ok ? "" : outcome.err);
  }));
  out.status = req_to;
  if (!ok) {
    return make_error(
        ErrorCode::kRpc,
        name + (outcome.landed ? " landed with an error: " : " was not accepted by the node: ") +
            (outcome.err.empty() ? std::string("expired") : outcome.err));
  }
  return out;
}

}  // namespace qtw::wallet
