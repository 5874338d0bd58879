#include "qtw/wallet/balancer.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "qtw/metrics/wallet_metrics.h"
#include "qtw/solana/encoding.h"
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

bool intent_counts_as_outflow(IntentStatus s) {
  // Prepared and sent may still land; confirmed did. Failed (landed with an
  // error) moved no lamports, expired and abandoned never landed.
  return s == IntentStatus::kPrepared || s == IntentStatus::kSent || s == IntentStatus::kConfirmed;
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
  auto report = cycle_locked(params);
  in_flight_.clear();
  failed_recoveries_.clear();
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
                          " (I7)");
  }
  BalanceReport report;

  // 0. Leases past their deadline count as used (I2), then finish whatever an
  // earlier cycle (or a crashed process) left in flight before sending
  // anything new (I4): planning on top of unknown transactions could double
  // fund.
  QTW_ASSIGN_OR_RETURN(auto expired, store_.expire_leases(now_ms()));
  report.leases_expired = static_cast<std::uint32_t>(expired.size());
  QTW_TRY(resolve_unresolved(report));
  if (report.transactions_unknown > 0) {
    report.warnings.push_back(
        "some earlier transactions are still unresolved; nothing new was sent this cycle");
    return report;
  }

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

  std::vector<Pubkey> keys;
  keys.reserve(banks.size() + hodls.size() + used.size());
  for (const auto& k : banks) keys.push_back(k.pubkey);
  for (const auto& k : hodls) keys.push_back(k.pubkey);
  for (const auto& k : used) keys.push_back(k.pubkey);
  QTW_ASSIGN_OR_RETURN(auto accounts, rpc_.get_multiple_accounts(keys));
  std::unordered_map<Pubkey, std::uint64_t> balances;
  std::unordered_map<Pubkey, rpc::AccountInfo> used_accounts;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    balances[keys[i]] = accounts[i] ? accounts[i]->lamports : 0;
    if (i >= banks.size() + hodls.size() && accounts[i]) used_accounts[keys[i]] = *accounts[i];
  }
  if (metrics_ != nullptr) {
    // The seed's record_key_balances: one sample per key read this cycle.
    auto sample = [&](std::string_view tier, const std::vector<KeyRecord>& records) {
      std::vector<std::uint64_t> lamports;
      lamports.reserve(records.size());
      for (const auto& k : records) lamports.push_back(balances[k.pubkey]);
      metrics_->record_key_balances(tier, lamports);
    };
    sample("bank", banks);
    sample("hodl", hodls);
    sample("explorer", used);
  }
  QTW_ASSIGN_OR_RETURN(auto blockhash, rpc_.get_latest_blockhash());

  // 2. Recover used Explorers into their funding Banks.
  QTW_TRY(recover(used, used_accounts, report));

  // Expected balances: confirmed balance +/- what this cycle has in flight.
  std::unordered_map<Pubkey, std::int64_t> expected;
  for (const auto& k : banks) expected[k.pubkey] = static_cast<std::int64_t>(balances[k.pubkey]);
  for (const auto& k : hodls) expected[k.pubkey] = static_cast<std::int64_t>(balances[k.pubkey]);
  // 3. Top up Banks from HODL.
  QTW_TRY(fund_banks(params, banks, hodls, expected, blockhash, report));
  // 4. Create Explorers when the pool runs low.
  const std::uint32_t created_before = static_cast<std::uint32_t>(in_flight_.size());
  QTW_TRY(create_explorers(params, banks, expected, blockhash, report));
  const bool starved = report.banks_funded == 0 && in_flight_.size() == created_before &&
                       std::any_of(in_flight_.begin(), in_flight_.end(), [](const InFlight& flight) {
                         return flight.kind == IntentKind::kFundBank;
                       });
  // 5. Send everything persisted above and track it to an outcome; a
  // recovery batch that failed is split and retried now.
  QTW_TRY(confirm(report));
  in_flight_.clear();
  QTW_TRY(retry_failed_recoveries(report));
  if (starved && report.banks_funded > 0) {
    // The Banks were empty (first run, or drained) and their top-ups just
    // landed: create now rather than one interval later. Balances are read
    // again; nothing above is still in flight.
    QTW_ASSIGN_OR_RETURN(auto bank_accounts, rpc_.get_multiple_accounts(
                                                 std::vector<Pubkey>(keys.begin(),
                                                                     keys.begin() +
                                                                         static_cast<std::ptrdiff_t>(
                                                                             banks.size()))));
    for (std::size_t i = 0; i < banks.size(); ++i) {
      expected[banks[i].pubkey] =
          static_cast<std::int64_t>(bank_accounts[i] ? bank_accounts[i]->lamports : 0);
    }
    std::erase(report.warnings, std::string(kBanksTooLow));
    QTW_ASSIGN_OR_RETURN(blockhash, rpc_.get_latest_blockhash());
    QTW_TRY(create_explorers(params, banks, expected, blockhash, report));
    QTW_TRY(confirm(report));
  }
  return report;
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
                                         "to HODL (I3)");
  }
  BalanceReport report;
  QTW_ASSIGN_OR_RETURN(auto expired, store_.expire_leases(now_ms()));
  report.leases_expired = static_cast<std::uint32_t>(expired.size());
  QTW_TRY(resolve_unresolved(report));
  if (report.transactions_unknown > 0) {
    return make_error(ErrorCode::kUnavailable,
                      "earlier transactions are still unresolved; run sweep again in a minute");
  }
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
  QTW_TRY(recover(used, used_accounts, report));
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
  QTW_ASSIGN_OR_RETURN(auto blockhash, rpc_.get_latest_blockhash());
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
  }
  QTW_TRY(confirm(report));
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
    txs.push_back(flight.tx);
    flights.push_back(std::move(flight));
  }
  rpc::TransactionSender sender(rpc_, options_.sender);
  QTW_ASSIGN_OR_RETURN(auto outcomes, sender.confirm_all(txs, /*rebroadcast=*/true));
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    QTW_TRY(apply_outcome(flights[i], outcomes[i], report));
  }
  return {};
}

Result<std::uint64_t> Balancer::quote_fee(const solana::Message& message) {
  const auto bytes = message.serialize();
  QTW_ASSIGN_OR_RETURN(auto fee, rpc_.get_fee_for_message(bytes));
  if (!fee) {
    return make_error(ErrorCode::kUnavailable,
                      "the node no longer knows the blockhash used for a fee quote; retry");
  }
  return *fee;
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
  std::int64_t id = 0;
  // The intent (and the state changes it implies) are durable before a
  // single byte goes to the node (I1, I4).
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
  report.signatures.push_back(tx.id().to_base58());
  in_flight_.push_back(std::move(flight));
  return {};
}

Result<std::uint64_t> Balancer::outflow_last_hour(const Pubkey& from, IntentKind kind) {
  QTW_ASSIGN_OR_RETURN(auto intents, store_.list_intents_for_key(from));
  const std::int64_t since = now_ms() - kHourMs;
  std::uint64_t total = 0;
  for (const auto& intent : intents) {
    if (intent.kind != kind || intent.created_at_ms < since) continue;
    if (!intent_counts_as_outflow(intent.status)) continue;
    for (const auto& t : intent.transfers) {
      if (t.from == from) total += t.lamports;
    }
  }
  return total;
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
      QTW_ASSIGN_OR_RETURN(auto msg, build_transfer_message(watch_only->pubkey, bank.pubkey, need,
                                                            blockhash.blockhash, options_.priority));
      auto unsigned_tx = solana::Transaction::from_message(std::move(msg));
      QTW_ASSIGN_OR_RETURN(auto wire, unsigned_tx.serialize());
      report.unsigned_requests.push_back(solana::base64_encode(wire));
      report.warnings.push_back("Bank " + bank.pubkey.to_base58() + " needs " + std::to_string(need) +
                                " lamports from watch-only HODL " + watch_only->pubkey.to_base58() +
                                ": unsigned request emitted for an offline signer");
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
      report.warnings.push_back("HODL outflow cap reached (" + std::to_string(hour) +
                                " lamports in the last hour): Bank " + bank.pubkey.to_base58() +
                                " not topped up (I7)");
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
    report.warnings.push_back("no Banks: run `qtw init --banks N`");
    return {};
  }
  const std::size_t per_tx = max_recipients_per_transaction(options_.priority);
  std::optional<std::uint64_t> fee_quote;
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
      // The fee depends on the message's shape (one signer, compute budget),
      // not on the recipients: quote it once per cycle.
      std::vector<Pubkey> probe_keys(n);
      for (std::size_t i = 0; i < n; ++i) probe_keys[i].bytes[0] = static_cast<std::uint8_t>(i + 1);
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
    QTW_ASSIGN_OR_RETURN(auto hour, outflow_last_hour(bank->pubkey, IntentKind::kFundExplorers));
    // I7: fund as many as the Bank's hourly cap still allows, then stop.
    const std::uint64_t cap = options_.max_bank_outflow_lamports_per_hour;
    const std::size_t allowed =
        hour >= cap ? 0 : static_cast<std::size_t>((cap - hour) / params.lamports_per_explorer);
    if (allowed < n) {
      report.warnings.push_back("Bank outflow cap reached for " + bank->pubkey.to_base58() +
                                " (" + std::to_string(hour) + " lamports in the last hour, I7)" +
                                (allowed > 0 ? ": funding " + std::to_string(allowed) + " of " +
                                                   std::to_string(n)
                                             : std::string()));
      if (allowed == 0) break;
      n = allowed;
      to_create = n;  // nothing more this cycle: the cap is reached
    }
    QTW_ASSIGN_OR_RETURN(auto bank_kp, signer_.bank_keypair(*bank->bank_index));
    // I1: the new Explorers are durably recorded (pending) before anything
    // is signed or sent.
    const std::uint32_t bank_index = *bank->bank_index;
    QTW_ASSIGN_OR_RETURN(auto reserved,
                         store_.reserve_explorers(bank->id, n, [&](std::uint32_t j) -> Result<Pubkey> {
                           QTW_ASSIGN_OR_RETURN(auto kp, signer_.explorer_keypair(bank_index, j));
                           return kp.pubkey();
                         }));
    std::vector<Pubkey> recipients;
    std::vector<store::IntentTransfer> transfers;
    for (const auto& r : reserved) {
      recipients.push_back(r.pubkey);
      transfers.push_back(store::IntentTransfer{bank->pubkey, r.pubkey, params.lamports_per_explorer});
    }
    QTW_ASSIGN_OR_RETURN(auto msg, build_funding_message(bank->pubkey, recipients,
                                                         params.lamports_per_explorer,
                                                         blockhash.blockhash, options_.priority));
    auto tx = solana::Transaction::from_message(std::move(msg));
    const solana::Keypair* signers[] = {&bank_kp};
    QTW_TRY(tx.sign(signers));
    QTW_TRY(persist_and_queue(IntentKind::kFundExplorers, tx, blockhash.last_valid_block_height,
                              *fee_quote, std::move(transfers), {}, report));
    expected[bank->pubkey] -= static_cast<std::int64_t>(n * params.lamports_per_explorer + *fee_quote);
    to_create -= n;
  }
  return {};
}

Status Balancer::confirm(BalanceReport& report) {
  if (in_flight_.empty()) return {};
  std::vector<rpc::PendingTransaction> txs;
  txs.reserve(in_flight_.size());
  for (const auto& f : in_flight_) {
    QTW_TRY(store_.update_intent(f.intent_id, IntentStatus::kPrepared, IntentStatus::kSent, {}));
    txs.push_back(f.tx);
  }
  report.transactions_sent += static_cast<std::uint32_t>(txs.size());
  rpc::TransactionSender sender(rpc_, options_.sender);
  QTW_ASSIGN_OR_RETURN(auto outcomes, sender.send_and_confirm_all(txs));
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    QTW_TRY(apply_outcome(in_flight_[i], outcomes[i], report));
  }
  return {};
}

Status Balancer::apply_outcome(const InFlight& flight, const rpc::TxOutcome& outcome,
                               BalanceReport& report) {
  using rpc::TxOutcomeKind;
  if (outcome.kind == TxOutcomeKind::kUnknown) {
    // Not safe to re-sign or to revert: resolved at the start of a later cycle.
    ++report.transactions_unknown;
    return {};
  }
  const bool ok = outcome.kind == TxOutcomeKind::kConfirmed ||
                  outcome.kind == TxOutcomeKind::kFinalized;
  store::IntentOutcome result;
  if (outcome.landed) {
    result.slot = outcome.slot;
    result.fee_lamports = flight.fee_lamports;
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
      case IntentKind::kFundExplorers:
        return store_.transition_many(recipients_of(flight.transfers), KeyState::kPending,
                                      ok ? KeyState::kAvailable : KeyState::kDropped,
                                      ok ? "funding confirmed" : "funding did not land");
      case IntentKind::kRecover:
        if (!flight.recovery) {
          recovered = ok ? static_cast<std::uint32_t>(members.size()) : 0;
          return store_.transition_many(members, KeyState::kDraining,
                                        ok ? KeyState::kRetired : KeyState::kUsed,
                                        ok ? "recovered to 0 lamports"
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
