// One balancer cycle that creates and funds N Explorers, on the real local
// node (tools/localnet, LiteSVM), and what it costs: wall time, transactions,
// HTTP requests by first method. Also times the pieces in process: deriving
// N Explorer pubkeys (with and without a Keypair per key).
//
//   build/bench/cycle_bench [--explorers 1000,10000] [--banks 8] [--slot-ms 400]
//   build/bench/cycle_bench --steady 100   (5 cycles of 100 lifecycles each:
//                                          HTTP requests and fees per lifecycle)
//
// Each N runs on a fresh node and store: a bootstrap cycle tops up the Banks
// from HODL (not timed), then the timed cycle creates N Explorers (derive,
// persist pending (I1), sign, send in batches, confirm with batched status
// polls). Not a test: figures go to bench/RESULTS.md.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "qtw/vault/hot_keys.h"
#include "support/wallet_rig.h"

namespace {

using namespace qtw;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<std::uint32_t> parse_list(const std::string& text) {
  std::vector<std::uint32_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(static_cast<std::uint32_t>(std::stoul(item)));
  return out;
}

void derivation(std::uint32_t n) {
  auto hot = vault::HotKeys::create(vault::generate_master_seed()).value();
  (void)hot->explorer_pubkey(0, 0);  // parent cached, as in a running wallet
  auto t0 = std::chrono::steady_clock::now();
  for (std::uint32_t j = 0; j < n; ++j) (void)hot->explorer_keypair(0, j);
  const double with_keypair = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  for (std::uint32_t j = 0; j < n; ++j) (void)hot->explorer_pubkey(0, j);
  const double pubkey_only = seconds_since(t0);
  std::printf("derive %u Explorer keys: explorer_keypair %.3f s (%.1f us/key), "
              "explorer_pubkey %.3f s (%.1f us/key)\n",
              n, with_keypair, with_keypair * 1e6 / n, pubkey_only, pubkey_only * 1e6 / n);
}

int run(std::uint32_t n, std::uint32_t banks, int slot_ms) {
  test::WalletRigOptions o;
  o.slot_ms = slot_ms;
  o.banks = banks;
  o.hodl_lamports = 100'000'000'000'000;  // 100,000 SOL
  o.balancer.params.lamports_per_explorer = 1'000'000;
  o.balancer.params.lamports_per_bank = 4'000'000'000;
  o.balancer.max_hodl_outflow_lamports_per_hour = 1'000'000'000'000;
  o.balancer.sender.poll_interval_ms = slot_ms;
  auto rig = test::WalletRig::start(o);
  if (!rig) {
    std::fprintf(stderr, "rig: %s\n", to_string(rig.error()).c_str());
    return 1;
  }
  auto& r = **rig;
  wallet::BalanceParams boot = o.balancer.params;
  boot.min_explorer_keys = 0;
  boot.explorer_keys_to_create = 0;
  auto first = r.balancer().run_cycle(boot);
  if (!first || first->banks_funded != banks) {
    std::fprintf(stderr, "bootstrap failed: %s\n",
                 first ? "Banks not funded" : to_string(first.error()).c_str());
    return 1;
  }
  wallet::BalanceParams p = o.balancer.params;
  p.min_explorer_keys = n;
  p.explorer_keys_to_create = n;
  r.counter().reset();
  const auto t0 = std::chrono::steady_clock::now();
  auto report = r.balancer().run_cycle(p);
  const double wall = seconds_since(t0);
  if (!report) {
    std::fprintf(stderr, "cycle failed: %s\n", to_string(report.error()).c_str());
    return 1;
  }
  std::printf("create %u Explorers, %u Banks, slot %d ms: %.3f s wall; created %u, "
              "%u transactions (%u confirmed), fees %llu lamports (%.1f per Explorer); "
              "HTTP requests %llu: %s\n",
              n, banks, slot_ms, wall, report->explorers_created, report->transactions_sent,
              report->transactions_confirmed,
              static_cast<unsigned long long>(report->fees_lamports),
              report->explorers_created ? static_cast<double>(report->fees_lamports) /
                                              report->explorers_created
                                        : 0.0,
              static_cast<unsigned long long>(r.counter().http_total),
              r.counter().http_summary().c_str());
  std::printf("  phases: read %.3f s, build (derive, sign, persist) %.3f s, "
              "send + confirm (+ outcomes persisted) %.3f s\n",
              static_cast<double>(report->read_us) / 1e6, static_cast<double>(report->build_us) / 1e6,
              static_cast<double>(report->send_confirm_us) / 1e6);
  for (const auto& w : report->warnings) std::printf("  warning: %s\n", w.c_str());
  // At least n: the last funding transaction is filled up to 21
  // (BalancerOptions::fill_funding_transactions).
  return report->explorers_created >= n ? 0 : 1;
}

// Steady state: each cycle recovers `n` used Explorers and creates `n` new
// ones (what a daemon does when Landers use n Explorers per interval).
int steady(std::uint32_t n, std::uint32_t banks, int slot_ms, int cycles) {
  test::WalletRigOptions o;
  o.slot_ms = slot_ms;
  o.banks = banks;
  o.balancer.params.lamports_per_explorer = 10'000'000;
  o.balancer.params.lamports_per_bank = 4'000'000'000;
  o.balancer.params.min_explorer_keys = n;
  o.balancer.params.explorer_keys_to_create = n;
  o.balancer.max_hodl_outflow_lamports_per_hour = 1'000'000'000'000;
  o.balancer.sender.poll_interval_ms = slot_ms;
  auto rig = test::WalletRig::start(o);
  if (!rig) {
    std::fprintf(stderr, "rig: %s\n", to_string(rig.error()).c_str());
    return 1;
  }
  auto& r = **rig;
  auto first = r.balancer().run_cycle();
  if (!first || first->explorers_created < n) {
    std::fprintf(stderr, "bootstrap failed\n");
    return 1;
  }
  r.counter().reset();
  std::uint64_t lifecycles = 0, fees = 0;
  double wall = 0;
  for (int c = 0; c < cycles; ++c) {
    auto used = r.use_explorers(n);
    if (!used) return 1;
    const auto t0 = std::chrono::steady_clock::now();
    auto report = r.balancer().run_cycle();
    wall += seconds_since(t0);
    // Recovers the n used; creates n or more (the last funding transaction
    // filled up to 21 Explorers: 100 -> 105, five full transactions).
    if (!report || report->explorers_recovered != n || report->explorers_created < n) {
      std::fprintf(stderr, "steady cycle failed\n");
      return 1;
    }
    lifecycles += n;
    fees += report->fees_lamports;
  }
  const auto& k = r.counter();
  std::printf("steady: %d cycles x %u lifecycles (recover + create), slot %d ms: %.3f s/cycle; "
              "fees %.1f lamports per lifecycle; HTTP requests %llu = %.3f per lifecycle (%s)\n",
              cycles, n, slot_ms, wall / cycles, static_cast<double>(fees) / static_cast<double>(lifecycles),
              static_cast<unsigned long long>(k.http_total),
              static_cast<double>(k.http_total) / static_cast<double>(lifecycles), k.http_summary().c_str());
  std::string calls;
  for (const auto& [method, count] : k.calls) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), " %s=%.3f", method.c_str(),
                  static_cast<double>(count) / static_cast<double>(lifecycles));
    calls += buf;
  }
  std::printf("  JSON-RPC calls per lifecycle:%s\n", calls.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::uint32_t> sizes = {1000, 10000};
  std::uint32_t banks = 8;
  int slot_ms = 400;
  std::uint32_t steady_n = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--explorers") {
      sizes = parse_list(next());
    } else if (a == "--banks") {
      banks = static_cast<std::uint32_t>(std::stoul(next()));
    } else if (a == "--steady") {
      steady_n = static_cast<std::uint32_t>(std::stoul(next()));
    } else if (a == "--slot-ms") {
      slot_ms = std::stoi(next());
    } else {
      std::fprintf(stderr,
                   "usage: cycle_bench [--explorers 1000,10000 | --steady N] [--banks 8] "
                   "[--slot-ms 400]\n");
      return 2;
    }
  }
  if (steady_n > 0) return steady(steady_n, banks, slot_ms, 5);
  int rc = 0;
  for (auto n : sizes) {
    derivation(n);
    rc |= run(n, banks, slot_ms);
  }
  return rc;
}
