#pragma once
// WalletMetrics: the wallet's metrics with the seed's names (docs/DAEMON.md, Metrics).
//
//   WalletMetrics metrics;                       // owns its Registry
//   metrics.explorer_keys_acquired().inc();      // one relaxed atomic add
//   metrics.rpc_request("getBalance");
//   metrics.rpc_error("getBalance", "transport");
//   metrics.set_keys("explorer", "available", 42);
//   metrics.record_key_balances("explorer", lamports);
//   std::string text = write_prometheus_text(metrics.registry());
//
// Metric                                        kind       labels          unit
// qtrade.wallets.explorer_keys_acquired         counter    -               {key}
// qtrade.wallets.explorer_keys_retired          counter    -               {key}
// qtrade.wallets.explorer_keys_created          counter    -               {key}
// qtrade.wallets.explorer_keys_funds_recovered  counter    -               {key}
// qtrade.wallets.bank_keys_funded               counter    -               {key}
// qtrade.wallets.total_sol_recovered            counter    -               lamports (seed name
// kept) qtrade.wallets.fees_paid_lamports             counter    -               lamports
// qtrade.wallets.keys                           gauge      tier, state     {key}
// qtrade.wallets.key_balance_lamports           histogram  tier            lamports
// qtrade.wallets.balancer_cycle_duration_seconds histogram -               s
// qtrade.wallets.rpc_requests                   counter    method          {request}
// qtrade.wallets.rpc_errors                     counter    method, error   {error}
// qtrade.wallets.rpc_http_requests              counter    method          {request}
//   (HTTP exchanges; a JSON-RPC batch counts once, under its first method)
// qtrade.wallets.sign_refused                   counter    rule            {request}
// qtrade.wallets.key_lamports                   gauge      tier, pubkey    lamports
// qtrade.wallets.balancer_cycles_failed         counter    -               {cycle}
// qtrade.wallets.cap_hits                       counter    cap             {event}
// qtrade.wallets.lease_renewals_failed          counter    -               {renewal}
// qtrade.wallets.sign_records_refused           counter    -               {record}
//
// key_lamports is one gauge per HODL and Bank key (few keys, each worth an
// alert of its own); Explorers, thousands and short-lived, stay in the
// key_balance_lamports histogram. cap_hits' cap label is one of kCapNames.
//
// Tier and state label values are the callers' names (this module sits below
// wallet/store and does not know their enums); use the lower-case names
// "hodl", "bank", "explorer" and "pending", "available", "leased", "used",
// "draining", "retired", "dropped" so dashboards stay consistent.
//
// Thread safety: every method may be called from any thread. The no-label
// accessors return references fixed at construction (cache-free hot path);
// labelled lookups take the family's shared lock (see registry.h), so a
// hot-path caller with a fixed label set may cache the returned reference.
#include <cstdint>
#include <span>
#include <string_view>

#include "qtw/metrics/registry.h"

namespace qtw::metrics {

// Bucket upper bounds of key_balance_lamports: 0, one signature fee, the
// rent-exempt minimum of a 0-byte account (890,880), 0.001/0.01/0.05/0.1/1/10/100 SOL.
inline constexpr double kKeyBalanceBoundsLamports[] = {0,   5'000, 890'880, 1e6,  1e7,
                                                       5e7, 1e8,   1e9,     1e10, 1e11};
// Bucket upper bounds of balancer_cycle_duration_seconds.
inline constexpr double kBalancerCycleBoundsSeconds[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                                         2.5,  5,    10,  30,   60};

// The I7 caps, as cap_hits labels: the per-Explorer funding amount, a Bank's
// hourly outflow, a HODL key's hourly outflow.
inline constexpr std::string_view kCapNames[] = {"explorer_amount", "bank_outflow",
                                                 "hodl_outflow"};

class WalletMetrics {
 public:
  WalletMetrics();
  WalletMetrics(const WalletMetrics&) = delete;
  WalletMetrics& operator=(const WalletMetrics&) = delete;

  // The seed's counters.
  [[nodiscard]] Counter& explorer_keys_acquired() { return *explorer_keys_acquired_; }
  [[nodiscard]] Counter& explorer_keys_retired() { return *explorer_keys_retired_; }
  [[nodiscard]] Counter& explorer_keys_created() { return *explorer_keys_created_; }
  [[nodiscard]] Counter& explorer_keys_funds_recovered() { return *explorer_keys_funds_recovered_; }
  [[nodiscard]] Counter& bank_keys_funded() { return *bank_keys_funded_; }
  // Lamports recovered from Explorers (the seed's name says SOL; the unit is lamports).
  [[nodiscard]] Counter& total_sol_recovered() { return *total_sol_recovered_; }
  // Lamports paid in transaction fees by the balancer (funding, recovery).
  [[nodiscard]] Counter& fees_paid_lamports() { return *fees_paid_lamports_; }

  // Recovery (issues 12, 13): Explorers that cannot be drained (reported
  // once, when they become stranded); token base units moved to Banks, by
  // mint; token accounts closed; lamports of rent (and wrapped SOL) their
  // closes returned.
  [[nodiscard]] Counter& explorers_stranded() { return *explorers_stranded_; }
  [[nodiscard]] Counter& tokens_recovered(std::string_view mint);
  [[nodiscard]] Counter& token_accounts_closed() { return *token_accounts_closed_; }
  [[nodiscard]] Counter& rent_recovered_lamports() { return *rent_recovered_lamports_; }
  // Pool size gauge for one tier and state.
  [[nodiscard]] Gauge& keys(std::string_view tier, std::string_view state);
  void set_keys(std::string_view tier, std::string_view state, std::int64_t count) {
    keys(tier, state).set(count);
  }

  // Adds one observation per sampled key balance (the seed's name).
  void record_key_balances(std::string_view tier, std::span<const std::uint64_t> lamports);
  [[nodiscard]] Histogram& key_balance(std::string_view tier);

  void record_balancer_cycle(double seconds) { balancer_cycle_duration_->observe(seconds); }
  [[nodiscard]] Histogram& balancer_cycle_duration() { return *balancer_cycle_duration_; }

  // Last balance read of one HODL or Bank key (pubkey in base58).
  void set_key_lamports(std::string_view tier, std::string_view pubkey, std::uint64_t lamports);
  [[nodiscard]] Gauge& key_lamports(std::string_view tier, std::string_view pubkey);

  // A balancer cycle that returned an error (nothing, or only part, done).
  [[nodiscard]] Counter& balancer_cycles_failed() { return *balancer_cycles_failed_; }
  // A store lease heartbeat that failed (the daemon refuses its claimed
  // Explorers once their store lease is near its deadline).
  [[nodiscard]] Counter& lease_renewals_failed() { return *lease_renewals_failed_; }
  // A signature whose record the store refused (its lease had already been
  // ended by another process): the key is used either way.
  [[nodiscard]] Counter& sign_records_refused() { return *sign_records_refused_; }
  // One cap reached (cap: one of kCapNames); every name is registered at 0.
  [[nodiscard]] Counter& cap_hits(std::string_view cap);

  // One JSON-RPC request sent / failed. error is a stable label such as
  // qtw::error_code_name() ("transport", "http", "rpc", "timeout", ...).
  void rpc_request(std::string_view method) { rpc_requests(method).inc(); }
  void rpc_error(std::string_view method, std::string_view error) {
    rpc_errors(method, error).inc();
  }
  void rpc_http_request(std::string_view method) { rpc_http_requests(method).inc(); }
  // A signature the signing policy refused, by rule (docs/DAEMON.md).
  void sign_refused(std::string_view rule) { sign_refused_counter(rule).inc(); }
  [[nodiscard]] Counter& sign_refused_counter(std::string_view rule);
  [[nodiscard]] Counter& rpc_requests(std::string_view method);
  [[nodiscard]] Counter& rpc_http_requests(std::string_view method);
  [[nodiscard]] Counter& rpc_errors(std::string_view method, std::string_view error);

  // Current values (exact once the writers are done).
  [[nodiscard]] std::int64_t keys_value(std::string_view tier, std::string_view state) {
    return keys(tier, state).value();
  }
  [[nodiscard]] std::uint64_t rpc_requests_value(std::string_view method) {
    return rpc_requests(method).value();
  }
  [[nodiscard]] std::uint64_t rpc_errors_value(std::string_view method, std::string_view error) {
    return rpc_errors(method, error).value();
  }

  [[nodiscard]] Registry& registry() { return registry_; }
  [[nodiscard]] const Registry& registry() const { return registry_; }

 private:
  Registry registry_;
  Counter* explorer_keys_acquired_ = nullptr;
  Counter* explorer_keys_retired_ = nullptr;
  Counter* explorer_keys_created_ = nullptr;
  Counter* explorer_keys_funds_recovered_ = nullptr;
  Counter* bank_keys_funded_ = nullptr;
  Counter* total_sol_recovered_ = nullptr;
  Counter* fees_paid_lamports_ = nullptr;
  Counter* explorers_stranded_ = nullptr;
  Counter* lease_renewals_failed_ = nullptr;
  Counter* sign_records_refused_ = nullptr;
  CounterFamily* tokens_recovered_ = nullptr;
  Counter* token_accounts_closed_ = nullptr;
  Counter* rent_recovered_lamports_ = nullptr;
  GaugeFamily* keys_ = nullptr;
  HistogramFamily* key_balance_ = nullptr;
  Histogram* balancer_cycle_duration_ = nullptr;
  GaugeFamily* key_lamports_ = nullptr;
  Counter* balancer_cycles_failed_ = nullptr;
  CounterFamily* cap_hits_ = nullptr;
  CounterFamily* rpc_requests_ = nullptr;
  CounterFamily* rpc_errors_ = nullptr;
  CounterFamily* rpc_http_requests_ = nullptr;
  CounterFamily* sign_refused_ = nullptr;
};

}  // namespace qtw::metrics
