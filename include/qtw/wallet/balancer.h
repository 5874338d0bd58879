#pragma once
// Balancer: one cycle = resolve in-flight, read, recover, fund Banks, create
// Explorers, confirm (docs/ARCHITECTURE.md, The balancer cycle). Every transaction is persisted to the
// intent log with its signed bytes and lastValidBlockHeight BEFORE it is
// sent, so a restarted balancer finishes or safely abandons what it started
// (I1, I4): it rebroadcasts the same bytes while the blockhash is valid and
// treats the transaction as failed only once the node reports an error or the
// block height has passed lastValidBlockHeight without it landing.
//
// Funds move only along the tier graph (I3): HODL -> Bank, Bank -> Explorer,
// Explorer -> its funding Bank. Fees are computed locally by the protocol
// rule (solana/fees.h) and checked once against the node's getFeeForMessage
// (every fee comes from the node from then on if they ever disagree).
//
// Round trips: one JSON-RPC batch per step of a cycle (read: balances,
// block height, blockhash when needed; send: every transaction of the
// cycle; confirm: one request per poll). The blockhash is reused across
// steps and cycles while it has blockhash_min_remaining_blocks of validity
// left; Bank and HODL balances are derived from the wallet's own confirmed
// transactions and re-read every balance_refresh_ms, or whenever one of them
// is about to be acted upon (a Bank below its refill threshold).
//
// Thread safety: one cycle at a time per Balancer (run_cycle is serialised
// by an internal mutex). Uses its own RpcClient, which must not be shared.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <string>
#include <string_view>
#include <vector>

#include "qtw/result.h"
#include "qtw/rpc/rpc_client.h"
#include "qtw/rpc/transaction_sender.h"
#include "qtw/solana/types.h"
#include "qtw/solana/transaction.h"
#include "qtw/store/key_store.h"
#include "qtw/wallet/chain_scan.h"
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
  // The pubkey of Explorer `explorer_index` of Bank `bank_index`, for
  // reserving it before funding (I1). Default: explorer_keypair(...).pubkey();
  // an implementation may avoid materialising the secret.
  [[nodiscard]] virtual Result<solana::Pubkey> explorer_pubkey(std::uint32_t bank_index,
                                                               std::uint32_t explorer_index) {
    QTW_ASSIGN_OR_RETURN(auto kp, explorer_keypair(bank_index, explorer_index));
    return kp.pubkey();
  }
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
  // The count a creation asks for (max(explorer_keys_to_create,
  // min_explorer_keys - ready)) is a minimum: the last funding transaction
  // of the creation is filled up to the most transfers a transaction holds
  // (21 without a priority fee), since its fee (5,000 lamports per
  // transaction) is paid whether it funds 1 Explorer or 21. The extra
  // Explorers are funded only from what the Bank can spare above its refill
  // threshold (the fill never causes a top-up) and within its hourly outflow
  // cap (it never hits the cap); no extra transaction is ever started for
  // them. false = exactly the count asked for. Default true.
  bool fill_funding_transactions = true;
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
  // Send a step whose transactions all fund Explorers without preflight
  // simulation when the Banks' balances are known (read from the node or
  // derived from the wallet's own confirmed transactions): the plan already
  // keeps each Bank's rent-exempt minimum and fee, so preflight could only
  // repeat that check, and it doubles the node's work per transaction.
  // A funding transaction that fails anyway lands as failed (its fee paid,
  // its Explorers dropped, as without this). Steps with any other kind of
  // transaction keep sender.skip_preflight. Default true.
  bool skip_funding_preflight = true;
  // A cached blockhash is used for new transactions only while at least
  // this many blocks of its validity remain (of 150). Default 100: reused
  // for about 50 blocks (~20 s), leaving ~40 s to land.
  std::uint64_t blockhash_min_remaining_blocks = 100;
  // Bank/HODL balances tracked from confirmed transactions are re-read from
  // the node at least this often. Default 30,000 ms.
  std::int64_t balance_refresh_ms = 30'000;
  // Compare the first locally computed fee with the node's getFeeForMessage
  // (one request per Balancer). Default true.
  bool verify_fee_rule_with_node = true;
  // A restored store (qtw/wallet/chain_scan.h) is scanned this many unseen
  // Explorer indexes in a row past each Bank's next index before its first
  // Explorer is created. 0 = default_restore_explorer_gap(params) (why:
  // docs/DAEMON.md, "Backups and leases"). Default 0.
  std::uint32_t restore_explorer_gap = 0;
  // Wall clock in Unix ms (lease expiry, caps window). Default system time.
  std::function<std::int64_t()> now_ms;
  // When set (e.g. by Ctrl-C in `qtw balance`), a cycle stops after the
  // step it is in: nothing new is sent, nothing more is awaited. Not owned.
  const std::atomic<bool>* interrupt = nullptr;
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
  std::vector<std::string> bank_sweep_signatures;  // the Bank -> HODL transactions
  std::vector<std::string> signatures;      // of every transaction sent this cycle
  // Watch-only HODL: unsigned top-up transactions (base64 wire, zero
  // signatures) for an offline signer. With a nonce account (qtw hodl nonce
  // create) each is also a stored request (`qtw hodl requests`) built on the
  // durable nonce; without one, it is built on a recent blockhash and
  // expires in about a minute.
  std::vector<std::string> unsigned_requests;
  std::uint32_t bank_outflow_caps_hit = 0;  // Banks held back by their hourly cap (I7)
  std::uint32_t hodl_outflow_caps_hit = 0;  // Bank top-ups held back by a HODL's hourly cap
  // Ids of the stored top-up requests this cycle wrote.
  std::vector<std::int64_t> topup_requests;
  std::vector<std::string> warnings;        // caps hit, HODL empty, ...
  // Funding paused (after a sweep, until `qtw resume`): no Bank top-up from
  // HODL and no Explorer creation this cycle; recovery still ran.
  bool funding_paused = false;
  // A restored store (marked by qtw backup / qtw end-leases): set by the
  // cycle that scanned the chain past every Bank's next Explorer index and
  // cleared the mark. `restore_scan_failed` says why the scan could not run
  // (the mark stays; this cycle created no Explorer; the next one retries).
  std::optional<RestoreScanReport> restore_scan;
  std::string restore_scan_failed;
  // Stopped after a step because BalancerOptions::interrupt was set; what
  // it sent and did not confirm is resumed by the next cycle.
  bool interrupted = false;
  // Signatures on the transactions that landed (the fee is per signature:
  // a recovery of n Explorers into one Bank carries n + 1).
  std::uint32_t signatures_landed = 0;
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
  // Where the cycle's time went (microseconds): the read step, building
  // (derive, sign, persist the intents) and sending + confirming (with the
  // outcomes' store writes).
  std::int64_t read_us = 0;
  std::int64_t build_us = 0;
  std::int64_t send_confirm_us = 0;
  // A step of funding transactions only was sent without preflight
  // (BalancerOptions::skip_funding_preflight).
  bool preflight_skipped = false;
};

// The wallet's funding pause, stored in the store setting
// kFundingPausedSetting (Unix ms it began, 0 = not paused). sweep_to_hodl
// sets it; `qtw resume` clears it. While paused, cycles recover Explorers
// but fund no Bank from HODL and create no Explorer. Both changes are
// audit-logged (wallet.pause, wallet.resume).
inline constexpr std::string_view kFundingPausedSetting = "funding_paused_at_ms";
// The Unix ms the pause began; nullopt when not paused.
[[nodiscard]] Result<std::optional<std::int64_t>> funding_paused_since(store::KeyStore& store);
[[nodiscard]] Status pause_funding(store::KeyStore& store, std::string_view actor,
                                   std::string_view reason, std::int64_t now_ms);
// Returns whether the wallet was paused.
[[nodiscard]] Result<bool> resume_funding(store::KeyStore& store, std::string_view actor);

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
  // Explorers are left alone and counted. Creates and funds nothing. In a
  // restored store it first scans for the Explorers created after the copy
  // (as a cycle does), so they are drained too.
  [[nodiscard]] Result<BalanceReport> sweep_to_hodl(const solana::Pubkey& hodl);
  [[nodiscard]] const BalancerOptions& options() const noexcept { return options_; }
  // The signer saw this Explorer sign its one message, and that message
  // holds only System Transfers and Compute Budget instructions (neither
  // program calls another, and no account is created), so the Explorer's
  // own signature made no token account: recovery skips its
  // getTokenAccountsByOwner reads. In memory
  // only; an Explorer not noted (a restart, another host, an exported key)
  // is read as before. Thread-safe (called from signing threads).
  void note_signed_without_token_programs(const solana::Pubkey& explorer);

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
    solana::Pubkey fee_payer;
    std::optional<RecoveryFlight> recovery;
    std::string error;  // set on failed_recoveries_: why it failed
    // Token sweeps: base units moved, by mint; closes and their lamports.
    std::map<solana::Pubkey, std::uint64_t> tokens_moved;
    std::uint32_t token_closes = 0;
    std::uint64_t close_lamports = 0;
  };
  // A blockhash and what is known of the chain's block height.
  struct BlockhashCache {
    std::optional<rpc::LatestBlockhash> latest;
    std::int64_t fetched_at_ms = 0;           // steady clock
    std::uint64_t known_height = 0;           // highest block height seen
    std::int64_t known_height_at_ms = 0;      // steady clock
    // Messages signed with `latest`: a new one with the same signature would
    // be the same transaction (deterministic Ed25519) and could not land twice.
    std::unordered_set<solana::Signature> used;
  };
  // Per used Explorer: what recovery can do, or why it cannot.
  struct RecoveryCandidate {
    const store::KeyRecord* key = nullptr;
    ExplorerRecovery recovery;
    std::vector<std::string> unmovable;  // token accounts left, with why
  };

  Result<BalanceReport> cycle_locked(const BalanceParams& params);
  // A restored store (restored_store_): reconcile_restored_store with the
  // configured or default gap; the result or the failure goes into
  // `report`. False when the store is still marked (the scan failed).
  bool scan_if_restored(const BalanceParams& params, BalanceReport& report);
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
                 const rpc::LatestBlockhash& blockhash, BalanceReport& report);
  Status strand(const store::KeyRecord& key, store::KeyState from, const std::string& reason,
                BalanceReport& report);
  Status read_tokens(std::vector<RecoveryCandidate>& candidates, BalanceReport& report);
  Status prepare_bank_atas(std::vector<RecoveryCandidate>& candidates,
                           const rpc::LatestBlockhash& blockhash, BalanceReport& report);
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
  // Watch-only HODL: refreshes live top-up requests against their nonce
  // accounts (stale / landed), then writes one durable-nonce request per
  // HODL key for the low Banks no live request covers (I4).
  struct ColdNeed {
    const store::KeyRecord* bank = nullptr;
    const store::KeyRecord* hodl = nullptr;
    std::uint64_t lamports = 0;
  };
  Status request_cold_topups(const std::vector<ColdNeed>& needs,
                             std::unordered_map<solana::Pubkey, std::int64_t>& expected,
                             const rpc::LatestBlockhash& blockhash, BalanceReport& report);
  Status create_explorers(const BalanceParams& params, const std::vector<store::KeyRecord>& banks,
                          std::unordered_map<solana::Pubkey, std::int64_t>& expected,
                          const rpc::LatestBlockhash& blockhash, BalanceReport& report);
  Status confirm(BalanceReport& report);
  Status apply_outcome(const InFlight& flight, const rpc::TxOutcome& outcome, BalanceReport& report);
  // A sender that records Explorer fundings as they settle (one store
  // transaction per poll), setting applied[i]; the rest is left to the caller.
  rpc::SenderOptions early_funding_sender(const std::vector<InFlight>& flights,
                                          std::vector<bool>& applied, BalanceReport& report);
  Result<std::uint64_t> outflow_last_hour(const solana::Pubkey& from, store::IntentKind kind);
  // Reads the cycle's balances: `must_read` always, Banks/HODLs when their
  // tracked balances are stale or about to be acted upon; refreshes the
  // blockhash when needed. One HTTP request in the usual case.
  // `must_read_accounts`, when given, receives the accounts of `must_read`
  // that exist (owner and data too: recovery classifies them).
  Result<rpc::LatestBlockhash> read_step(const BalanceParams& params,
                                         const std::vector<store::KeyRecord>& tracked_keys,
                                         const std::vector<solana::Pubkey>& must_read,
                                         std::unordered_map<solana::Pubkey, std::uint64_t>& balances,
                                         std::unordered_map<solana::Pubkey, rpc::AccountInfo>*
                                             must_read_accounts = nullptr);
  bool blockhash_usable(std::uint64_t height) const;
  Result<rpc::LatestBlockhash> fresh_blockhash();
  void observe_height(std::uint64_t height);
  std::int64_t steady_ms() const;
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
  std::mutex hint_mu_;
  // See note_signed_without_token_programs; an entry leaves when recovery
  // takes its Explorer.
  std::unordered_set<solana::Pubkey> no_token_programs_;  // guarded by hint_mu_
  // Guarded by cycle_mu_: fee-rule check state, blockhash cache, balances of
  // Banks and HODLs derived from confirmed transactions since the last read.
  bool fee_rule_checked_ = false;
  bool fees_from_node_ = false;
  std::string fee_rule_warning_;  // reported once by the cycle that found it
  BlockhashCache blockhash_;
  std::unordered_map<solana::Pubkey, std::int64_t> tracked_;
  // Guarded by cycle_mu_: the store is marked restored (read at the start of
  // each cycle): a funding that confirms makes its Explorers used, not
  // available (the original may have handed them out after the copy).
  bool restored_store_ = false;
  std::string restore_scan_failed_;  // guarded by cycle_mu_: this cycle's scan error
  bool tracked_valid_ = false;
  std::int64_t tracked_read_at_ms_ = 0;
};

}  // namespace qtw::wallet
