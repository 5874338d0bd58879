#pragma once
// The one configuration file (TOML, default `qtw.toml`). Every field has a
// documented default; a missing file means all defaults. Unknown keys are
// errors (a typo must not silently fall back to a default with real money).
// Command-line flags override what the file says (apps/qtw does that).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "qtw/result.h"

namespace qtw::wallet {

struct RpcConfig {
  std::string url = "http://127.0.0.1:8899";  // [rpc] url
  std::uint32_t timeout_ms = 10'000;          // [rpc] timeout_ms: per HTTP request
  bool batch_requests = true;                 // [rpc] batch_requests: JSON-RPC batches
};

struct StoreConfig {
  // [store] path: a SQLite file path or a postgresql:// URI.
  std::string path = "qtw.db";
  // [store] postgres_pool_size: PostgreSQL sessions per process, so one slow
  // query does not hold up every lease of the daemon. Default 4; >= 1.
  std::uint32_t postgres_pool_size = 4;
};

struct BalancerConfig {
  std::uint32_t min_explorer_keys = 5;                // [balancer] min_explorer_keys
  std::uint32_t explorer_keys_to_create = 3;          // [balancer] explorer_keys_to_create
  std::uint64_t lamports_per_explorer = 10'000'000;   // [balancer] 0.01 SOL
  std::uint64_t lamports_per_bank = 100'000'000;      // [balancer] 0.1 SOL
  // A Bank is topped up from HODL when it holds less than this percentage of
  // lamports_per_bank. Default 50.
  std::uint32_t bank_refill_percent = 50;
  // [balancer] fill_funding_transactions: a creation fills its last funding
  // transaction up to 21 Explorers (one fee for up to 21) when the Bank can
  // spare them above its refill threshold and under its hourly cap;
  // explorer_keys_to_create is then a minimum. false = exact counts.
  // Default true (docs/ARCHITECTURE.md, "Creating Explorers").
  bool fill_funding_transactions = true;
  std::uint32_t interval_ms = 2'000;                  // [balancer] interval_ms between cycles
  // [balancer] leader_ttl_ms: how long the balancer-leader slot outlives its
  // holder's last renewal; a crashed balancer blocks others this long.
  std::uint32_t leader_ttl_ms = 15'000;
  std::uint64_t cu_price_micro_lamports = 0;          // [balancer] priority fee; 0 = none
  std::uint32_t cu_limit = 0;                         // [balancer] 0 = tight automatic limit
  // [balancer] classify_before_recovery: strand Explorers whose account the
  // chain shows cannot be drained (owner changed, data, a stranger's nonce)
  // before batching, so they never share a transaction with others. Default
  // true; false leaves only the split-and-retry of failed batches (tests).
  bool classify_before_recovery = true;
  // [balancer] restore_explorer_gap: on a restored store, the chain scan
  // past each Bank's next Explorer index stops after this many unseen
  // indexes in a row. 0 (default) = max(100, 4 * max(explorer_keys_to_create,
  // min_explorer_keys)), that maximum rounded up to a multiple of 21 with
  // fill_funding_transactions (docs/DAEMON.md, "Backups and leases").
  std::uint32_t restore_explorer_gap = 0;
};

struct CapsConfig {
  // I7: refuse to fund an Explorer with more than this. Default 0.1 SOL.
  std::uint64_t max_lamports_per_explorer = 100'000'000;
  // I7: total Bank -> Explorer outflow allowed in any rolling hour.
  // Default 100 SOL.
  std::uint64_t max_bank_outflow_lamports_per_hour = 100'000'000'000;
  // I7: total HODL -> Bank top-ups allowed in any rolling hour. Default 10 SOL.
  std::uint64_t max_hodl_outflow_lamports_per_hour = 10'000'000'000;
};

struct PoolConfig {
  std::uint32_t claim_batch = 8;          // [pool] Explorers claimed per durable claim
  std::uint32_t lease_timeout_ms = 60'000;  // [pool] unreturned lease counts as used after this
};

struct ServiceConfig {
  std::string listen = "127.0.0.1:8686";  // [service] listen: host:port, "" = no TCP
  std::string unix_socket;                // [service] unix_socket: path, "" = none
  std::string token_file;                 // [service] token_file: bearer token, mode 0600
  // [service] instance: this daemon's lease-holder name in the store. Keep it
  // stable across restarts (leases survive them) and unique per daemon
  // sharing one store. Default "qtw-serve" (with the hostname).
  std::string instance = "qtw-serve";
  // [service] lease_timeout_ms: an API lease not returned by then counts as
  // used. Default 60 s.
  std::uint32_t lease_timeout_ms = 60'000;
};

// [policy]: what the daemon (and KeyManager::sign) signs with an Explorer
// (docs/DAEMON.md has the table of rules). Each deny_* switch is on by
// default; turning one off allows that role.
struct PolicyConfig {
  bool deny_malformed = true;               // [policy] known program, undecodable data
  bool deny_managed_signers = true;         // [policy] another wallet key among the signers
  bool deny_durable_nonce = true;           // [policy] first instruction AdvanceNonceAccount
  bool deny_assign = true;                  // [policy] Assign(WithSeed) of the Explorer
  bool deny_allocate = true;                // [policy] Allocate(WithSeed) of the Explorer
  bool deny_create_explorer = true;         // [policy] CreateAccount(WithSeed) of the Explorer
  bool deny_nonce = true;                   // [policy] Explorer as nonce account/authority
  bool deny_fund_nonce = true;              // [policy] InitializeNonceAccount / funding one
  bool deny_token_set_authority = true;     // [policy] SPL Token SetAuthority by the Explorer
  bool deny_token_approve = true;           // [policy] Approve(Checked) by the Explorer
  bool deny_token_close_to_other = true;    // [policy] CloseAccount to another destination
  bool deny_loader_authority = true;        // [policy] loader v3/v4 authority
  bool deny_lookup_table_authority = true;  // [policy] lookup table authority
  // [policy] max_outflow_lamports: lamports one message may move out of the
  // Explorer (transfers, new accounts, fees). Default (unset): [balancer]
  // lamports_per_explorer. 0 = no cap.
  std::optional<std::uint64_t> max_outflow_lamports;
  // [policy] max_priority_fee_lamports: ceil(cu_price * cu_limit / 1e6) cap.
  // Default 1,000,000 (0.001 SOL). 0 = no cap.
  std::uint64_t max_priority_fee_lamports = 1'000'000;
  std::vector<std::string> allowed_programs;  // [policy] base58 ids; empty = any
  std::vector<std::string> denied_programs;   // [policy] base58 ids
};

struct MetricsConfig {
  std::string otlp_endpoint;              // [metrics] otlp_endpoint, e.g. http://127.0.0.1:4318
  std::uint32_t otlp_interval_ms = 10'000;  // [metrics] push interval
};

struct LogConfig {
  std::string level = "info";   // [log] level: trace, debug, info, warn, error
  std::string format = "text";  // [log] format: text or json
};

struct WalletConfig {
  RpcConfig rpc;
  StoreConfig store;
  BalancerConfig balancer;
  CapsConfig caps;
  PoolConfig pool;
  ServiceConfig service;
  PolicyConfig policy;
  MetricsConfig metrics;
  LogConfig log;
};

// Parses TOML text. kParse with line/column on syntax errors, an unknown key,
// a value of the wrong type, or out of range (e.g. min_explorer_keys = -1).
[[nodiscard]] Result<WalletConfig> parse_config(std::string_view toml_text);

// Reads `path`. A missing file is an error only if `must_exist`.
[[nodiscard]] Result<WalletConfig> load_config(const std::filesystem::path& path,
                                               bool must_exist);

// Checks cross-field rules (caps vs amounts, non-zero intervals). kInvalidArgument.
[[nodiscard]] Status validate(const WalletConfig& config);

}  // namespace qtw::wallet
