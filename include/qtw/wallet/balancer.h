#pragma once
// Balancer: one cycle = resolve in-flight, read, recover, fund Banks, create
// Explorers, confirm (DESIGN §4). Every transaction is persisted to the
// intent log with its signed bytes and lastValidBlockHeight BEFORE it is
// sent, so a restarted balancer finishes or safely abandons what it started
// (I1, I4): it rebroadcasts the same bytes while the blockhash is valid and
// treats the transaction as failed only once the node reports an error or the
// block height has passed lastValidBlockHeight without it landing.
//
// Funds move only along the tier graph (I3): HODL -> Bank, Bank -> Explorer,
// Explorer -> its funding Bank. Fees come from the node (getFeeForMessage),
// never a constant.
//
// Thread safety: one cycle at a time per Balancer (run_cycle is serialised
// by an internal mutex). Uses its own RpcClient, which must not be shared.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "qtw/result.h"
#include "qtw/rpc/rpc_client.h"
#include "qtw/rpc/transaction_sender.h"
#include "qtw/solana/types.h"
#include "qtw/solana/transaction.h"
#include "qtw/store/key_store.h"
#include "qtw/wallet/tx_plan.h"

namespace qtw::metrics {
class WalletMetrics;
}

namespace qtw::wallet {

// Where the balancer gets signing keys. Hot keys are derived from the master
// seed; HODL keys are unsealed at open. Implemented by KeyManager.
class KeySigner {
 public:
  virtual ~KeySigner() = default;
  [[nodiscard]] virtual Result<solana::Keypair> bank_keypair(std::uint32_t bank_index) = 0;
  [[nodiscard]] virtual Result<solana::Keypair> explorer_keypair(std::uint32_t bank_index,
                                                                 std::uint32_t explorer_index) = 0;
  // nullptr when `hodl` is watch-only (or unknown).
  [[nodiscard]] virtual const solana::Keypair* hodl_keypair(const solana::Pubkey& hodl) = 0;
};

struct BalanceParams {
  std::uint32_t min_explorer_keys = 5;
  std::uint32_t explorer_keys_to_create = 3;
  std::uint64_t lamports_per_explorer = 10'000'000;
  std::uint64_t lamports_per_bank = 100'000'000;
};

struct BalancerOptions {
  BalanceParams params;
  // Banks below this percentage of lamports_per_bank are topped up. Default 50.
  std::uint32_t bank_refill_percent = 50;
  PriorityFee priority;
  // Strand Explorers whose account cannot be drained before batching them
  // (see BalancerConfig::classify_before_recovery). Default true.
  bool classify_before_recovery = true;
  // I7 caps (see CapsConfig). Defaults as CapsConfig.
  std::uint64_t max_lamports_per_explorer = 100'000'000;
  std::uint64_t max_bank_outflow_lamports_per_hour = 100'000'000'000;
  std::uint64_t max_hodl_outflow_lamports_per_hour = 10'000'000'000;
  // How the cycle's transactions are confirmed.
  rpc::SenderOptions sender;
  // Wall clock in Unix ms (lease expiry, caps window). Default system time.
  std::function<std::int64_t()> now_ms;
};

// An Explorer the wallet cannot drain, and why (issue 12 §3).
struct StrandedExplorer {
  solana::Pubkey pubkey;
  std::string reason;
};

// What one cycle did.
struct BalanceReport {
  std::uint32_t intents_resumed = 0;        // unresolved intents found at start
  std::uint32_t explorers_recovered = 0;    // drained to 0 and retired
  std::uint64_t lamports_recovered = 0;     // moved Explorer -> Bank
  std::uint32_t explorers_retired_empty = 0;  // used with 0 lamports: retired without a tx
  std::uint32_t banks_funded = 0;
  std::uint64_t lamports_to_banks = 0;
  std::uint32_t explorers_created = 0;      // funding confirmed (pending -> available)
  std::uint64_t lamports_to_explorers = 0;
  std::uint32_t explorers_dropped = 0;      // funding failed or expired
  std::uint64_t fees_lamports = 0;          // fees of our transactions that landed
  std::uint32_t transactions_sent = 0;
  std::uint32_t transactions_confirmed = 0;
  std::uint32_t transactions_failed = 0;
  std::uint32_t transactions_expired = 0;
  std::uint32_t transactions_unknown = 0;   // still in flight (resolved next cycle)
  std::uint32_t leases_expired = 0;
  // sweep_to_hodl only.
  std::uint32_t banks_swept = 0;
  std::uint64_t lamports_to_hodl = 0;
  std::uint32_t explorers_still_leased = 0;  // left alone: a Lander may be signing
  std::vector<std::string> signatures;      // of every transaction sent this cycle
  // Watch-only HODL: unsigned top-up transactions (base64 wire, zero
  // signatures) for an offline signer.
  std::vector<std::string> unsigned_requests;
  std::vector<std::string> warnings;        // caps hit, HODL empty, ...
  // Recovery that one bad Explorer cannot block (issue 12 §3): Explorers
  // found this cycle that cannot be drained (terminal state `stranded`,
  // reported once), and failed recovery transactions split and retried.
  std::uint32_t explorers_stranded = 0;
  std::vector<StrandedExplorer> stranded;
  std::uint32_t recovery_batches_split = 0;
  // Tokens (issue 13): base units moved to Banks (recovery) or to HODL
  // (sweep), by mint (base58); token accounts closed and the lamports
  // (rent, wrapped SOL) their closes returned; accounts left as they are
  // ("<account> (mint <mint>): <why>"), reported once with their Explorer.
  std::map<std::string, std::uint64_t> tokens_recovered;
  std::map<std::string, std::uint64_t> tokens_to_hodl;
  std::uint32_t token_accounts_closed = 0;
  std::uint64_t rent_recovered_lamports = 0;
  std::vector<std::string> unmovable_token_accounts;
  std::chrono::milliseconds duration{0};
};

class Balancer {
 public:
  // Not owned; all must outlive the balancer. `metrics` may be null.
  Balancer(store::KeyStore& store, rpc::RpcClient& rpc, KeySigner& signer, BalancerOptions options,
           metrics::WalletMetrics* metrics = nullptr);

  // One full cycle with the options' params.
  [[nodiscard]] Result<BalanceReport> run_cycle();
  // One full cycle with explicit params (the seed's balance() signature).
  [[nodiscard]] Result<BalanceReport> run_cycle(const BalanceParams& params);

  // Emergency / tear-down (qtw sweep --to-hodl): takes every available
  // Explorer out of service, drains every used Explorer into its Bank, then
  // every Bank into `hodl` (which must be a registered HODL key, I3). Leased
  // Explorers are left alone and counted. Creates and funds nothing.
  [[nodiscard]] Result<BalanceReport> sweep_to_hodl(const solana::Pubkey& hodl);
  [[nodiscard]] const BalancerOptions& options() const noexcept { return options_; }

 private:
  // A recovery transaction's plan, kept in memory so a failure can be split
  // and retried in the same cycle (absent for intents resumed after a restart).
  struct RecoveryFlight {
    solana::Pubkey bank;
    std::vector<ExplorerRecovery> inputs;     // the members, as planned
    std::vector<RecoveredShare> shares;       // parallel to inputs
    std::vector<std::string> strand_reasons;  // parallel: "" = retire when it lands
  };
  struct InFlight {
    std::int64_t intent_id = 0;
    store::IntentKind kind = store::IntentKind::kTransfer;
    rpc::PendingTransaction tx;
    std::vector<store::IntentTransfer> transfers;
    std::uint64_t fee_lamports = 0;
    std::optional<RecoveryFlight> recovery;
    std::string error;  // set on failed_recoveries_: why it failed
    // Token sweeps: base units moved, by mint; closes and their lamports.
    std::map<solana::Pubkey, std::uint64_t> tokens_moved;
    std::uint32_t token_closes = 0;
    std::uint64_t close_lamports = 0;
  };
  // Per used Explorer: what recovery can do, or why it cannot.
  struct RecoveryCandidate {
    const store::KeyRecord* key = nullptr;
    ExplorerRecovery recovery;
    std::vector<std::string> unmovable;  // token accounts left, with why
  };

  Result<BalanceReport> cycle_locked(const BalanceParams& params);
  Result<BalanceReport> sweep_locked(const solana::Pubkey& hodl);
  void record_metrics(const Result<BalanceReport>& report, double seconds);
  Status resolve_unresolved(BalanceReport& report);
  Result<std::uint64_t> quote_fee(const solana::Message& message);
  Status persist_and_queue(store::IntentKind kind, const solana::Transaction& tx,
                           std::uint64_t last_valid_block_height, std::uint64_t fee_lamports,
                           std::vector<store::IntentTransfer> transfers,
                           const std::function<Status()>& with_intent, BalanceReport& report);
  // Recovery (src/wallet/recovery.cpp): classifies every used Explorer
  // from its account (strands the ones that cannot be drained), reads the
  // token accounts of the rest, has each Bank create its missing associated
  // token accounts (sent and confirmed here), then plans and queues the
  // recovery transactions. `accounts`: the used Explorers' accounts (absent
  // = no account).
  Status recover(const std::vector<store::KeyRecord>& used,
                 const std::unordered_map<solana::Pubkey, rpc::AccountInfo>& accounts,
                 BalanceReport& report);
  Status strand(const store::KeyRecord& key, store::KeyState from, const std::string& reason,
                BalanceReport& report);
  Status read_tokens(std::vector<RecoveryCandidate>& candidates, BalanceReport& report);
  Status prepare_bank_atas(std::vector<RecoveryCandidate>& candidates, BalanceReport& report);
  Status queue_recovery(const store::KeyRecord& bank, std::vector<ExplorerRecovery> inputs,
                        std::vector<std::string> strand_reasons,
                        const rpc::LatestBlockhash& blockhash, BalanceReport& report);
  // After confirm(): splits every failed recovery transaction in two and
  // retries the halves now; a lone Explorer whose recovery fails on its own
  // is stranded. Loops until nothing failed (log2 of a batch rounds).
  Status retry_failed_recoveries(BalanceReport& report);
  // sweep_to_hodl: every Bank's token accounts -> HODL's associated token
  // accounts (created by the Bank), then closed into HODL.
  Status sweep_bank_tokens(const std::vector<store::KeyRecord>& banks, const solana::Pubkey& hodl,
                           BalanceReport& report);
  Status fund_banks(const BalanceParams& params, const std::vector<store::KeyRecord>& banks,
                    const std::vector<store::KeyRecord>& hodls,
                    std::unordered_map<solana::Pubkey, std::int64_t>& expected,
                    const rpc::LatestBlockhash& blockhash, BalanceReport& report);
  Status create_explorers(const BalanceParams& params, const std::vector<store::KeyRecord>& banks,
                          std::unordered_map<solana::Pubkey, std::int64_t>& expected,
                          const rpc::LatestBlockhash& blockhash, BalanceReport& report);
  Status confirm(BalanceReport& report);
  Status apply_outcome(const InFlight& flight, const rpc::TxOutcome& outcome, BalanceReport& report);
  Result<std::uint64_t> outflow_last_hour(const solana::Pubkey& from, store::IntentKind kind);
  std::int64_t now_ms() const;

  store::KeyStore& store_;
  rpc::RpcClient& rpc_;
  KeySigner& signer_;
  BalancerOptions options_;
  metrics::WalletMetrics* metrics_;
  std::mutex cycle_mu_;  // one cycle at a time
  std::vector<InFlight> in_flight_;  // guarded by cycle_mu_
  std::vector<InFlight> failed_recoveries_;  // guarded by cycle_mu_; for retry_failed_recoveries
  std::uint64_t rent_exempt_min_ = 0;  // guarded by cycle_mu_; fetched once
};

}  // namespace qtw::wallet
