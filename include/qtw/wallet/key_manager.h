#pragma once
// KeyManager: the wallet as one object, with the seed's API (docs/ARCHITECTURE.md).
//
//   auto km = KeyManager::open(std::move(store), passphrase, options);
//   (*km)->balancer();                        // background balancing
//   auto lease = (*km)->get_explorer_keypair();  // in memory, sub-microsecond
//   auto sig = (*km)->sign(*lease, message_bytes);  // policy, single use, signature
//   (*km)->return_explorer_keypair(lease->pubkey, /*retire=*/true);
//
// The daemon (qtw serve) uses the same three calls for its HTTP API: leases
// come from the in-memory pool (keys are claimed durably in batches: that
// claim is the single-use commitment, I2), a signature is allowed once per
// claimed key by the pool and needs no disk write before it leaves, and
// sign records and returns are flushed together every flush_interval.
//
// It owns the store, the unsealed hot-key deriver (master seed in secure
// memory), unsealed HODL keys, the ExplorerPool and a Balancer with its own
// RPC client. A maintenance thread flushes sign records and retirements and
// heartbeats this process's durable leases; balancer() starts a thread that runs a cycle
// every interval, and at once when the pool runs low, while this process
// holds the store's balancer-leader slot.
//
// Thread safety: get_explorer_keypair/return_explorer_keypair/pool_stats are
// safe from any thread. balance() may be called from any thread; cycles are
// serialised. stop() is idempotent and called by the destructor.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>

#include "qtw/result.h"
#include "qtw/rpc/rpc_client.h"
#include "qtw/secure_bytes.h"
#include "qtw/store/key_store.h"
#include "qtw/wallet/balancer.h"
#include "qtw/wallet/config.h"
#include "qtw/wallet/explorer_pool.h"
#include "qtw/wallet/signing_policy.h"

namespace qtw::vault {
class HotKeys;
}
namespace qtw::metrics {
class WalletMetrics;
}

namespace qtw::wallet {

struct KeyManagerOptions {
  std::string rpc_url = "http://127.0.0.1:8899";  // the balancer's node
  rpc::RpcClientOptions rpc;                      // defaults as RpcClientOptions
  rpc::CurlTransportOptions http;                 // timeouts, extra headers
  BalancerOptions balancer;                       // params, caps, priority fee
  ExplorerPoolOptions pool;                       // claim batch, lease timeout
  // Cycle period of balancer(). Default 2 s.
  std::chrono::milliseconds balance_interval{2'000};
  // A wake (the pool ran empty or low) runs a cycle at once, but no sooner
  // than this after the previous cycle ended; while a safety cap or the
  // funding pause holds creation back, wakes wait for the interval.
  std::chrono::milliseconds min_wake_gap{200};
  // Balancer-leader slot lifetime after the last renewal (renewed every
  // cycle, and every third of it by one-shot commands). Default 15 s.
  std::chrono::milliseconds leader_ttl{15'000};
  // Durable claim deadline; renewed every heartbeat_interval. If this
  // process dies, its claimed keys expire to `used` after this. Default 30 s.
  std::chrono::milliseconds store_lease{30'000};
  std::chrono::milliseconds heartbeat_interval{5'000};
  // A claimed key is handed out and signs only until store_lease -
  // store_lease_margin after the start of its last successful claim or
  // heartbeat: another host (or a one-shot balancer) may expire the lease
  // once its deadline passes by ITS clock, so the margin covers clock skew
  // between hosts plus the time to write the sign records (a flush). Must
  // leave store_lease > heartbeat_interval + margin (open() checks). Default
  // 10 s: refusals start after 20 s without a successful heartbeat.
  std::chrono::milliseconds store_lease_margin{10'000};
  // How often sign records and retirements are flushed to the store.
  // Default 100 ms.
  std::chrono::milliseconds flush_interval{100};
  // After this long without a lease, claimed keys not handed out go back to
  // the store (available to every process) and nothing is claimed ahead.
  // Default 2 s.
  std::chrono::milliseconds idle_release{2'000};
  // Identity of this process in leases and leader election. Default:
  // hostname, pid and a random instance id. The daemon passes a stable one
  // ({hostname, 0, instance}); open() ends every lease the store shows this
  // owner holding (a restart never takes them back: they end as used).
  std::optional<store::LeaseOwner> owner;
  // What sign() signs (I8). Defaults: every rule on, no outflow cap; the
  // config's [policy] fills it (key_manager_options).
  SigningPolicy policy;
  // Where the seed's counters, the pool gauges, key-balance samples, cycle
  // durations and RPC calls are recorded. Not owned; must outlive the
  // KeyManager. nullptr = not recorded.
  metrics::WalletMetrics* metrics = nullptr;
};

// Running totals over every cycle this KeyManager ran.
struct BalancerTotals {
  std::uint64_t cycles = 0;
  std::uint64_t cycle_errors = 0;
  std::uint64_t explorers_created = 0;
  std::uint64_t explorers_recovered = 0;
  std::uint64_t explorers_retired_empty = 0;
  std::uint64_t explorers_dropped = 0;
  std::uint64_t lamports_recovered = 0;
  std::uint64_t lamports_to_explorers = 0;
  std::uint64_t lamports_to_banks = 0;
  std::uint64_t banks_funded = 0;
  std::uint64_t fees_lamports = 0;
  std::uint64_t transactions_sent = 0;
  std::string last_error;
};

class KeyManager {
 public:
  // Opens the wallet in `store`: unseals the master seed and HODL keys with
  // `passphrase` (kCrypto on a wrong passphrase; a HODL key sealed under a
  // different passphrase stays locked and is treated as watch-only). kNotFound
  // if the store holds no wallet (run `qtw init`).
  [[nodiscard]] static Result<std::unique_ptr<KeyManager>> open(
      std::unique_ptr<store::KeyStore> store, const SecureBytes& passphrase,
      KeyManagerOptions options = {});
  ~KeyManager();
  KeyManager(const KeyManager&) = delete;
  KeyManager& operator=(const KeyManager&) = delete;

  // Leases one Explorer (seed API). kPoolEmpty when none is available; the
  // balancer is woken to create more.
  [[nodiscard]] Result<ExplorerLease> get_explorer_keypair();
  // Returns it (seed API): retire=true after it signed (the normal case).
  // retire=false puts it back only if it signed nothing through sign().
  // kNotFound: not leased by this process; kConflict: already returned, its
  // lease expired (it counts as used), or retire=false after a signature.
  [[nodiscard]] Status return_explorer_keypair(const solana::Pubkey& pubkey, bool retire);

  // Signs `message` (a serialized legacy or v0 message) with a leased
  // Explorer, once: decodes it (kParse), checks the Explorer is one of its
  // signers (kInvalidArgument), applies the signing policy
  // (kPolicyRefused; `refusal`, if given, gets the rule and instruction),
  // then marks it signed in the pool (never again, I2) and computes the
  // signature; the sign record reaches the store with the next flush. No
  // disk write on this path. kNotFound: not leased by this process;
  // kConflict: it already signed, was returned, its lease expired or its
  // store lease was not renewed in time. A refused or malformed message does
  // not use the lease up. Thread safe.
  [[nodiscard]] Result<solana::Signature> sign(const ExplorerLease& lease,
                                               std::span<const std::uint8_t> message,
                                               PolicyRefusal* refusal = nullptr);
  [[nodiscard]] Result<solana::Signature> sign(const solana::Pubkey& explorer,
                                               std::span<const std::uint8_t> message,
                                               PolicyRefusal* refusal = nullptr);
  // A lease's deadline as Unix time in ms (for the API's deadline_ms).
  [[nodiscard]] static std::int64_t deadline_unix_ms(const ExplorerLease& lease);

  // One balancer cycle now (seed API), with explicit parameters.
  [[nodiscard]] Result<BalanceReport> balance(std::uint32_t min_explorer_keys,
                                              std::uint32_t explorer_keys_to_create,
                                              std::uint64_t lamports_per_explorer,
                                              std::uint64_t lamports_per_bank);
  // One cycle with the configured parameters.
  [[nodiscard]] Result<BalanceReport> balance();

  // Takes the store's balancer-leader slot (one-shot commands: qtw balance,
  // qtw sweep) and keeps renewing it until stop(), so a cycle never runs
  // beside another process's balancer. kConflict when another process holds
  // it (a crashed holder's slot frees leader_ttl after its last renewal).
  [[nodiscard]] Status take_leadership();

  // qtw sweep --to-hodl: Balancer::sweep_to_hodl into `hodl`, or the first
  // registered HODL key when not given.
  [[nodiscard]] Result<BalanceReport> sweep_to_hodl(std::optional<solana::Pubkey> hodl);

  // Starts the background balancer loop (seed API). Idempotent.
  void balancer();
  // Stops the loops, returns unused claimed keys, marks unreturned leases
  // used. Idempotent.
  [[nodiscard]] Status stop();

  // The keypair of a store Explorer record, derived from the master seed and
  // checked against the record's pubkey (kCorrupt on a mismatch). For the
  // daemon, which signs with leased keys itself; the secret stays in memory.
  [[nodiscard]] Result<solana::Keypair> explorer_keypair(const store::KeyRecord& explorer) const;
  // Asks the background balancer for a cycle now (e.g. the pool ran dry).
  void wake_balancer();
  // True while this process's balancer() holds the store's leader slot (as
  // of its last check, once per interval).
  [[nodiscard]] bool is_leader() const noexcept { return is_leader_.load(); }

  [[nodiscard]] ExplorerPoolStats pool_stats() const { return pool_->stats(); }
  [[nodiscard]] BalancerTotals totals() const;
  [[nodiscard]] store::KeyStore& store() noexcept { return *store_; }
  [[nodiscard]] const store::LeaseOwner& owner() const noexcept { return owner_; }

 private:
  class Source;
  class Signer;
  class RpcMetrics;
  // Why `explorer` is not leased here, from the store: kConflict if its
  // lease ended (used, draining, retired), else `not_here`.
  Error lease_ended_or(const solana::Pubkey& explorer, Error not_here);
  // At open: every lease the store shows owner_ holding ends as used.
  Status end_held_leases();
  // pool_->flush(), logging and counting what it refused.
  void flush_pool();
  KeyManager() = default;
  void maintenance_loop();
  void balancer_loop();
  void add_to_totals(const Result<BalanceReport>& report);

  KeyManagerOptions options_;
  store::LeaseOwner owner_;
  store::LeaseOwner leader_owner_;  // owner_ with this process's pid
  std::unique_ptr<store::KeyStore> store_;
  std::unique_ptr<vault::HotKeys> hot_keys_;
  std::unordered_map<solana::Pubkey, std::unique_ptr<solana::Keypair>> hodl_keys_;
  std::unique_ptr<RpcMetrics> rpc_metrics_;  // before rpc_: it outlives the client
  std::unique_ptr<rpc::RpcClient> rpc_;
  std::unique_ptr<Source> source_;
  std::unique_ptr<Signer> signer_;
  std::unique_ptr<ExplorerPool> pool_;
  std::unique_ptr<Balancer> balancer_;
  std::atomic<std::uint64_t> leases_since_check_{0};  // for the low-pool wake-up
  // Keys the maintenance thread keeps claimed ahead (0 until the first lease).
  std::atomic<std::size_t> claim_ahead_{0};

  mutable std::mutex mu_;  // guards totals_, stopping_, balancer_started_, wake_, prefill_now_
  std::condition_variable cv_;
  BalancerTotals totals_;
  bool stopping_ = false;
  bool stopped_ = false;
  bool balancer_started_ = false;
  bool wake_ = false;
  bool prefill_now_ = false;  // get_explorer_keypair saw the pool low
  std::atomic<bool> renew_leadership_{false};
  std::atomic<bool> is_leader_{false};
  std::thread maintenance_;
  std::thread balancer_thread_;

  // Warnings of the background threads: each text is logged once a minute at most,
  // with how often it came back meanwhile (a cap that stays hit, a node
  // that stays down), not once per cycle.
  class WarningLog {
   public:
    WarningLog() = default;
    WarningLog(const WarningLog&) = delete;
    WarningLog& operator=(const WarningLog&) = delete;
    ~WarningLog();
    void say(const std::string& text);

   private:
    static constexpr std::chrono::seconds kRepeatEvery{60};
    struct Seen {
      std::chrono::steady_clock::time_point first_logged;
      std::uint64_t repeats = 0;
    };
    std::unordered_map<std::string, Seen> recent_;
  };
};

// The options a config file describes (rpc, balancer params, priority fee,
// caps, pool). `metrics` and `owner` are left unset.
[[nodiscard]] KeyManagerOptions key_manager_options(const WalletConfig& config);

// Identity for leases: hostname, pid, 16 random hex characters.
[[nodiscard]] store::LeaseOwner make_lease_owner();

}  // namespace qtw::wallet
