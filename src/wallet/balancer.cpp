#include "qtw/wallet/balancer.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "qtw/metrics/wallet_metrics.h"
#include "qtw/phase_marker.h"
#include "qtw/wallet/cold_hodl.h"
#include "qtw/solana/encoding.h"
#include "qtw/solana/fees.h"
#include "qtw/solana/transaction.h"

namespace qtw::wallet {
namespace {

using solana::Pubkey;
using store::IntentKind;
using store::IntentStatus;
using store::KeyRecord;
using store::KeyState;
using store::KeyTier;

constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::string_view kBanksTooLow =
    "Banks hold too little to fund Explorers; waiting for a top-up";

std::int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Adds the time since `since` to `total_us` and restarts `since`.
void lap(std::int64_t& total_us, std::chrono::steady_clock::time_point& since) {
  const auto now = std::chrono::steady_clock::now();
  total_us += std::chrono::duration_cast<std::chrono::microseconds>(now - since).count();
  since = now;
}

std::vector<Pubkey> recipients_of(const std::vector<store::IntentTransfer>& transfers) {
  std::vector<Pubkey> out;
  out.reserve(transfers.size());
  for (const auto& t : transfers) out.push_back(t.to);
  return out;
}

std::vector<Pubkey> senders_of(const std::vector<store::IntentTransfer>& transfers) {
  std::vector<Pubkey> out;
  out.reserve(transfers.size());
  for (const auto& t : transfers) out.push_back(t.from);
  return out;
}

}  // namespace

Result<std::optional<std::int64_t>> funding_paused_since(store::KeyStore& store) {
  QTW_ASSIGN_OR_RETURN(auto value, store.get_setting(kFundingPausedSetting));
  if (!value || *value == 0) return std::optional<std::int64_t>{};
  return value;
}

Status pause_funding(store::KeyStore& store, std::string_view actor, std::string_view reason,
                     std::int64_t now_ms) {
  QTW_ASSIGN_OR_RETURN(auto since, funding_paused_since(store));
  if (since) return {};
  return store.transact([&]() -> Status {
    QTW_TRY(store.put_setting(kFundingPausedSetting, now_ms));
    return store
        .append_audit(store::AuditRecord{0, 0, std::string(actor), "wallet.pause", std::nullopt,
                                         std::nullopt, std::string(reason)})
        .map([](auto) {});
  });
}

Result<bool> resume_funding(store::KeyStore& store, std::string_view actor) {
  QTW_ASSIGN_OR_RETURN(auto since, funding_paused_since(store));
  if (!since) return false;
  QTW_TRY(store.transact([&]() -> Status {
    QTW_TRY(store.put_setting(kFundingPausedSetting, 0));
    return store
        .append_audit(store::AuditRecord{0, 0, std::string(actor), "wallet.resume", std::nullopt,
                                         std::nullopt, "paused since " + std::to_string(*since)})
        .map([](auto) {});
  }));
  return true;
}

Balancer::Balancer(store::KeyStore& store, rpc::RpcClient& rpc, KeySigner& signer,
                   BalancerOptions options, metrics::WalletMetrics* metrics)
    : store_(store), rpc_(rpc), signer_(signer), options_(std::move(options)), metrics_(metrics) {}

std::int64_t Balancer::now_ms() const {
  return options_.now_ms ? options_.now_ms() : system_now_ms();
}

Result<BalanceReport> Balancer::run_cycle() { return run_cycle(options_.params); }

Result<BalanceReport> Balancer::run_cycle(const BalanceParams& params) {
  std::lock_guard lock(cycle_mu_);
  const auto started = std::chrono::steady_clock::now();
  failed_recoveries_.clear();
  restore_scan_failed_.clear();
  auto report = cycle_locked(params);
  if (!report && !restore_scan_failed_.empty()) {
    // Say first that nothing was created, and why: the later failure is
    // usually the same outage.
    report = tl::unexpected(with_context(
        report.error(), "no Explorer created: this restored store's chain scan past each Bank's "
                        "next Explorer index failed (" +
                            restore_scan_failed_ + "); then the cycle failed"));
  }
  in_flight_.clear();
  if (report && !fee_rule_warning_.empty()) {
    report->warnings.push_back(std::move(fee_rule_warning_));
    fee_rule_warning_.clear();
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  if (report) {
    report->duration = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed);
  }
  if (metrics_ != nullptr) record_metrics(report, std::chrono::duration<double>(elapsed).count());
  return report;
}

void Balancer::record_metrics(const Result<BalanceReport>& report, double seconds) {
  metrics_->record_balancer_cycle(seconds);
  if (report) {
    metrics_->explorer_keys_created().inc(report->explorers_created);
    metrics_->explorer_keys_funds_recovered().inc(report->explorers_recovered);
    metrics_->bank_keys_funded().inc(report->banks_funded);
    metrics_->total_sol_recovered().inc(report->lamports_recovered);
    metrics_->fees_paid_lamports().inc(report->fees_lamports);
    metrics_->explorers_stranded().inc(report->explorers_stranded);
    metrics_->token_accounts_closed().inc(report->token_accounts_closed);
    metrics_->rent_recovered_lamports().inc(report->rent_recovered_lamports);
    for (const auto& [mint, amount] : report->tokens_recovered) {
      metrics_->tokens_recovered(mint).inc(amount);
    }
    metrics_->cap_hits("bank_outflow").inc(report->bank_outflow_caps_hit);
    metrics_->cap_hits("hodl_outflow").inc(report->hodl_outflow_caps_hit);
  } else {
    metrics_->balancer_cycles_failed().inc();
    if (report.error().code == ErrorCode::kCapExceeded) metrics_->cap_hits("explorer_amount").inc();
  }
  // Pool gauges from the store, every tier/state pair so a state that
  // empties reads 0 rather than its last value.
  auto counts = store_.count_keys();
  if (!counts) return;
  static constexpr KeyState kExplorerStates[] = {
      KeyState::kPending, KeyState::kAvailable, KeyState::kLeased,  KeyState::kUsed,
      KeyState::kDraining, KeyState::kRetired,  KeyState::kDropped, KeyState::kStranded};
  for (KeyState st : kExplorerStates) {
    metrics_->set_keys("explorer", store::key_state_name(st), 0);
  }
  metrics_->set_keys("bank", "active", 0);
  metrics_->set_keys("hodl", "active", 0);
  for (const auto& c : *counts) {
    metrics_->set_keys(store::key_tier_name(c.tier), store::key_state_name(c.state),
                       static_cast<std::int64_t>(c.count));
  }
}

Result<BalanceReport> Balancer::cycle_locked(const BalanceParams& params) {
  if (params.lamports_per_explorer == 0 || params.lamports_per_bank == 0) {
    return make_error(ErrorCode::kInvalidArgument, "lamports per Explorer and per Bank must be > 0");
  }
  if (params.lamports_per_explorer > options_.max_lamports_per_explorer) {
    return make_error(ErrorCode::kCapExceeded,
                      "lamports_per_explorer " + std::to_string(params.lamports_per_explorer) +
                          " exceeds the cap of " + std::to_string(options_.max_lamports_per_explorer) +
                          " (a safety cap, I7 in docs/ARCHITECTURE.md)");
  }
  BalanceReport report;

  // 0. Leases past their deadline count as used (I2), then finish whatever an
  // earlier cycle (or a crashed process) left in flight before sending
  // anything new (I4): planning on top of unknown transactions could double
  // fund.
  QTW_ASSIGN_OR_RETURN(auto expired, store_.expire_leases(now_ms()));
  report.leases_expired = static_cast<std::uint32_t>(expired.size());
  QTW_ASSIGN_OR_RETURN(const auto restored_at, restored_since(store_));
  restored_store_ = restored_at.has_value();
  QTW_TRY(resolve_unresolved(report));
  if (report.transactions_unknown > 0) {
    report.warnings.push_back(
        "some earlier transactions are still unresolved; nothing new was sent this cycle");
    return report;
  }
  // A restored store does not know the Explorers its original created after
  // the copy: scan the chain past every Bank's next index and reserve what
  // was used before any index is derived again (I2). Until that succeeds
  // nothing is created; recovery of the Explorers already known goes on.
  const bool may_create = scan_if_restored(params, report);
  // Ctrl-C: stop between steps; persisted intents are resumed next cycle.
  auto interrupted = [&] {
    if (options_.interrupt == nullptr || !options_.interrupt->load()) return false;
    report.interrupted = true;
    return true;
  };
  if (interrupted()) return report;

  if (rent_exempt_min_ == 0) {
    QTW_ASSIGN_OR_RETURN(rent_exempt_min_, rpc_.get_minimum_balance_for_rent_exemption(0));
  }
  if (params.lamports_per_explorer < rent_exempt_min_) {
    return make_error(ErrorCode::kInvalidArgument,
                      "lamports_per_explorer " + std::to_string(params.lamports_per_explorer) +
                          " is below the rent-exempt minimum of " + std::to_string(rent_exempt_min_));
  }

  // 1. Read every balance that matters in as few round trips as the node
  // allows (getMultipleAccounts, 100 keys per request, batched).
  store::KeyFilter f;
  f.tier = KeyTier::Bank;
  QTW_ASSIGN_OR_RETURN(auto banks, store_.list_keys(f));
  f.tier = KeyTier::Hodl;
  QTW_ASSIGN_OR_RETURN(auto hodls, store_.list_keys(f));
  f.tier = KeyTier::Explorer;
  f.state = KeyState::kUsed;
  QTW_ASSIGN_OR_RETURN(auto used, store_.list_keys(f));
  f.state = KeyState::kPending;
  QTW_ASSIGN_OR_RETURN(auto orphans, store_.list_keys(f));

  // Pending Explorers with no intent at all were reserved but never funded
  // (a crash between reserve and persist-intent): nothing was sent, drop them.
  for (const auto& k : orphans) {
    QTW_ASSIGN_OR_RETURN(auto intents, store_.list_intents_for_key(k.pubkey));
    if (intents.empty()) {
      QTW_TRY(store_.transition(k.pubkey, KeyState::kPending, KeyState::kDropped,
                                "reserved but no funding transaction was ever persisted"));
      ++report.explorers_dropped;
    }
  }

  // Used Explorers are always read (their Landers spent from them); Banks
  // and HODLs only when their tracked balances are stale or about to matter.
  std::vector<Pubkey> used_keys;
  used_keys.reserve(used.size());
  for (const auto& k : used) used_keys.push_back(k.pubkey);
  std::vector<KeyRecord> tracked_keys = banks;
  tracked_keys.insert(tracked_keys.end(), hodls.begin(), hodls.end());
  std::unordered_map<Pubkey, std::uint64_t> balances;
  // Their whole accounts (owner, data) too: recovery classifies them.
  std::unordered_map<Pubkey, rpc::AccountInfo> used_accounts;
  auto phase = std::chrono::steady_clock::now();
  QTW_ASSIGN_OR_RETURN(auto blockhash,
                       read_step(params, tracked_keys, used_keys, balances, &used_accounts));
  lap(report.read_us, phase);
  if (metrics_ != nullptr) {
    // The seed's record_key_balances: one sample per key read this cycle.
    auto sample = [&](std::string_view tier, const std::vector<KeyRecord>& records) {
      std::vector<std::uint64_t> lamports;
      lamports.reserve(records.size());
      for (const auto& k : records) lamports.push_back(balances[k.pubkey]);
      metrics_->record_key_balances(tier, lamports);
      // One gauge per HODL and Bank key (few keys); Explorers stay in the histogram.
      if (tier != "explorer") {
        for (const auto& k : records) {
          metrics_->set_key_lamports(tier, k.pubkey.to_base58(), balances[k.pubkey]);
        }
      }
    };
    sample("bank", banks);
    sample("hodl", hodls);
    sample("explorer", used);
  }

  // 2. Recover used Explorers into their funding Banks.
  if (interrupted()) return report;
  QTW_TRY(recover(used, used_accounts, blockhash, report));
  // A sweep paused funding: recover, but take nothing from HODL and create
  // nothing until `qtw resume`.
  QTW_ASSIGN_OR_RETURN(auto paused_since, funding_paused_since(store_));
  if (paused_since) {
    report.funding_paused = true;
    report.warnings.push_back(
        "funding is paused since a sweep: no Bank top-up from HODL and no new Explorers "
        "until `qtw resume`");
    if (interrupted()) return report;
    QTW_TRY(confirm(report));
    return report;
  }

  // Expected balances: confirmed balance +/- what this cycle has in flight.
  std::unordered_map<Pubkey, std::int64_t> expected;
  for (const auto& k : banks) expected[k.pubkey] = static_cast<std::int64_t>(balances[k.pubkey]);
  for (const auto& k : hodls) expected[k.pubkey] = static_cast<std::int64_t>(balances[k.pubkey]);
  // 3. Top up Banks from HODL.
  if (interrupted()) return report;
  QTW_TRY(fund_banks(params, banks, hodls, expected, blockhash, report));
  // 4. Create Explorers when the pool runs low.
  if (interrupted()) return report;
  const std::uint32_t created_before = static_cast<std::uint32_t>(in_flight_.size());
  if (may_create) QTW_TRY(create_explorers(params, banks, expected, blockhash, report));
  const bool starved = report.banks_funded == 0 && in_flight_.size() == created_before &&
                       std::any_of(in_flight_.begin(), in_flight_.end(), [](const InFlight& flight) {
                         return flight.kind == IntentKind::kFundBank;
                       });
  lap(report.build_us, phase);
  // 5. Send everything persisted above and track it to an outcome; a
  // recovery batch that failed is split and retried now.
  if (interrupted()) return report;
  QTW_TRY(confirm(report));
  lap(report.send_confirm_us, phase);
  in_flight_.clear();
  QTW_TRY(retry_failed_recoveries(report));
  if (may_create && starved && report.banks_funded > 0 && !interrupted()) {
    // The Banks were empty (first run, or drained) and their top-ups just
    // landed: create now rather than one interval later. Their balances
    // follow from the confirmed top-ups (read this cycle, then tracked);
    // nothing above is still in flight.
    if (tracked_valid_) {
      for (const auto& b : banks) expected[b.pubkey] = tracked_[b.pubkey];
    } else {
      std::unordered_map<Pubkey, std::uint64_t> fresh;
      QTW_ASSIGN_OR_RETURN(blockhash, read_step(params, tracked_keys, {}, fresh));
      for (const auto& b : banks) expected[b.pubkey] = static_cast<std::int64_t>(fresh[b.pubkey]);
    }
    std::erase(report.warnings, std::string(kBanksTooLow));
    if (!blockhash_usable(blockhash_.known_height)) {
      QTW_ASSIGN_OR_RETURN(blockhash, fresh_blockhash());
    }
    lap(report.read_us, phase);
    QTW_TRY(create_explorers(params, banks, expected, blockhash, report));
    lap(report.build_us, phase);
    QTW_TRY(confirm(report));
    lap(report.send_confirm_us, phase);
  }
  return report;
}

bool Balancer::scan_if_restored(const BalanceParams& params, BalanceReport& report) {
  if (!restored_store_) return true;
  const std::uint32_t gap =
      options_.restore_explorer_gap != 0
          ? options_.restore_explorer_gap
          : default_restore_explorer_gap(
                params.min_explorer_keys, params.explorer_keys_to_create,
                options_.fill_funding_transactions
                    ? static_cast<std::uint32_t>(max_recipients_per_transaction(options_.priority))
                    : 0);
  auto scan = reconcile_restored_store(
      store_, rpc_,
      [this](std::uint32_t i, std::uint32_t j) { return signer_.explorer_pubkey(i, j); }, gap);
  if (scan) {
    report.restore_scan = std::move(*scan);
    restored_store_ = false;
    return true;
  }
  report.restore_scan_failed = scan.error().message;
  restore_scan_failed_ = scan.error().message;
  report.warnings.push_back(
      "restored store: the chain scan past each Bank's next Explorer index failed (" +
      scan.error().message + "); no Explorer is created until it succeeds (the next cycle retries)");
  return false;
}

Result<BalanceReport> Balancer::sweep_to_hodl(const Pubkey& hodl) {
  std::lock_guard lock(cycle_mu_);
  const auto started = std::chrono::steady_clock::now();
  failed_recoveries_.clear();
  auto report = sweep_locked(hodl);
  in_flight_.clear();
  failed_recoveries_.clear();
  if (report) {
    report->duration = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
  }
  if (metrics_ != nullptr) record_metrics(report, 0);
  return report;
}

Result<BalanceReport> Balancer::sweep_locked(const Pubkey& hodl) {
  QTW_ASSIGN_OR_RETURN(auto hodl_key, store_.get_key(hodl));
  if (hodl_key.tier != KeyTier::Hodl) {
    return make_error(ErrorCode::kInvalidArgument,
                      hodl.to_base58() + " is not a HODL key of this wallet; Banks sweep only "
                                         "to HODL (funds move only along the tier graph, I3)");
  }
  // Paused first: from here on no cycle (this process's or a daemon's) funds
  // a Bank or creates an Explorer, even if the sweep stops half way.
  QTW_TRY(pause_funding(store_, "balancer", "sweep to HODL " + hodl.to_base58(), now_ms()));
  BalanceReport report;
  report.funding_paused = true;
  QTW_ASSIGN_OR_RETURN(auto expired, store_.expire_leases(now_ms()));
  report.leases_expired = static_cast<std::uint32_t>(expired.size());
  QTW_ASSIGN_OR_RETURN(const auto restored_at, restored_since(store_));
  restored_store_ = restored_at.has_value();
  QTW_TRY(resolve_unresolved(report));
  if (report.transactions_unknown > 0) {
    return make_error(ErrorCode::kUnavailable,
                      "earlier transactions are still unresolved; run sweep again in a minute");
  }
  // A restored store: the Explorers created after the copy are found (and
  // drained below) too. If the scan fails, what is known is swept, the
  // warning says so, and the mark stays for the next sweep or cycle.
  (void)scan_if_restored(options_.params, report);
  store::KeyFilter f;
  f.tier = KeyTier::Explorer;
  f.state = KeyState::kAvailable;
  QTW_ASSIGN_OR_RETURN(auto available, store_.list_keys(f));
  std::vector<Pubkey> out_of_service;
  for (const auto& k : available) out_of_service.push_back(k.pubkey);
  if (!out_of_service.empty()) {
    QTW_TRY(store_.transition_many(out_of_service, KeyState::kAvailable, KeyState::kUsed,
                                   "sweep: taken out of service"));
  }
  f.state = KeyState::kLeased;
  QTW_ASSIGN_OR_RETURN(auto leased, store_.list_keys(f));
  report.explorers_still_leased = static_cast<std::uint32_t>(leased.size());
  f.state = KeyState::kUsed;
  QTW_ASSIGN_OR_RETURN(auto used, store_.list_keys(f));
  std::vector<Pubkey> keys;
  for (const auto& k : used) keys.push_back(k.pubkey);
  QTW_ASSIGN_OR_RETURN(auto accounts, rpc_.get_multiple_accounts(keys));
  std::unordered_map<Pubkey, rpc::AccountInfo> used_accounts;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (accounts[i]) used_accounts[keys[i]] = *accounts[i];
  }
  QTW_ASSIGN_OR_RETURN(auto blockhash, rpc_.get_latest_blockhash());
  QTW_TRY(recover(used, used_accounts, blockhash, report));
  QTW_TRY(confirm(report));
  in_flight_.clear();
  QTW_TRY(retry_failed_recoveries(report));

  // Banks' tokens go to HODL's associated token accounts and their token
  // accounts close into HODL, before the lamports (the closes pay the Bank
  // nothing, and the Bank pays the fees and the new accounts' rent).
  f = {};
  f.tier = KeyTier::Bank;
  QTW_ASSIGN_OR_RETURN(auto banks, store_.list_keys(f));
  QTW_TRY(sweep_bank_tokens(banks, hodl, report));

  // Banks, read after the recoveries landed: each moves everything it holds
  // (less the fee) to HODL and ends at 0.
  keys.clear();
  for (const auto& k : banks) keys.push_back(k.pubkey);
  QTW_ASSIGN_OR_RETURN(auto bank_accounts, rpc_.get_multiple_accounts(keys));
  QTW_ASSIGN_OR_RETURN(blockhash, rpc_.get_latest_blockhash());
  std::optional<std::uint64_t> fee_quote;
  for (std::size_t i = 0; i < banks.size(); ++i) {
    const std::uint64_t have = bank_accounts[i] ? bank_accounts[i]->lamports : 0;
    if (have == 0 || !banks[i].bank_index) continue;
    if (!fee_quote) {
      QTW_ASSIGN_OR_RETURN(auto probe, build_transfer_message(banks[i].pubkey, hodl, have,
                                                              blockhash.blockhash,
                                                              options_.priority));
      QTW_ASSIGN_OR_RETURN(fee_quote, quote_fee(probe));
    }
    if (have <= *fee_quote) {
      report.warnings.push_back("Bank " + banks[i].pubkey.to_base58() + " holds " +
                                std::to_string(have) + " lamports, less than one fee; left");
      continue;
    }
    const std::uint64_t amount = have - *fee_quote;
    QTW_ASSIGN_OR_RETURN(auto bank_kp, signer_.bank_keypair(*banks[i].bank_index));
    QTW_ASSIGN_OR_RETURN(auto msg, build_transfer_message(banks[i].pubkey, hodl, amount,
                                                          blockhash.blockhash, options_.priority));
    auto tx = solana::Transaction::from_message(std::move(msg));
    const solana::Keypair* signers[] = {&bank_kp};
    QTW_TRY(tx.sign(signers));
    QTW_TRY(persist_and_queue(IntentKind::kSweep, tx, blockhash.last_valid_block_height,
                              *fee_quote, {store::IntentTransfer{banks[i].pubkey, hodl, amount}},
                              {}, report));
    report.bank_sweep_signatures.push_back(tx.id().to_base58());
  }
  QTW_TRY(confirm(report));
  tracked_valid_ = false;  // a sweep empties Banks: read them afresh next cycle
  return report;
}

Status Balancer::resolve_unresolved(BalanceReport& report) {
  QTW_ASSIGN_OR_RETURN(auto intents, store_.list_unresolved_intents());
  report.intents_resumed = static_cast<std::uint32_t>(intents.size());
  if (intents.empty()) return {};
  std::vector<rpc::PendingTransaction> txs;
  std::vector<InFlight> flights;
  for (auto& intent : intents) {
    if (intent.status == IntentStatus::kPrepared) {
      // It may or may not have reached the node before the crash; from here
      // on it is treated as sent (the same bytes, so at most one lands).
      QTW_TRY(store_.update_intent(intent.id, IntentStatus::kPrepared, IntentStatus::kSent, {}));
    }
    InFlight flight;
    flight.intent_id = intent.id;
    flight.kind = intent.kind;
    flight.tx = rpc::PendingTransaction{intent.wire, intent.signature,
                                        intent.last_valid_block_height};
    flight.transfers = intent.transfers;
    flight.fee_lamports = intent.fee_lamports.value_or(0);
    flight.fee_payer = intent.fee_payer;
    txs.push_back(flight.tx);
    flights.push_back(std::move(flight));
  }
  std::vector<bool> applied(flights.size(), false);
  rpc::TransactionSender sender(rpc_, early_funding_sender(flights, applied, report));
  QTW_ASSIGN_OR_RETURN(auto outcomes, sender.confirm_all(txs, /*rebroadcast=*/true));
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (!applied[i]) QTW_TRY(apply_outcome(flights[i], outcomes[i], report));
  }
  return {};
}

rpc::SenderOptions Balancer::early_funding_sender(const std::vector<InFlight>& flights,
                                                  std::vector<bool>& applied,
                                                  BalanceReport& report) {
  // Explorers are leasable as soon as their own funding confirms, not when
  // the slowest transaction of the batch settles (a recovery waiting out a
  // lost send, a rebroadcast after a restart): under RPC faults that wait
  // left the pool empty for seconds (scripts/chaos, bench/RESULTS.md).
  rpc::SenderOptions so = options_.sender;
  so.on_settled = [this, &flights, &applied, &report](std::span<const std::size_t> settled,
                                                      std::span<const rpc::TxOutcome> outcomes) {
    std::vector<std::size_t> funding;
    for (const std::size_t i : settled) {
      if (flights[i].kind == IntentKind::kFundExplorers) funding.push_back(i);
    }
    if (funding.empty()) return;
    const BalanceReport before = report;
    const Status st = store_.transact([&]() -> Status {
      for (const std::size_t i : funding) QTW_TRY(apply_outcome(flights[i], outcomes[i], report));
      return {};
    });
    if (!st) {
      // Nothing of it was recorded: the caller applies them after the batch.
      report = before;
      tracked_valid_ = false;
      return;
    }
    for (const std::size_t i : funding) applied[i] = true;
  };
  return so;
}

Result<std::uint64_t> Balancer::quote_fee(const solana::Message& message) {
  auto node_quote = [&]() -> Result<std::uint64_t> {
    const auto bytes = message.serialize();
    QTW_ASSIGN_OR_RETURN(auto fee, rpc_.get_fee_for_message(bytes));
    if (!fee) {
      return make_error(ErrorCode::kUnavailable,
                        "the node no longer knows the blockhash used for a fee quote; retry");
    }
    return *fee;
  };
  if (fees_from_node_) return node_quote();
  // The protocol rule, computed here: no round trip per transaction. The
  // recorded fee must be what the chain charges (I6), so the rule is checked
  // once against the node, and the node is asked from then on if a cluster
  // ever charges differently (a fee-structure feature gate).
  auto local = solana::fee_lamports(message);
  if (!local) {
    if (local.error().code == ErrorCode::kUnavailable) return node_quote();
    return tl::unexpected(local.error());
  }
  if (fee_rule_checked_ || !options_.verify_fee_rule_with_node) return *local;
  QTW_ASSIGN_OR_RETURN(auto node, node_quote());
  fee_rule_checked_ = true;
  if (node != *local) {
    fees_from_node_ = true;
    fee_rule_warning_ = "the node charges " + std::to_string(node) +
                        " lamports for a message whose fee by the protocol rule is " +
                        std::to_string(*local) + ": fees are quoted by the node from now on";
  }
  return node;
}

std::int64_t Balancer::steady_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Balancer::observe_height(std::uint64_t height) {
  if (height >= blockhash_.known_height) {
    blockhash_.known_height = height;
    blockhash_.known_height_at_ms = steady_ms();
  }
}

bool Balancer::blockhash_usable(std::uint64_t height) const {
  const auto& latest = blockhash_.latest;
  return latest && latest->last_valid_block_height >=
                       height + options_.blockhash_min_remaining_blocks;
}

Result<rpc::LatestBlockhash> Balancer::fresh_blockhash() {
  QTW_ASSIGN_OR_RETURN(auto latest, rpc_.get_latest_blockhash());
  blockhash_.latest = latest;
  blockhash_.fetched_at_ms = steady_ms();
  blockhash_.used.clear();
  return latest;
}

Result<rpc::LatestBlockhash> Balancer::read_step(
    const BalanceParams& params, const std::vector<KeyRecord>& tracked_keys,
    const std::vector<Pubkey>& must_read, std::unordered_map<Pubkey, std::uint64_t>& balances,
    std::unordered_map<Pubkey, rpc::AccountInfo>* must_read_accounts) {
  const std::int64_t now = steady_ms();
  bool read_tracked = !tracked_valid_ || now - tracked_read_at_ms_ >= options_.balance_refresh_ms;
  const auto threshold = static_cast<std::int64_t>(params.lamports_per_bank / 100 *
                                                   options_.bank_refill_percent);
  for (const auto& k : tracked_keys) {
    auto it = tracked_.find(k.pubkey);
    // A key not tracked yet, or a Bank about to be topped up: read it.
    if (it == tracked_.end() || (k.tier == KeyTier::Bank && it->second < threshold)) {
      read_tracked = true;
    }
  }
  std::vector<Pubkey> keys = must_read;
  if (read_tracked) {
    for (const auto& k : tracked_keys) keys.push_back(k.pubkey);
  }
  // The height now, predicted from the block rate seen since the blockhash
  // was fetched; unknown rate = assume it is stale (asking costs nothing in
  // a read that happens anyway).
  bool want_blockhash = true;
  if (blockhash_.latest && blockhash_.latest->last_valid_block_height > 150) {
    const std::uint64_t h0 = blockhash_.latest->last_valid_block_height - 150;
    const std::int64_t dt = blockhash_.known_height_at_ms - blockhash_.fetched_at_ms;
    if (blockhash_.known_height >= h0 + 5 && dt > 0) {
      const double ms_per_block =
          static_cast<double>(dt) / static_cast<double>(blockhash_.known_height - h0);
      const auto elapsed_blocks = static_cast<std::uint64_t>(
          static_cast<double>(now - blockhash_.known_height_at_ms) / ms_per_block) + 1;
      want_blockhash = !blockhash_usable(blockhash_.known_height + elapsed_blocks);
    }
  }
  if (!keys.empty() || want_blockhash) {
    QTW_ASSIGN_OR_RETURN(auto snap, rpc_.get_snapshot(keys, want_blockhash));
    observe_height(snap.block_height);
    if (snap.blockhash) {
      blockhash_.latest = *snap.blockhash;
      blockhash_.fetched_at_ms = now;
      blockhash_.used.clear();
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      balances[keys[i]] = snap.accounts[i] ? snap.accounts[i]->lamports : 0;
    }
    if (must_read_accounts != nullptr) {
      for (std::size_t i = 0; i < must_read.size(); ++i) {
        if (snap.accounts[i]) (*must_read_accounts)[keys[i]] = std::move(*snap.accounts[i]);
      }
    }
    if (!blockhash_usable(snap.block_height)) {
      QTW_TRY(fresh_blockhash());  // the cached one got too old since the prediction
    }
  }
  if (read_tracked) {
    tracked_.clear();
    for (const auto& k : tracked_keys) {
      tracked_[k.pubkey] = static_cast<std::int64_t>(balances[k.pubkey]);
    }
    tracked_valid_ = true;
    tracked_read_at_ms_ = now;
  } else {
    for (const auto& k : tracked_keys) {
      balances[k.pubkey] = static_cast<std::uint64_t>(std::max<std::int64_t>(tracked_[k.pubkey], 0));
    }
  }
  return *blockhash_.latest;
}

Status Balancer::persist_and_queue(IntentKind kind, const solana::Transaction& tx,
                                   std::uint64_t last_valid_block_height,
                                   std::uint64_t fee_lamports,
                                   std::vector<store::IntentTransfer> transfers,
                                   const std::function<Status()>& with_intent,
                                   BalanceReport& report) {
  QTW_ASSIGN_OR_RETURN(auto wire, tx.serialize());
  store::IntentRecord intent;
  intent.kind = kind;
  intent.status = IntentStatus::kPrepared;
  intent.fee_payer = tx.message.fee_payer();
  intent.transfers = transfers;
  intent.signature = tx.id();
  intent.blockhash = tx.message.recent_blockhash;
  intent.last_valid_block_height = last_valid_block_height;
  intent.wire = wire;
  intent.fee_lamports = fee_lamports;
  if (blockhash_.latest && tx.message.recent_blockhash == blockhash_.latest->blockhash &&
      !blockhash_.used.insert(tx.id()).second) {
    // Same message, same blockhash: it would be the transaction already sent
    // and could never move lamports a second time.
    return make_error(ErrorCode::kInternal, "transaction " + tx.id().to_base58() +
                                                " was already built this blockhash; not sent twice");
  }
  std::int64_t id = 0;
  // The intent (and the state changes it implies) are durable before a
  // single byte goes to the node (I1, I4).
  mark_phase("persist");
  QTW_TRY(store_.transact([&]() -> Status {
    QTW_ASSIGN_OR_RETURN(id, store_.insert_intent(intent));
    if (with_intent) QTW_TRY(with_intent());
    return {};
  }));
  InFlight flight;
  flight.intent_id = id;
  flight.kind = kind;
  flight.tx = rpc::PendingTransaction{std::move(wire), tx.id(), last_valid_block_height};
  flight.transfers = std::move(transfers);
  flight.fee_lamports = fee_lamports;
  flight.fee_payer = tx.message.fee_payer();
  report.signatures.push_back(tx.id().to_base58());
  in_flight_.push_back(std::move(flight));
  return {};
}

Result<std::uint64_t> Balancer::outflow_last_hour(const Pubkey& from, IntentKind kind) {
  // Summed by the store: loading the key's intents (all of its history, each
  // with its wire) to add up the last hour made every cycle's memory and
  // time grow with the store (the soak's RSS grew ~200 bytes per lifecycle).
  return store_.outflow_since(from, kind, now_ms() - kHourMs);
}

Status Balancer::fund_banks(const BalanceParams& params, const std::vector<KeyRecord>& banks,
                            const std::vector<KeyRecord>& hodls,
                            std::unordered_map<Pubkey, std::int64_t>& expected,
                            const rpc::LatestBlockhash& blockhash, BalanceReport& report) {
  const auto threshold = static_cast<std::int64_t>(params.lamports_per_bank / 100 *
                                                   options_.bank_refill_percent);
  // In-flight recoveries will land in their Banks: count them so a Bank is
  // not topped up for lamports already on their way.
  std::unordered_map<Pubkey, std::int64_t> projected = expected;
  for (const auto& f : in_flight_) {
    for (const auto& t : f.transfers) projected[t.to] += static_cast<std::int64_t>(t.lamports);
  }
  std::optional<std::uint64_t> fee_quote;
  std::vector<ColdNeed> cold;
  for (const auto& bank : banks) {
    const std::int64_t have = projected[bank.pubkey];
    if (have >= threshold) continue;
    std::uint64_t need = params.lamports_per_bank - static_cast<std::uint64_t>(std::max<std::int64_t>(have, 0));
    // The HODL with the most spendable lamports that can sign.
    const KeyRecord* source = nullptr;
    const KeyRecord* watch_only = nullptr;
    for (const auto& h : hodls) {
      if (h.watch_only()) {
        if (watch_only == nullptr || expected[h.pubkey] > expected[watch_only->pubkey]) watch_only = &h;
        continue;
      }
      if (source == nullptr || expected[h.pubkey] > expected[source->pubkey]) source = &h;
    }
    if (source == nullptr) {
      if (watch_only == nullptr) {
        report.warnings.push_back("Bank " + bank.pubkey.to_base58() + " is low and no HODL key is registered");
        continue;
      }
      cold.push_back(ColdNeed{&bank, watch_only, need});
      continue;
    }
    if (!fee_quote) {
      QTW_ASSIGN_OR_RETURN(auto probe, build_transfer_message(source->pubkey, bank.pubkey, need,
                                                              blockhash.blockhash, options_.priority));
      QTW_ASSIGN_OR_RETURN(fee_quote, quote_fee(probe));
    }
    // HODL keeps its rent-exempt minimum; never drained by a top-up.
    const std::int64_t spendable = expected[source->pubkey] -
                                   static_cast<std::int64_t>(rent_exempt_min_ + *fee_quote);
    if (spendable <= 0) {
      report.warnings.push_back("HODL " + source->pubkey.to_base58() + " cannot fund Bank " +
                                bank.pubkey.to_base58() + ": it is empty");
      continue;
    }
    if (static_cast<std::uint64_t>(spendable) < need) {
      report.warnings.push_back("HODL " + source->pubkey.to_base58() + " can give Bank " +
                                bank.pubkey.to_base58() + " only " + std::to_string(spendable) +
                                " of the " + std::to_string(need) + " lamports it needs");
      need = static_cast<std::uint64_t>(spendable);
    }
    QTW_ASSIGN_OR_RETURN(auto hour, outflow_last_hour(source->pubkey, IntentKind::kFundBank));
    if (hour + need > options_.max_hodl_outflow_lamports_per_hour) {
      ++report.hodl_outflow_caps_hit;
      report.warnings.push_back("HODL outflow cap reached (" + std::to_string(hour) +
                                " lamports in the last hour): Bank " + bank.pubkey.to_base58() +
                                " not topped up (safety cap, I7)");
      continue;
    }
    const solana::Keypair* hodl_key = signer_.hodl_keypair(source->pubkey);
    if (hodl_key == nullptr) {
      return make_error(ErrorCode::kInternal, "HODL " + source->pubkey.to_base58() + " is not unlocked");
    }
    QTW_ASSIGN_OR_RETURN(auto msg, build_transfer_message(source->pubkey, bank.pubkey, need,
                                                          blockhash.blockhash, options_.priority));
    auto tx = solana::Transaction::from_message(std::move(msg));
    const solana::Keypair* signers[] = {hodl_key};
    QTW_TRY(tx.sign(signers));
    QTW_TRY(persist_and_queue(IntentKind::kFundBank, tx, blockhash.last_valid_block_height,
                              *fee_quote, {store::IntentTransfer{source->pubkey, bank.pubkey, need}},
                              {}, report));
    expected[source->pubkey] -= static_cast<std::int64_t>(need + *fee_quote);
    // Not added to the Bank's spendable balance: it lands later, and a
    // funding transaction simulated before it lands would fail.
  }
  return request_cold_topups(cold, expected, blockhash, report);
}

Status Balancer::request_cold_topups(const std::vector<ColdNeed>& needs,
                                     std::unordered_map<Pubkey, std::int64_t>& expected,
                                     const rpc::LatestBlockhash& blockhash,
                                     BalanceReport& report) {
  using store::TopupStatus;
  QTW_ASSIGN_OR_RETURN(auto all_requests, store_.list_topup_requests(std::nullopt));
  std::vector<store::TopupRequestRecord> live;
  for (auto& r : all_requests) {
    if (store::topup_is_live(r.status)) live.push_back(std::move(r));
  }
  if (needs.empty() && live.empty()) return {};
  QTW_ASSIGN_OR_RETURN(auto nonces, store_.list_nonce_accounts());
  // One read of every nonce account that matters (its current value).
  std::vector<Pubkey> addresses;
  for (const auto& n : nonces) {
    if (n.status != store::NonceAccountStatus::kFailed) addresses.push_back(n.address);
  }
  for (const auto& r : live) {
    if (std::find(addresses.begin(), addresses.end(), r.nonce_account) == addresses.end()) {
      addresses.push_back(r.nonce_account);
    }
  }
  QTW_ASSIGN_OR_RETURN(auto states, read_nonce_accounts(rpc_, addresses));
  std::unordered_map<Pubkey, solana::NonceAccountState> on_chain;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    if (states[i]) on_chain[addresses[i]] = *states[i];
  }
  // A creation a crash left unconfirmed: the chain says whether it landed.
  for (auto& n : nonces) {
    if (n.status != store::NonceAccountStatus::kCreating) continue;
    auto it = on_chain.find(n.address);
    if (it != on_chain.end() && it->second.authority == n.hodl) {
      QTW_TRY(store_.set_nonce_account_status(n.address, store::NonceAccountStatus::kCreating,
                                              store::NonceAccountStatus::kActive));
      n.status = store::NonceAccountStatus::kActive;
    }
  }

  // Refresh live requests: a nonce that moved makes its request final.
  std::unordered_map<Pubkey, std::int64_t> bank_waits_for;  // Bank -> live request id
  std::unordered_map<Pubkey, std::int64_t> nonce_busy;      // nonce account -> live request id
  for (auto& r : live) {
    auto it = on_chain.find(r.nonce_account);
    const bool moved = it == on_chain.end() || it->second.durable_nonce != r.nonce_value;
    if (moved) {
      std::optional<rpc::SignatureStatus> landed;
      if (r.signature) {
        const solana::Signature sigs[] = {*r.signature};
        QTW_ASSIGN_OR_RETURN(auto st, rpc_.get_signature_statuses(sigs, true));
        landed = st[0];
      }
      if (landed) {
        // Its own signature moved the nonce (submitted here, or sent by
        // another tool after a submit that did not land).
        if (r.status == TopupStatus::kPending) {
          QTW_TRY(store_.update_topup_request(r.id, TopupStatus::kPending, TopupStatus::kSubmitted,
                                              std::nullopt, std::nullopt, ""));
          r.status = TopupStatus::kSubmitted;
        }
        QTW_TRY(store_.update_topup_request(r.id, r.status,
                                            landed->err.empty() ? TopupStatus::kLanded
                                                                : TopupStatus::kFailed,
                                            std::nullopt, std::nullopt, landed->err));
      } else {
        const std::string why = it == on_chain.end()
                                    ? "nonce account " + r.nonce_account.to_base58() + " is gone"
                                    : "nonce advanced to " + it->second.durable_nonce.to_base58();
        QTW_TRY(store_.update_topup_request(r.id, r.status, TopupStatus::kStale, std::nullopt,
                                            std::nullopt, why));
        report.warnings.push_back("top-up request " + std::to_string(r.id) + " is stale (" + why +
                                  "); a new one replaces it");
      }
      continue;
    }
    if (r.status == TopupStatus::kSubmitted && r.intent_id) {
      // Sent but known not to have landed while its nonce holds: it may be
      // submitted again.
      QTW_ASSIGN_OR_RETURN(auto intent, store_.get_intent(*r.intent_id));
      if (intent.status == IntentStatus::kExpired ||
          (intent.status == IntentStatus::kFailed && !intent.slot)) {
        QTW_TRY(store_.update_topup_request(r.id, r.status, TopupStatus::kPending, std::nullopt,
                                            std::nullopt, "sent, did not land; submit it again"));
      }
    }
    nonce_busy[r.nonce_account] = r.id;
    for (const auto& t : r.transfers) bank_waits_for[t.to] = r.id;
  }

  // Group the low Banks by HODL key; a Bank a live request covers waits (I4).
  std::map<Pubkey, std::vector<const ColdNeed*>> by_hodl;
  for (const auto& n : needs) {
    auto w = bank_waits_for.find(n.bank->pubkey);
    if (w != bank_waits_for.end()) {
      report.warnings.push_back("Bank " + n.bank->pubkey.to_base58() +
                                " waits for top-up request " + std::to_string(w->second) +
                                " (signed offline by HODL " + n.hodl->pubkey.to_base58() + ")");
      continue;
    }
    by_hodl[n.hodl->pubkey].push_back(&n);
  }
  for (auto& [hodl, members] : by_hodl) {
    // A free, initialized nonce account with this HODL key as authority.
    const store::NonceAccountRecord* nonce = nullptr;
    bool has_any = false;
    for (const auto& n : nonces) {
      if (n.hodl != hodl || n.status != store::NonceAccountStatus::kActive) continue;
      has_any = true;
      auto it = on_chain.find(n.address);
      if (it == on_chain.end() || it->second.authority != hodl) continue;
      if (nonce_busy.count(n.address) != 0) continue;
      nonce = &n;
      break;
    }
    if (nonce == nullptr) {
      if (has_any) {
        report.warnings.push_back("every nonce account of HODL " + hodl.to_base58() +
                                  " carries a live request; " + std::to_string(members.size()) +
                                  " low Bank(s) wait for the next one");
        continue;
      }
      // No nonce account: a plain unsigned request on a recent blockhash
      // (expires in about a minute), as before nonce accounts existed.
      for (const ColdNeed* n : members) {
        QTW_ASSIGN_OR_RETURN(auto msg, build_transfer_message(hodl, n->bank->pubkey, n->lamports,
                                                              blockhash.blockhash,
                                                              options_.priority));
        auto unsigned_tx = solana::Transaction::from_message(std::move(msg));
        QTW_ASSIGN_OR_RETURN(auto wire, unsigned_tx.serialize());
        report.unsigned_requests.push_back(solana::base64_encode(wire));
        report.warnings.push_back(
            "Bank " + n->bank->pubkey.to_base58() + " needs " + std::to_string(n->lamports) +
            " lamports from watch-only HODL " + hodl.to_base58() +
            ": unsigned request emitted (expires with its blockhash; `qtw hodl nonce create` "
            "makes requests that wait for an offline signer)");
      }
      continue;
    }
    const solana::Hash nonce_value = on_chain[nonce->address].durable_nonce;
    std::vector<store::IntentTransfer> transfers;
    std::uint64_t total = 0;
    for (const ColdNeed* n : members) {
      if (transfers.size() == kMaxBanksPerTopup) break;
      transfers.push_back(store::IntentTransfer{hodl, n->bank->pubkey, n->lamports});
      total += n->lamports;
    }
    QTW_ASSIGN_OR_RETURN(auto message,
                         build_topup_message(hodl, nonce->address, nonce_value, transfers));
    // The HODL pays the transfers and the fee and keeps its rent-exempt
    // minimum; what it cannot pay is not asked for (the signer would sign a
    // transaction that fails and only burns the nonce).
    QTW_ASSIGN_OR_RETURN(auto fee, rpc_.get_fee_for_message(message.serialize()));
    const std::uint64_t fee_lamports = fee.value_or(5000);
    const std::int64_t spendable =
        expected[hodl] - static_cast<std::int64_t>(rent_exempt_min_ + fee_lamports);
    if (spendable < static_cast<std::int64_t>(total)) {
      report.warnings.push_back("watch-only HODL " + hodl.to_base58() + " holds " +
                                std::to_string(expected[hodl]) + " lamports; a top-up of " +
                                std::to_string(total) + " for " +
                                std::to_string(transfers.size()) +
                                " Bank(s) needs more: no request written");
      continue;
    }
    store::TopupRequestRecord req;
    req.hodl = hodl;
    req.nonce_account = nonce->address;
    req.nonce_value = nonce_value;
    req.message = message.serialize();
    req.transfers = transfers;
    QTW_ASSIGN_OR_RETURN(const std::int64_t id, store_.insert_topup_request(req));
    nonce_busy[nonce->address] = id;
    expected[hodl] -= static_cast<std::int64_t>(total + fee_lamports);
    auto unsigned_tx = solana::Transaction::from_message(std::move(message));
    QTW_ASSIGN_OR_RETURN(auto wire, unsigned_tx.serialize());
    report.unsigned_requests.push_back(solana::base64_encode(wire));
    report.topup_requests.push_back(id);
    report.warnings.push_back("top-up request " + std::to_string(id) + " for " +
                              std::to_string(transfers.size()) + " Bank(s), " +
                              std::to_string(total) + " lamports from watch-only HODL " +
                              hodl.to_base58() +
                              " waits for its offline signature: `qtw hodl request export " +
                              std::to_string(id) + " --outfile F`");
  }
  return {};
}

Status Balancer::create_explorers(const BalanceParams& params, const std::vector<KeyRecord>& banks,
                                  std::unordered_map<Pubkey, std::int64_t>& expected,
                                  const rpc::LatestBlockhash& blockhash, BalanceReport& report) {
  QTW_ASSIGN_OR_RETURN(auto counts, store_.count_keys());
  std::uint64_t ready = 0;
  for (const auto& c : counts) {
    if (c.tier == KeyTier::Explorer &&
        (c.state == KeyState::kAvailable || c.state == KeyState::kPending)) {
      ready += c.count;
    }
  }
  if (ready >= params.min_explorer_keys) return {};
  // Create at least the configured batch, and enough to reach the minimum.
  std::uint64_t to_create = std::max<std::uint64_t>(params.explorer_keys_to_create,
                                                    params.min_explorer_keys - ready);
  if (banks.empty()) {
    report.warnings.push_back("no Banks: add some with `qtw banks add N`");
    return {};
  }
  const std::size_t per_tx = max_recipients_per_transaction(options_.priority);
  std::optional<std::uint64_t> fee_quote;
  // Each Bank's outflow in the last hour (I7), read once per cycle and then
  // kept up to date with what this step plans.
  std::unordered_map<Pubkey, std::uint64_t> hour_out;

  // One funding transaction planned: which Bank, how many Explorers.
  struct Planned {
    const KeyRecord* bank;
    std::size_t n;
  };
  // Persisting in chunks: one store transaction per chunk of funding
  // transactions (reserve the Explorers (I1), sign, record the intents), so
  // 10,000 Explorers cost ~10 commits, not ~1,000. Nothing is sent before
  // confirm(), after every chunk is durable.
  constexpr std::size_t kTransactionsPerCommit = 50;
  std::vector<Planned> chunk;
  std::map<std::uint32_t, solana::Keypair> bank_keys;  // derived once per cycle, wiped at return
  auto persist_chunk = [&]() -> Status {
    if (chunk.empty()) return {};
    QTW_TRY(store_.transact([&]() -> Status {
      for (const auto& plan : chunk) {
        const KeyRecord& bank = *plan.bank;
        const std::uint32_t bank_index = *bank.bank_index;
        QTW_ASSIGN_OR_RETURN(auto reserved,
                             store_.reserve_explorers(bank.id, plan.n,
                                                      [&](std::uint32_t j) -> Result<Pubkey> {
                                                        return signer_.explorer_pubkey(bank_index, j);
                                                      }));
        std::vector<Pubkey> recipients;
        std::vector<store::IntentTransfer> transfers;
        recipients.reserve(reserved.size());
        transfers.reserve(reserved.size());
        for (const auto& r : reserved) {
          recipients.push_back(r.pubkey);
          transfers.push_back(store::IntentTransfer{bank.pubkey, r.pubkey, params.lamports_per_explorer});
        }
        QTW_ASSIGN_OR_RETURN(auto msg, build_funding_message(bank.pubkey, recipients,
                                                             params.lamports_per_explorer,
                                                             blockhash.blockhash, options_.priority));
        // This message's own fee: with a computed compute-unit limit the
        // priority fee depends on the number of transfers (the planning
        // above reserved the fee of a full transaction, never less).
        QTW_ASSIGN_OR_RETURN(const std::uint64_t fee, quote_fee(msg));
        auto tx = solana::Transaction::from_message(std::move(msg));
        auto key_it = bank_keys.find(bank_index);
        if (key_it == bank_keys.end()) {
          QTW_ASSIGN_OR_RETURN(auto bank_kp, signer_.bank_keypair(bank_index));
          key_it = bank_keys.emplace(bank_index, std::move(bank_kp)).first;
        }
        const solana::Keypair* signers[] = {&key_it->second};
        QTW_TRY(tx.sign(signers));
        QTW_TRY(persist_and_queue(IntentKind::kFundExplorers, tx, blockhash.last_valid_block_height,
                                  fee, std::move(transfers), {}, report));
      }
      return {};
    }));
    chunk.clear();
    return {};
  };

  while (to_create > 0) {
    // Spread load: the Bank with the most spendable lamports funds the next
    // transaction.
    const KeyRecord* bank = nullptr;
    for (const auto& b : banks) {
      if (!b.bank_index) continue;
      if (bank == nullptr || expected[b.pubkey] > expected[bank->pubkey]) bank = &b;
    }
    if (bank == nullptr) break;
    std::size_t n = std::min<std::uint64_t>(to_create, per_tx);
    if (!fee_quote) {
      // The fee of a full funding transaction (one signer; the priority fee
      // grows with the transfers when the limit is computed): an upper bound
      // for planning, once per cycle. Each message records its own fee.
      std::vector<Pubkey> probe_keys(per_tx);
      for (std::size_t i = 0; i < per_tx; ++i) {
        probe_keys[i].bytes[0] = static_cast<std::uint8_t>(i + 1);
      }
      QTW_ASSIGN_OR_RETURN(auto probe, build_funding_message(bank->pubkey, probe_keys,
                                                             params.lamports_per_explorer,
                                                             blockhash.blockhash, options_.priority));
      QTW_ASSIGN_OR_RETURN(fee_quote, quote_fee(probe));
    }
    // A Bank keeps its rent-exempt minimum (a 0 < balance < minimum result is
    // rejected by the runtime) and the fee.
    const std::int64_t reserve = static_cast<std::int64_t>(rent_exempt_min_ + *fee_quote);
    const std::int64_t spendable = expected[bank->pubkey] - reserve;
    if (spendable < static_cast<std::int64_t>(params.lamports_per_explorer)) {
      report.warnings.emplace_back(kBanksTooLow);
      break;
    }
    n = std::min<std::size_t>(n, static_cast<std::size_t>(spendable) / params.lamports_per_explorer);
    // The last transaction of the plan is filled up to per_tx (see
    // BalancerOptions::fill_funding_transactions): its fee is paid anyway.
    const bool last = n == to_create && n < per_tx && options_.fill_funding_transactions;
    auto hour_it = hour_out.find(bank->pubkey);
    if (hour_it == hour_out.end()) {
      QTW_ASSIGN_OR_RETURN(auto hour, outflow_last_hour(bank->pubkey, IntentKind::kFundExplorers));
      hour_it = hour_out.emplace(bank->pubkey, hour).first;
    }
    const std::uint64_t hour = hour_it->second;
    // I7: fund as many as the Bank's hourly cap still allows, then stop.
    const std::uint64_t cap = options_.max_bank_outflow_lamports_per_hour;
    const std::size_t allowed =
        hour >= cap ? 0 : static_cast<std::size_t>((cap - hour) / params.lamports_per_explorer);
    if (allowed < n) {
      ++report.bank_outflow_caps_hit;
      report.warnings.push_back("Bank outflow cap reached for " + bank->pubkey.to_base58() +
                                " (" + std::to_string(hour) + " lamports in the last hour; safety cap, I7)" +
                                (allowed > 0 ? ": funding " + std::to_string(allowed) + " of " +
                                                   std::to_string(n)
                                             : std::string()));
      if (allowed == 0) break;
      n = allowed;
      to_create = n;  // nothing more this cycle: the cap is reached
    }
    if (last && allowed > n) {
      // Only with what the Bank can spare above its refill threshold (the
      // fill never causes a top-up) and under its hourly cap (never hits it).
      const std::int64_t headroom = spendable - static_cast<std::int64_t>(
                                                    n * params.lamports_per_explorer +
                                                    params.lamports_per_bank / 100 *
                                                        options_.bank_refill_percent);
      std::size_t extra = per_tx - n;
      extra = headroom <= 0 ? 0
                            : std::min<std::size_t>(extra, static_cast<std::size_t>(headroom) /
                                                               params.lamports_per_explorer);
      extra = std::min<std::size_t>(extra, allowed - n);
      n += extra;
      to_create += extra;
    }
    chunk.push_back(Planned{bank, n});
    if (chunk.size() >= kTransactionsPerCommit) QTW_TRY(persist_chunk());
    hour_it->second += n * params.lamports_per_explorer;
    expected[bank->pubkey] -= static_cast<std::int64_t>(n * params.lamports_per_explorer + *fee_quote);
    to_create -= n;
  }
  return persist_chunk();
}

Status Balancer::confirm(BalanceReport& report) {
  if (in_flight_.empty()) return {};
  std::vector<rpc::PendingTransaction> txs;
  txs.reserve(in_flight_.size());
  // All marked sent in one commit before the first byte leaves.
  QTW_TRY(store_.transact([&]() -> Status {
    for (const auto& f : in_flight_) {
      QTW_TRY(store_.update_intent(f.intent_id, IntentStatus::kPrepared, IntentStatus::kSent, {}));
    }
    return {};
  }));
  for (const auto& f : in_flight_) txs.push_back(f.tx);
  report.transactions_sent += static_cast<std::uint32_t>(txs.size());
  std::vector<bool> applied(in_flight_.size(), false);
  rpc::SenderOptions sender_options = early_funding_sender(in_flight_, applied, report);
  if (options_.skip_funding_preflight && tracked_valid_ &&
      std::all_of(in_flight_.begin(), in_flight_.end(),
                  [](const InFlight& f) { return f.kind == IntentKind::kFundExplorers; })) {
    sender_options.skip_preflight = true;
    report.preflight_skipped = true;
  }
  rpc::TransactionSender sender(rpc_, sender_options);
  QTW_ASSIGN_OR_RETURN(auto outcomes, sender.send_and_confirm_all(txs));
  observe_height(sender.last_block_height());
  bool top_up = false;
  // Outcomes are recorded in chunks, one store transaction each (each
  // outcome is its own savepoint inside): a thousand confirmations cost a
  // few commits.
  constexpr std::size_t kOutcomesPerCommit = 100;
  for (std::size_t first = 0; first < outcomes.size(); first += kOutcomesPerCommit) {
    const std::size_t last = std::min(outcomes.size(), first + kOutcomesPerCommit);
    auto st = store_.transact([&]() -> Status {
      for (std::size_t i = first; i < last; ++i) {
        if (!applied[i]) QTW_TRY(apply_outcome(in_flight_[i], outcomes[i], report));
      }
      return {};
    });
    if (!st) {
      tracked_valid_ = false;  // deltas above may not have been recorded
      return st;
    }
    for (std::size_t i = first; i < last; ++i) {
      top_up = top_up || in_flight_[i].kind == IntentKind::kFundBank ||
               in_flight_[i].kind == IntentKind::kSweep;
    }
  }
  // A later top-up of the same amount to the same Bank would be the same
  // message: give it a new blockhash.
  if (top_up) blockhash_.latest.reset();
  return {};
}

Status Balancer::apply_outcome(const InFlight& flight, const rpc::TxOutcome& outcome,
                               BalanceReport& report) {
  using rpc::TxOutcomeKind;
  mark_phase("confirm");
  if (outcome.kind == TxOutcomeKind::kUnknown) {
    // Not safe to re-sign or to revert: resolved at the start of a later cycle.
    ++report.transactions_unknown;
    tracked_valid_ = false;
    return {};
  }
  const bool ok = outcome.kind == TxOutcomeKind::kConfirmed ||
                  outcome.kind == TxOutcomeKind::kFinalized;
  // Tracked Bank/HODL balances follow the wallet's own confirmed
  // transactions: the fee payer pays the fee of what landed, transfers move
  // only if it succeeded.
  auto track = [&](const Pubkey& key, std::int64_t delta) {
    if (auto it = tracked_.find(key); it != tracked_.end()) it->second += delta;
  };
  if (outcome.landed) track(flight.fee_payer, -static_cast<std::int64_t>(flight.fee_lamports));
  if (ok) {
    for (const auto& t : flight.transfers) {
      track(t.from, -static_cast<std::int64_t>(t.lamports));
      track(t.to, static_cast<std::int64_t>(t.lamports));
    }
  } else {
    // A rebuilt transfer must not meet its failed twin under the same
    // blockhash (I4 rebuilds only after failure or expiry).
    blockhash_.latest.reset();
  }
  store::IntentOutcome result;
  if (outcome.landed) {
    result.slot = outcome.slot;
    result.fee_lamports = flight.fee_lamports;
    // The wire starts with the signature count (compact-u16; one byte below
    // 128, and a transaction carries at most 127 signatures).
    if (!flight.tx.wire.empty()) report.signatures_landed += flight.tx.wire[0] & 0x7f;
  }
  result.error = outcome.err;
  const IntentStatus to = ok ? IntentStatus::kConfirmed
                             : (outcome.kind == TxOutcomeKind::kExpired ? IntentStatus::kExpired
                                                                         : IntentStatus::kFailed);
  // The Explorers a recovery moves: from its plan, or (resumed after a
  // restart) the senders that are Explorers still draining; the other
  // senders are token accounts.
  std::vector<Pubkey> members;
  if (flight.kind == IntentKind::kRecover && !flight.recovery) {
    for (const auto& from : senders_of(flight.transfers)) {
      auto k = store_.get_key(from);
      if (k && k->tier == KeyTier::Explorer && k->state == KeyState::kDraining &&
          std::find(members.begin(), members.end(), from) == members.end()) {
        members.push_back(from);
      }
    }
  }
  std::uint32_t recovered = 0;
  QTW_TRY(store_.transact([&]() -> Status {
    QTW_TRY(store_.update_intent(flight.intent_id, IntentStatus::kSent, to, result));
    switch (flight.kind) {
      case IntentKind::kFundExplorers: {
        const auto recipients = recipients_of(flight.transfers);
        QTW_TRY(store_.transition_many(recipients, KeyState::kPending,
                                       ok ? KeyState::kAvailable : KeyState::kDropped,
                                       ok ? "funding confirmed" : "funding did not land"));
        if (!ok || !restored_store_) return {};
        // A restored store's funding (sent before the copy): the original
        // may have leased these after it and signed; never hand them out.
        return store_.transition_many(recipients, KeyState::kAvailable, KeyState::kUsed,
                                      "funding confirmed in a restored store: may have been "
                                      "handed out after the copy");
      }
      case IntentKind::kRecover:
        if (!flight.recovery) {
          // Resumed after a restart: its plan is gone, so whether it left a
          // token account behind (one that cannot move, or the rest of a
          // plan split over transactions) is not known here. Back to `used`:
          // the next cycle reads the Explorer again and retires it (nothing
          // left), recovers the rest, or strands it with the reason.
          recovered = ok ? static_cast<std::uint32_t>(members.size()) : 0;
          return store_.transition_many(members, KeyState::kDraining, KeyState::kUsed,
                                        ok ? "recovery landed (resumed after a restart); "
                                             "checked again next cycle"
                                           : "recovery did not land; retry");
        }
        for (std::size_t i = 0; i < flight.recovery->inputs.size(); ++i) {
          const auto& who = flight.recovery->inputs[i].explorer;
          const auto& why = flight.recovery->strand_reasons[i];
          if (!ok) {
            QTW_TRY(store_.transition(who, KeyState::kDraining, KeyState::kUsed,
                                      "recovery did not land; retry"));
          } else if (!flight.recovery->shares[i].complete) {
            QTW_TRY(store_.transition(who, KeyState::kDraining, KeyState::kUsed,
                                      "recovered part of its token accounts; the rest next cycle"));
          } else if (!why.empty()) {
            QTW_TRY(store_.transition(who, KeyState::kDraining, KeyState::kStranded, why));
          } else {
            QTW_TRY(store_.transition(who, KeyState::kDraining, KeyState::kRetired,
                                      "recovered to 0 lamports"));
            ++recovered;
          }
        }
        return {};
      default:
        return {};
    }
  }));
  if (outcome.landed) report.fees_lamports += flight.fee_lamports;
  if (ok) {
    ++report.transactions_confirmed;
    std::uint64_t moved = 0;
    for (const auto& t : flight.transfers) moved += t.lamports;
    switch (flight.kind) {
      case IntentKind::kFundExplorers:
        report.explorers_created += static_cast<std::uint32_t>(flight.transfers.size());
        report.lamports_to_explorers += moved;
        break;
      case IntentKind::kRecover:
        report.explorers_recovered += recovered;
        if (flight.recovery) {
          moved = 0;
          for (std::size_t i = 0; i < flight.recovery->inputs.size(); ++i) {
            const auto& in = flight.recovery->inputs[i];
            const auto& share = flight.recovery->shares[i];
            moved += share.drained_lamports;
            for (std::size_t t = 0; t < share.tokens_done; ++t) {
              ++report.token_accounts_closed;
              report.rent_recovered_lamports += in.tokens[t].lamports;
              if (in.tokens[t].amount > 0) {
                report.tokens_recovered[in.tokens[t].mint.to_base58()] += in.tokens[t].amount;
              }
            }
            if (share.complete && !flight.recovery->strand_reasons[i].empty()) {
              ++report.explorers_stranded;
              report.stranded.push_back({in.explorer, flight.recovery->strand_reasons[i]});
            }
          }
        }
        report.lamports_recovered += moved;
        break;
      case IntentKind::kFundBank:
        ++report.banks_funded;
        report.lamports_to_banks += moved;
        break;
      case IntentKind::kSweep:
        if (!flight.tokens_moved.empty() || flight.token_closes > 0) {
          // A Bank's token sweep: tokens and closed accounts to HODL.
          for (const auto& [mint, amount] : flight.tokens_moved) {
            report.tokens_to_hodl[mint.to_base58()] += amount;
          }
          report.token_accounts_closed += flight.token_closes;
          report.rent_recovered_lamports += flight.close_lamports;
          report.lamports_to_hodl += flight.close_lamports;
          break;
        }
        ++report.banks_swept;
        report.lamports_to_hodl += moved;
        break;
      default:
        break;
    }
  } else if (outcome.kind == TxOutcomeKind::kExpired) {
    ++report.transactions_expired;
  } else if (flight.kind == IntentKind::kRecover && flight.recovery) {
    // Not a failure of the cycle yet: retry_failed_recoveries splits it (or
    // strands the one Explorer it holds) in this cycle.
    InFlight failed = flight;
    failed.error = outcome.err;
    failed_recoveries_.push_back(std::move(failed));
  } else {
    ++report.transactions_failed;
    report.warnings.push_back(std::string(store::intent_kind_name(flight.kind)) + " transaction " +
                              outcome.signature.to_base58() + " failed: " + outcome.err);
  }
  if (!ok && flight.kind == IntentKind::kFundExplorers) {
    report.explorers_dropped += static_cast<std::uint32_t>(flight.transfers.size());
  }
  return {};
}

}  // namespace qtw::wallet
