// The balancer's recovery step (DESIGN §4 step 2; issues 12 §3 and 13):
// one bad Explorer never blocks the others, and token accounts come back
// with their rent. The packing itself is the pure plan_recovery (tx_plan).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "qtw/solana/programs.h"
#include "qtw/solana/token.h"
#include "qtw/solana/transaction.h"
#include "qtw/wallet/balancer.h"
#include "qtw/wallet/token_view.h"

namespace qtw::wallet {
namespace {

using solana::Pubkey;
using store::IntentKind;
using store::KeyRecord;
using store::KeyState;
using store::KeyTier;

// Failures that will repeat however often the same Explorer is retried: the
// runtime rejected what the Explorer's account is (not the network, not the
// blockhash). Others leave it `used` for the next cycle.
bool repeats_on_retry(const std::string& err) {
  for (const char* marker : {"InstructionError", "InsufficientFundsForRent",
                             "InvalidAccountForFee", "InvalidAccountData"}) {
    if (err.find(marker) != std::string::npos) return true;
  }
  return false;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

// Why a token account cannot be emptied and closed by its owner's
// signature alone, or "" when it can. `mint` is null when unreadable.
std::string unmovable_reason(const ParsedToken& t, const solana::Mint* mint, const Pubkey& owner) {
  using solana::TokenExtension;
  const auto& a = t.state;
  if (a.state == solana::TokenAccountState::kFrozen) return "frozen by the mint's freeze authority";
  if (a.close_authority && *a.close_authority != owner) {
    return "its close authority is " + a.close_authority->to_base58();
  }
  if (a.withheld_fee_amount > 0) {
    return std::to_string(a.withheld_fee_amount) + " transfer fees withheld in it";
  }
  if (a.has(TokenExtension::kConfidentialTransferAccount)) return "confidential transfer state";
  if (a.native_rent_reserve || a.amount == 0) return "";
  if (mint == nullptr) return "its mint cannot be read";
  if (mint->has(TokenExtension::kNonTransferable)) return "non-transferable mint";
  if (mint->has(TokenExtension::kTransferHook)) return "mint with a transfer hook";
  if (mint->has(TokenExtension::kTransferFeeConfig)) return "mint with a transfer fee";
  if (mint->has(TokenExtension::kPausable)) return "pausable mint";
  return "";
}

}  // namespace

Status Balancer::strand(const KeyRecord& key, KeyState from, const std::string& reason,
                        BalanceReport& report) {
  QTW_TRY(store_.transition(key.pubkey, from, KeyState::kStranded, reason));
  ++report.explorers_stranded;
  report.stranded.push_back({key.pubkey, reason});
  report.warnings.push_back("Explorer " + key.pubkey.to_base58() + " is stranded: " + reason);
  spdlog::warn("Explorer {} is stranded (not retried): {}", key.pubkey.to_base58(), reason);
  return {};
}

void Balancer::note_signed_without_token_programs(const Pubkey& explorer) {
  std::lock_guard lock(hint_mu_);
  no_token_programs_.insert(explorer);
}

Status Balancer::read_tokens(std::vector<RecoveryCandidate>& candidates, BalanceReport& report) {
  // Only the Explorers whose signed message could have made token accounts
  // are asked about (two getTokenAccountsByOwner each, batched).
  std::vector<Pubkey> owners;
  std::vector<std::size_t> asked;  // candidate index per owner
  owners.reserve(candidates.size());
  {
    std::lock_guard lock(hint_mu_);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      const Pubkey& k = candidates[i].recovery.explorer;
      if (no_token_programs_.erase(k) > 0) continue;
      owners.push_back(k);
      asked.push_back(i);
    }
  }
  QTW_ASSIGN_OR_RETURN(auto view, read_token_view(rpc_, owners));
  for (const auto& u : view.unreadable) {
    report.warnings.push_back("token account " + u + "; left as it is");
  }
  for (std::size_t o = 0; o < asked.size(); ++o) {
    auto& c = candidates[asked[o]];
    for (const auto& t : view.by_owner[o]) {
      auto mint_it = view.mints.find(t.state.mint);
      const solana::Mint* mint = mint_it == view.mints.end() ? nullptr : &mint_it->second;
      const std::string why = unmovable_reason(t, mint, c.recovery.explorer);
      if (!why.empty()) {
        c.unmovable.push_back(t.account.to_base58() + " (mint " + t.state.mint.to_base58() +
                              ", " + std::to_string(t.state.amount) + " units, " +
                              std::to_string(t.lamports) + " lamports): " + why);
        continue;
      }
      TokenRecovery r;
      r.account = t.account;
      r.mint = t.state.mint;
      r.token_program = t.program;
      r.lamports = t.lamports;
      if (!t.state.native_rent_reserve) {
        r.amount = t.state.amount;
        r.decimals = mint != nullptr ? mint->decimals : 0;
      }
      c.recovery.tokens.push_back(r);
    }
  }
  return {};
}

Status Balancer::prepare_bank_atas(std::vector<RecoveryCandidate>& candidates,
                                   const rpc::LatestBlockhash& blockhash, BalanceReport& report) {
  // (bank row id, mint, program) a token balance must reach.
  std::map<std::int64_t, std::set<std::pair<Pubkey, Pubkey>>> needed;
  for (const auto& c : candidates) {
    for (const auto& t : c.recovery.tokens) {
      if (t.amount > 0) needed[*c.key->funding_bank_id].emplace(t.mint, t.token_program);
    }
  }
  if (needed.empty()) return {};
  std::vector<Pubkey> atas;
  std::vector<std::tuple<std::int64_t, Pubkey, Pubkey>> owners_of;
  std::map<std::int64_t, KeyRecord> banks;
  for (const auto& [bank_id, mints] : needed) {
    QTW_ASSIGN_OR_RETURN(auto bank, store_.get_key_by_id(bank_id));
    for (const auto& [mint, program] : mints) {
      QTW_ASSIGN_OR_RETURN(auto ata, solana::associated_token_address(bank.pubkey, mint, program));
      atas.push_back(ata);
      owners_of.emplace_back(bank_id, mint, program);
    }
    banks.emplace(bank_id, std::move(bank));
  }
  auto missing_atas = [&]() -> Result<std::map<std::int64_t, std::vector<std::pair<Pubkey, Pubkey>>>> {
    QTW_ASSIGN_OR_RETURN(auto accounts, rpc_.get_multiple_accounts(atas));
    std::map<std::int64_t, std::vector<std::pair<Pubkey, Pubkey>>> out;
    for (std::size_t i = 0; i < atas.size(); ++i) {
      if (!accounts[i]) {
        const auto& [bank_id, mint, program] = owners_of[i];
        out[bank_id].emplace_back(mint, program);
      }
    }
    return out;
  };
  QTW_ASSIGN_OR_RETURN(auto missing, missing_atas());
  if (missing.empty()) return {};
  // The Bank pays each new account's rent once per mint, in its own
  // transaction, confirmed before any recovery that sends tokens there.
  for (const auto& [bank_id, mints] : missing) {
    const KeyRecord& bank = banks.at(bank_id);
    QTW_ASSIGN_OR_RETURN(auto plan, plan_bank_atas(bank.pubkey, bank.pubkey, mints,
                                                   blockhash.blockhash, options_.priority));
    QTW_ASSIGN_OR_RETURN(auto bank_kp, signer_.bank_keypair(*bank.bank_index));
    for (auto& p : plan) {
      // One 0-lamport row per new account ties the intent to its Bank: the
      // rent is what the ATA program charges (Token-2022 accounts grow with
      // the mint's extensions), read from the chain, not planned here.
      std::vector<store::IntentTransfer> rows;
      for (const auto& [mint, program] : p.mints) {
        QTW_ASSIGN_OR_RETURN(auto ata, solana::associated_token_address(bank.pubkey, mint, program));
        rows.push_back(store::IntentTransfer{bank.pubkey, ata, 0});
      }
      auto tx = solana::Transaction::from_message(std::move(p.message));
      const solana::Keypair* signers[] = {&bank_kp};
      QTW_TRY(tx.sign(signers));
      QTW_TRY(persist_and_queue(IntentKind::kTransfer, tx, blockhash.last_valid_block_height,
                                p.fee_lamports, std::move(rows), {}, report));
    }
  }
  QTW_TRY(confirm(report));
  in_flight_.clear();
  QTW_ASSIGN_OR_RETURN(missing, missing_atas());
  // Explorers whose tokens have nowhere to go wait for the next cycle.
  for (auto& c : candidates) {
    auto it = missing.find(*c.key->funding_bank_id);
    if (it == missing.end()) continue;
    for (const auto& t : c.recovery.tokens) {
      if (t.amount > 0 &&
          std::find(it->second.begin(), it->second.end(), std::make_pair(t.mint, t.token_program)) !=
              it->second.end()) {
        report.warnings.push_back("Bank " + banks.at(it->first).pubkey.to_base58() +
                                  " could not create its token account for mint " +
                                  t.mint.to_base58() + "; Explorer " +
                                  c.recovery.explorer.to_base58() + " waits for the next cycle");
        c.key = nullptr;  // skipped this cycle
        break;
      }
    }
  }
  return {};
}

Status Balancer::recover(const std::vector<KeyRecord>& used,
                         const std::unordered_map<Pubkey, rpc::AccountInfo>& accounts,
                         const rpc::LatestBlockhash& blockhash, BalanceReport& report) {
  // 1. What each Explorer's own account is. One that the System Program can
  // no longer transfer from is stranded now, before it could share a
  // transaction with the others (its failure would fail theirs).
  std::vector<RecoveryCandidate> candidates;
  for (const auto& k : used) {
    if (!k.funding_bank_id || !k.bank_index || !k.explorer_index) {
      report.warnings.push_back("Explorer " + k.pubkey.to_base58() +
                                " has no funding Bank recorded; left for an operator");
      continue;
    }
    auto it = accounts.find(k.pubkey);
    const rpc::AccountInfo* acct =
        it == accounts.end() || it->second.lamports == 0 ? nullptr : &it->second;
    RecoveryCandidate c;
    c.key = &k;
    c.recovery.explorer = k.pubkey;
    c.recovery.lamports = acct != nullptr ? acct->lamports : 0;
    if (!options_.classify_before_recovery) {
      candidates.push_back(std::move(c));
      continue;
    }
    if (acct != nullptr && acct->owner != solana::system_program_id()) {
      QTW_TRY(strand(k, KeyState::kUsed,
                     "owner changed to " + acct->owner.to_base58() + " (Assign): its " +
                         std::to_string(acct->lamports) +
                         " lamports can move only by that program",
                     report));
      continue;
    }
    if (acct != nullptr && !acct->data.empty()) {
      auto nonce = solana::system_program::parse_nonce_account(acct->data);
      if (nonce && nonce->initialized && nonce->authority == k.pubkey) {
        // The wallet holds the authority: WithdrawNonceAccount of the whole
        // balance closes it into the Bank.
        c.recovery.nonce_account = true;
      } else if (nonce && nonce->initialized) {
        QTW_TRY(strand(k, KeyState::kUsed,
                       "a nonce account whose authority is " + nonce->authority.to_base58() +
                           ": only that key can withdraw its " + std::to_string(acct->lamports) +
                           " lamports",
                       report));
        continue;
      } else {
        QTW_TRY(strand(k, KeyState::kUsed,
                       "data allocated (" + std::to_string(acct->data.size()) +
                           " bytes): a System account with data cannot transfer its " +
                           std::to_string(acct->lamports) + " lamports",
                       report));
        continue;
      }
    }
    candidates.push_back(std::move(c));
  }
  if (candidates.empty()) return {};

  // 2. Their token accounts (both programs, batched) and what each allows.
  QTW_TRY(read_tokens(candidates, report));
  std::vector<RecoveryCandidate> due;
  for (auto& c : candidates) {
    const auto& r = c.recovery;
    std::string left;
    if (!c.unmovable.empty()) {
      left = "token account(s) that cannot move: " + join(c.unmovable, "; ");
      for (const auto& u : c.unmovable) report.unmovable_token_accounts.push_back(u);
    }
    if (r.lamports == 0 && r.tokens.empty()) {
      if (left.empty()) {
        QTW_TRY(store_.transition(c.key->pubkey, KeyState::kUsed, KeyState::kRetired,
                                  "balance confirmed 0"));
        ++report.explorers_retired_empty;
      } else {
        QTW_TRY(strand(*c.key, KeyState::kUsed, left, report));
      }
      continue;
    }
    if (r.tokens.empty() && r.lamports < kLamportsPerSignature) {
      // Its own signature would cost more than it returns.
      QTW_TRY(strand(*c.key, KeyState::kUsed,
                     "holds " + std::to_string(r.lamports) +
                         " lamports, less than the 5000-lamport fee of its own signature" +
                         (left.empty() ? "" : "; " + left),
                     report));
      continue;
    }
    due.push_back(std::move(c));
    due.back().unmovable.assign(1, left);
  }
  if (due.empty()) return {};

  // 3. Banks' token accounts for the mints coming back, then the batches.
  QTW_TRY(prepare_bank_atas(due, blockhash, report));
  std::map<std::int64_t, std::vector<RecoveryCandidate*>> by_bank;
  for (auto& c : due) {
    if (c.key != nullptr) by_bank[*c.key->funding_bank_id].push_back(&c);
  }
  for (auto& [bank_id, members] : by_bank) {
    QTW_ASSIGN_OR_RETURN(auto bank, store_.get_key_by_id(bank_id));
    std::vector<ExplorerRecovery> inputs;
    std::vector<std::string> reasons;
    for (auto* m : members) {
      inputs.push_back(m->recovery);
      reasons.push_back(m->unmovable.front());
    }
    QTW_TRY(queue_recovery(bank, std::move(inputs), std::move(reasons), blockhash, report));
  }
  return {};
}

Status Balancer::queue_recovery(const KeyRecord& bank, std::vector<ExplorerRecovery> inputs,
                                std::vector<std::string> strand_reasons,
                                const rpc::LatestBlockhash& blockhash, BalanceReport& report) {
  auto plan = plan_recovery(bank.pubkey, inputs, blockhash.blockhash, options_.priority);
  if (!plan) {
    report.warnings.push_back("recovery into Bank " + bank.pubkey.to_base58() +
                              " not planned: " + plan.error().message);
    return {};
  }
  for (auto& p : *plan) {
    std::vector<solana::Keypair> keypairs;
    RecoveryFlight flight;
    flight.bank = bank.pubkey;
    std::vector<store::IntentTransfer> transfers;
    std::vector<Pubkey> members;
    for (const auto& share : p.members) {
      const auto& in = inputs[share.index];
      QTW_ASSIGN_OR_RETURN(auto key, store_.get_key(in.explorer));
      QTW_ASSIGN_OR_RETURN(auto kp, signer_.explorer_keypair(*key.bank_index, *key.explorer_index));
      if (kp.pubkey() != in.explorer) {
        return make_error(ErrorCode::kInternal,
                          "derived key does not match the store for " + in.explorer.to_base58());
      }
      keypairs.push_back(std::move(kp));
      members.push_back(in.explorer);
      RecoveredShare local = share;
      local.index = flight.inputs.size();
      flight.inputs.push_back(in);
      flight.shares.push_back(local);
      flight.strand_reasons.push_back(strand_reasons[share.index]);
      for (std::size_t t = 0; t < share.tokens_done; ++t) {
        transfers.push_back(store::IntentTransfer{in.tokens[t].account, bank.pubkey,
                                                  in.tokens[t].lamports});
      }
      if (share.drained_lamports > 0) {
        transfers.push_back(store::IntentTransfer{in.explorer, bank.pubkey, share.drained_lamports});
      }
    }
    std::optional<solana::Keypair> bank_kp;
    if (p.bank_signs) {
      QTW_ASSIGN_OR_RETURN(auto b, signer_.bank_keypair(*bank.bank_index));
      bank_kp.emplace(std::move(b));
    }
    auto tx = solana::Transaction::from_message(std::move(p.message));
    std::vector<const solana::Keypair*> signers;
    if (bank_kp) signers.push_back(&*bank_kp);
    for (const auto& kp : keypairs) signers.push_back(&kp);
    QTW_TRY(tx.sign(signers));
    QTW_TRY(persist_and_queue(IntentKind::kRecover, tx, blockhash.last_valid_block_height,
                              p.fee_lamports, std::move(transfers),
                              [&]() -> Status {
                                return store_.transition_many(members, KeyState::kUsed,
                                                              KeyState::kDraining,
                                                              "recovery transaction prepared");
                              },
                              report));
    in_flight_.back().recovery = std::move(flight);
  }
  return {};
}

Status Balancer::retry_failed_recoveries(BalanceReport& report) {
  // Each round halves every failed batch, so a batch of n needs about
  // log2(n) rounds; the bound only guards against a runaway.
  for (int round = 0; round < 16 && !failed_recoveries_.empty(); ++round) {
    auto failed = std::move(failed_recoveries_);
    failed_recoveries_.clear();
    QTW_ASSIGN_OR_RETURN(auto blockhash, fresh_blockhash());
    for (auto& f : failed) {
      auto& r = *f.recovery;
      if (r.inputs.size() == 1) {
        QTW_ASSIGN_OR_RETURN(auto key, store_.get_key(r.inputs.front().explorer));
        if (repeats_on_retry(f.error)) {
          QTW_TRY(strand(key, KeyState::kUsed,
                         "its recovery transaction fails on its own: " + f.error, report));
        } else {
          ++report.transactions_failed;
          report.warnings.push_back("recovery of Explorer " + key.pubkey.to_base58() +
                                    " failed (" + f.error + "); retried next cycle");
        }
        continue;
      }
      ++report.recovery_batches_split;
      spdlog::info("recovery transaction {} failed ({}); splitting its {} Explorers",
                   f.tx.signature.to_base58(), f.error, r.inputs.size());
      QTW_ASSIGN_OR_RETURN(auto bank, store_.get_key(r.bank));
      const std::size_t half = r.inputs.size() / 2;
      for (auto [from, to] : {std::pair<std::size_t, std::size_t>{0, half},
                              std::pair<std::size_t, std::size_t>{half, r.inputs.size()}}) {
        std::vector<ExplorerRecovery> inputs(r.inputs.begin() + static_cast<std::ptrdiff_t>(from),
                                             r.inputs.begin() + static_cast<std::ptrdiff_t>(to));
        std::vector<std::string> reasons(
            r.strand_reasons.begin() + static_cast<std::ptrdiff_t>(from),
            r.strand_reasons.begin() + static_cast<std::ptrdiff_t>(to));
        QTW_TRY(queue_recovery(bank, std::move(inputs), std::move(reasons), blockhash, report));
      }
    }
    QTW_TRY(confirm(report));
    in_flight_.clear();
  }
  return {};
}

Status Balancer::sweep_bank_tokens(const std::vector<KeyRecord>& banks, const Pubkey& hodl,
                                   BalanceReport& report) {
  std::vector<const KeyRecord*> signing;
  std::vector<Pubkey> owners;
  for (const auto& b : banks) {
    if (!b.bank_index) continue;
    signing.push_back(&b);
    owners.push_back(b.pubkey);
  }
  QTW_ASSIGN_OR_RETURN(auto view, read_token_view(rpc_, owners));
  for (const auto& u : view.unreadable) {
    report.warnings.push_back("token account " + u + "; left as it is");
  }
  QTW_ASSIGN_OR_RETURN(auto blockhash, rpc_.get_latest_blockhash());
  for (std::size_t b = 0; b < signing.size(); ++b) {
    const KeyRecord& bank = *signing[b];
    if (view.by_owner[b].empty()) continue;
    QTW_ASSIGN_OR_RETURN(auto bank_kp, signer_.bank_keypair(*bank.bank_index));
    // Greedy: each account's instructions (HODL's account for the mint,
    // created idempotently; the transfer; the close into HODL) join the
    // current transaction while it fits in 1,232 bytes.
    struct Pending {
      std::vector<solana::Instruction> ixs;
      std::map<Pubkey, std::uint64_t> moved;
      std::uint32_t closes = 0;
      std::uint64_t lamports = 0;
      std::vector<store::IntentTransfer> transfers;
    };
    Pending current;
    auto flush = [&](Pending& p) -> Status {
      if (p.ixs.empty()) return {};
      QTW_ASSIGN_OR_RETURN(auto msg, solana::Message::compile(bank.pubkey, p.ixs, blockhash.blockhash));
      const std::uint64_t fee = local_fee_lamports(msg);
      auto tx = solana::Transaction::from_message(std::move(msg));
      const solana::Keypair* signers[] = {&bank_kp};
      QTW_TRY(tx.sign(signers));
      QTW_TRY(persist_and_queue(IntentKind::kSweep, tx, blockhash.last_valid_block_height, fee,
                                p.transfers, {}, report));
      in_flight_.back().tokens_moved = p.moved;
      in_flight_.back().token_closes = p.closes;
      in_flight_.back().close_lamports = p.lamports;
      p = Pending{};
      return {};
    };
    for (const auto& t : view.by_owner[b]) {
      auto mint_it = view.mints.find(t.state.mint);
      const solana::Mint* mint = mint_it == view.mints.end() ? nullptr : &mint_it->second;
      const std::string why = unmovable_reason(t, mint, bank.pubkey);
      if (!why.empty()) {
        const std::string line = t.account.to_base58() + " (mint " + t.state.mint.to_base58() +
                                 ", Bank " + bank.pubkey.to_base58() + "): " + why;
        report.unmovable_token_accounts.push_back(line);
        report.warnings.push_back("token account " + line + "; left as it is");
        continue;
      }
      std::vector<solana::Instruction> ixs;
      const bool move = !t.state.native_rent_reserve && t.state.amount > 0;
      if (move) {
        QTW_ASSIGN_OR_RETURN(auto create, solana::associated_token::create_idempotent(
                                              bank.pubkey, hodl, t.state.mint, t.program));
        const Pubkey dest = create.accounts[1].pubkey;
        ixs.push_back(std::move(create));
        ixs.push_back(solana::token::transfer_checked(t.program, t.account, t.state.mint, dest,
                                                      bank.pubkey, t.state.amount,
                                                      mint->decimals));
      }
      ixs.push_back(solana::token::close_account(t.program, t.account, hodl, bank.pubkey));
      Pending trial = current;
      trial.ixs.insert(trial.ixs.end(), ixs.begin(), ixs.end());
      auto probe = solana::Message::compile(bank.pubkey, trial.ixs, blockhash.blockhash);
      const bool fits = probe && solana::Transaction::from_message(*probe).serialized_size() <=
                                     solana::kPacketDataSize;
      if (!fits) {
        QTW_TRY(flush(current));
        trial = Pending{};
        trial.ixs = ixs;
      }
      if (move) trial.moved[t.state.mint] += t.state.amount;
      ++trial.closes;
      trial.lamports += t.lamports;
      trial.transfers.push_back(store::IntentTransfer{t.account, hodl, t.lamports});
      current = std::move(trial);
    }
    QTW_TRY(flush(current));
  }
  QTW_TRY(confirm(report));
  in_flight_.clear();
  return {};
}

}  // namespace qtw::wallet
