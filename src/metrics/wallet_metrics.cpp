#include "qtw/metrics/wallet_metrics.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <map>

namespace qtw::metrics {

namespace {

// Registration of our own fixed, valid names into a fresh registry cannot
// fail; if it ever does, that is a bug in this file, so fail loudly at startup
// rather than hand out null references.
template <class T>
T* must(Result<T*> r, std::string_view what) {
  if (!r) {
    spdlog::critical("WalletMetrics: registering {} failed: {}", what, to_string(r.error()));
    std::abort();
  }
  return *r;
}

Counter* plain_counter(Registry& registry, std::string_view name, std::string_view help,
                       std::string_view unit) {
  auto* family = must(registry.counter_family(name, help, unit), name);
  return must(family->with(std::span<const std::string_view>{}), name);
}

}  // namespace

WalletMetrics::WalletMetrics() {
  explorer_keys_acquired_ = plain_counter(registry_, "qtrade.wallets.explorer_keys_acquired",
                                          "Explorer keys handed out to a lander", "{key}");
  explorer_keys_retired_ = plain_counter(registry_, "qtrade.wallets.explorer_keys_retired",
                                         "Explorer keys returned for retirement", "{key}");
  explorer_keys_created_ = plain_counter(registry_, "qtrade.wallets.explorer_keys_created",
                                         "Explorer keys derived, persisted and funded", "{key}");
  explorer_keys_funds_recovered_ =
      plain_counter(registry_, "qtrade.wallets.explorer_keys_funds_recovered",
                    "Explorer keys drained back to their funding Bank", "{key}");
  bank_keys_funded_ = plain_counter(registry_, "qtrade.wallets.bank_keys_funded",
                                    "Bank top-ups from HODL", "{key}");
  total_sol_recovered_ = plain_counter(registry_, "qtrade.wallets.total_sol_recovered",
                                       "Lamports recovered from Explorer keys", "lamports");
  fees_paid_lamports_ =
      plain_counter(registry_, "qtrade.wallets.fees_paid_lamports",
                    "Transaction fees paid by the balancer, in lamports", "lamports");
  explorers_stranded_ =
      plain_counter(registry_, "qtrade.wallets.explorers_stranded",
                    "Explorer keys the wallet cannot drain (reported once each)", "{key}");
  tokens_recovered_ = must(registry_.counter_family("qtrade.wallets.tokens_recovered",
                                                    "Token base units moved from Explorers to "
                                                    "their Banks, by mint",
                                                    "{token}", {"mint"}),
                           "tokens_recovered");
  token_accounts_closed_ =
      plain_counter(registry_, "qtrade.wallets.token_accounts_closed",
                    "Token accounts of Explorers and Banks closed by recovery and sweeps",
                    "{account}");
  rent_recovered_lamports_ =
      plain_counter(registry_, "qtrade.wallets.rent_recovered_lamports",
                    "Lamports returned by closing token accounts (rent and wrapped SOL)",
                    "lamports");
  keys_ = must(registry_.gauge_family("qtrade.wallets.keys", "Managed keys by tier and state",
                                      "{key}", {"tier", "state"}),
               "keys");
  key_balance_ =
      must(registry_.histogram_family("qtrade.wallets.key_balance_lamports",
                                      "Sampled key balances by tier, in lamports", "lamports",
                                      std::vector<double>(std::begin(kKeyBalanceBoundsLamports),
                                                          std::end(kKeyBalanceBoundsLamports)),
                                      {"tier"}),
           "key_balance_lamports");
  auto* cycle =
      must(registry_.histogram_family("qtrade.wallets.balancer_cycle_duration_seconds",
                                      "Wall time of one balancer cycle, in seconds", "s",
                                      std::vector<double>(std::begin(kBalancerCycleBoundsSeconds),
                                                          std::end(kBalancerCycleBoundsSeconds))),
           "balancer_cycle_duration_seconds");
  balancer_cycle_duration_ =
      must(cycle->with(std::span<const std::string_view>{}), "balancer_cycle_duration_seconds");
  key_lamports_ = must(registry_.gauge_family("qtrade.wallets.key_lamports",
                                              "Last balance read of each HODL and Bank key, "
                                              "in lamports",
                                              "lamports", {"tier", "pubkey"}),
                       "key_lamports");
  balancer_cycles_failed_ =
      plain_counter(registry_, "qtrade.wallets.balancer_cycles_failed",
                    "Balancer cycles that ended with an error", "{cycle}");
  lease_renewals_failed_ =
      plain_counter(registry_, "qtrade.wallets.lease_renewals_failed",
                    "Store lease heartbeats that failed (claimed Explorers are refused once "
                    "their store lease nears its deadline)",
                    "{renewal}");
  sign_records_refused_ =
      plain_counter(registry_, "qtrade.wallets.sign_records_refused",
                    "Signatures whose record the store refused because their lease had already "
                    "ended",
                    "{record}");
  cap_hits_ = must(registry_.counter_family("qtrade.wallets.cap_hits",
                                            "Times a cap (I7) stopped or cut a transfer, by cap",
                                            "{event}", {"cap"}),
                   "cap_hits");
  // Every cap at 0 from the start: a dashboard or an alert on increase()
  // sees the first hit rather than a series appearing at 1.
  for (std::string_view cap : kCapNames) (void)cap_hits(cap);
  rpc_requests_ =
      must(registry_.counter_family("qtrade.wallets.rpc_requests",
                                    "JSON-RPC requests sent, by method", "{request}", {"method"}),
           "rpc_requests");
  rpc_errors_ = must(registry_.counter_family("qtrade.wallets.rpc_errors",
                                              "JSON-RPC requests that failed, by method and error",
                                              "{error}", {"method", "error"}),
                     "rpc_errors");
  rpc_http_requests_ = must(
      registry_.counter_family("qtrade.wallets.rpc_http_requests",
                               "HTTP requests to the node (a JSON-RPC batch counts once), by its "
                               "first method",
                               "{request}", {"method"}),
      "rpc_http_requests");
  sign_refused_ = must(registry_.counter_family("qtrade.wallets.sign_refused",
                                                "Signatures the signing policy refused, by rule",
                                                "{request}", {"rule"}),
                       "sign_refused");
}

// The label arity below always matches the registration above, so with()
// cannot fail; must() documents and enforces that.
Gauge& WalletMetrics::keys(std::string_view tier, std::string_view state) {
  return *must(keys_->with({tier, state}), "keys");
}

Histogram& WalletMetrics::key_balance(std::string_view tier) {
  return *must(key_balance_->with({tier}), "key_balance_lamports");
}

void WalletMetrics::record_key_balances(std::string_view tier,
                                        std::span<const std::uint64_t> lamports) {
  Histogram& h = key_balance(tier);
  for (std::uint64_t v : lamports) h.observe(static_cast<double>(v));
}

void WalletMetrics::set_key_lamports(std::string_view tier, std::string_view pubkey,
                                     std::uint64_t lamports) {
  // int64 holds 9.2e18 lamports, far above the total SOL supply (~6e17).
  key_lamports(tier, pubkey).set(static_cast<std::int64_t>(lamports));
}

Gauge& WalletMetrics::key_lamports(std::string_view tier, std::string_view pubkey) {
  return *must(key_lamports_->with({tier, pubkey}), "key_lamports");
}

Counter& WalletMetrics::cap_hits(std::string_view cap) {
  return *must(cap_hits_->with({cap}), "cap_hits");
}

Counter& WalletMetrics::sign_refused_counter(std::string_view rule) {
  return *must(sign_refused_->with({rule}), "sign_refused");
}

Counter& WalletMetrics::rpc_requests(std::string_view method) {
  return *must(rpc_requests_->with({method}), "rpc_requests");
}

Counter& WalletMetrics::rpc_http_requests(std::string_view method) {
  return *must(rpc_http_requests_->with({method}), "rpc_http_requests");
}

Counter& WalletMetrics::tokens_recovered(std::string_view mint) {
  return *must(tokens_recovered_->with({mint}), "tokens_recovered");
}

Counter& WalletMetrics::rpc_errors(std::string_view method, std::string_view error) {
  return *must(rpc_errors_->with({method, error}), "rpc_errors");
}

}  // namespace qtw::metrics
