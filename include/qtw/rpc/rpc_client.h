#pragma once
// Solana JSON-RPC client (JSON-RPC 2.0 over HTTP POST; solana-com
// docs/rpc/http). Typed results, chunking at the validator's limits, JSON-RPC
// batch requests with a remembered fallback to single requests, retries with
// jittered backoff for reads only, and a documented error taxonomy.
//
// Error taxonomy (qtw::Error.code, native_code):
//   kTransport         no HTTP status: connect/reset/timeout (native = curl code)
//   kHttp              HTTP status != 200 (native = status). 429 carries
//                      RpcErrorDetail::retry_after_ms when the server sent it.
//   kRpc               a JSON-RPC error object (native = JSON-RPC code, e.g.
//                      -32602 bad params, -32002 preflight failure: then
//                      RpcErrorDetail::logs and ::transaction_error are set)
//   kMalformedResponse the body is not the JSON-RPC shape we expect
// Richer detail of the most recent failed call: last_error_detail().
//
// Retries: read methods (everything except send_transaction and
// request_airdrop) retry on kTransport, kMalformedResponse, HTTP 429/5xx and
// JSON-RPC -32005 (node unhealthy), with jittered exponential backoff,
// honouring Retry-After, bounded by attempts and total time. send_transaction
// NEVER retries: a lost response may mean the transaction was forwarded;
// rebroadcasting is the TransactionSender's decision (I4, docs/ARCHITECTURE.md).
//
// Thread safety: not thread-safe (it owns one transport with one connection,
// and last_error_detail() is per client). Use one client per thread.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qtw/result.h"
#include "qtw/rpc/clock.h"
#include "qtw/rpc/http_transport.h"
#include "qtw/rpc/types.h"
#include "qtw/solana/types.h"

namespace qtw::rpc {

// Limits of a stock validator (agave rpc-client-types/src/request.rs).
inline constexpr std::size_t kMaxMultipleAccounts = 100;
inline constexpr std::size_t kMaxSignatureStatuses = 256;
// Default request body cap of a validator: MAX_REQUEST_BODY_SIZE (agave rpc.rs).
inline constexpr std::size_t kDefaultMaxRequestBodyBytes = std::size_t{50} * 1024;

// Metrics hook: counts requests and errors by method without rpc depending on
// the metrics module. Called synchronously on the calling thread; must not
// call back into the client. Ownership stays with the caller.
class RpcObserver {
 public:
  virtual ~RpcObserver() = default;
  // Once per JSON-RPC request put on the wire (each element of a batch, each
  // retry attempt).
  virtual void on_request(std::string_view method) = 0;
  // Once per failed attempt of a method, with the error class.
  virtual void on_error(std::string_view method, ErrorCode code) = 0;
  // Once per HTTP request put on the wire: a single call (calls = 1) or a
  // JSON-RPC batch of `calls` requests whose first is `first_method`.
  virtual void on_http_request(std::string_view first_method, std::size_t calls) {
    (void)first_method;
    (void)calls;
  }
};

struct RetryOptions {
  // Attempts in total for a read (1 = no retry). Default 4.
  int max_attempts = 4;
  // First backoff; doubled each retry, then full jitter in [b/2, b]. Default 100 ms.
  std::int64_t initial_backoff_ms = 100;
  // Cap of one computed backoff. A 429 Retry-After is honoured as sent if
  // it fits in max_total_ms, otherwise the 429 is returned. Default 2,000 ms.
  std::int64_t max_backoff_ms = 2'000;
  // No new attempt starts after this much time since the first. Default 10,000 ms.
  std::int64_t max_total_ms = 10'000;
};

struct RpcClientOptions {
  // Commitment used when a call does not say. Default confirmed.
  Commitment commitment = Commitment::kConfirmed;
  // Chunk sizes for the two list methods. Defaults: the validator limits
  // (100, 256); lower them for providers with smaller caps.
  std::size_t max_accounts_per_request = kMaxMultipleAccounts;
  std::size_t max_signatures_per_request = kMaxSignatureStatuses;
  // Send chunked reads as one JSON-RPC batch when the node accepts batches.
  // Default true; false always sends single requests.
  bool use_batch = true;
  // Most requests in one batch. Default 16.
  std::size_t max_batch_requests = 16;
  // A batch is split so its body stays under this size. Default 50 KiB
  // (the validator's default request body limit).
  std::size_t max_batch_body_bytes = kDefaultMaxRequestBodyBytes;
  RetryOptions retry;
  // Optional metrics hook; not owned; must outlive the client. Default none.
  RpcObserver* observer = nullptr;
  // Time source for backoff; not owned. Default system_clock().
  Clock* clock = nullptr;
};

// Everything known about the most recent failure. Reset at the start of each
// public call; meaningful only after a call returned an error.
struct RpcErrorDetail {
  std::string method;                          // the method that failed
  std::optional<long> http_status;             // set for kHttp
  std::optional<std::int64_t> retry_after_ms;  // 429 Retry-After, if sent
  std::optional<long> rpc_code;                // set for kRpc
  std::string rpc_message;                     // JSON-RPC error message
  std::string rpc_data;                        // JSON-RPC error data as JSON text ("" if none)
  std::vector<std::string> logs;               // -32002: simulation logs
  std::string transaction_error;               // -32002: data.err as JSON text
  int attempts = 0;                            // attempts made (retries + 1)
};

struct SendOptions {
  bool skip_preflight = false;  // default false: the node simulates first
  // Commitment of the preflight bank. Default: unset -> the client default
  // (the node's own default would be finalized).
  std::optional<Commitment> preflight_commitment;
  // The node's own rebroadcast attempts; unset = node default. The
  // TransactionSender sets 0 because it rebroadcasts itself.
  std::optional<std::uint32_t> max_retries;
};

struct SimulateOptions {
  bool sig_verify = false;
  bool replace_recent_blockhash = false;
  std::optional<Commitment> commitment;  // unset -> client default
};

struct SignaturesForAddressOptions {
  std::uint32_t limit = 1000;  // 1..1000
  std::optional<solana::Signature> before;
  std::optional<solana::Signature> until;
  std::optional<Commitment> commitment;
};

// One round trip for a balancer cycle's read: account balances, the current
// block height and, when asked, a fresh blockhash (RpcClient::get_snapshot).
struct ChainSnapshot {
  std::vector<std::optional<AccountInfo>> accounts;  // in key order; nullopt = no account
  std::uint64_t block_height = 0;                     // getBlockHeight at the commitment
  std::optional<LatestBlockhash> blockhash;           // set when asked for
};

// One confirmation poll: statuses and the block height expiry is judged by.
struct StatusPoll {
  std::vector<std::optional<SignatureStatus>> statuses;  // in request order
  std::uint64_t block_height = 0;
};

// The outcome of one sendTransaction of a batch, with that call's own error
// detail (preflight logs, transaction error) when it failed.
struct SendResult {
  Result<solana::Signature> signature = solana::Signature{};
  RpcErrorDetail detail;
};

class RpcClient {
 public:
  // Takes ownership of the transport.
  RpcClient(std::unique_ptr<HttpTransport> transport, RpcClientOptions options = {});
  // Convenience: a curl transport to `url`. Errors as make_curl_transport.
  [[nodiscard]] static Result<std::unique_ptr<RpcClient>> connect(std::string url,
                                                                  RpcClientOptions options = {},
                                                                  CurlTransportOptions http = {});
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // "ok" -> success; an unhealthy node -> kRpc -32005.
  [[nodiscard]] Status get_health();
  [[nodiscard]] Result<VersionInfo> get_version();
  [[nodiscard]] Result<std::uint64_t> get_slot(std::optional<Commitment> c = {});
  [[nodiscard]] Result<std::uint64_t> get_block_height(std::optional<Commitment> c = {});
  [[nodiscard]] Result<LatestBlockhash> get_latest_blockhash(std::optional<Commitment> c = {});
  [[nodiscard]] Result<bool> is_blockhash_valid(const solana::Hash& blockhash,
                                                std::optional<Commitment> c = {});
  [[nodiscard]] Result<std::uint64_t> get_balance(const solana::Pubkey& key,
                                                  std::optional<Commitment> c = {});
  // nullopt = the account does not exist (0 lamports).
  [[nodiscard]] Result<std::optional<AccountInfo>> get_account_info(
      const solana::Pubkey& key, std::optional<Commitment> c = {});
  // Any number of keys: chunked at max_accounts_per_request, chunks sent as
  // batches where possible. Results in request order; one failing chunk fails
  // the call.
  [[nodiscard]] Result<std::vector<std::optional<AccountInfo>>> get_multiple_accounts(
      std::span<const solana::Pubkey> keys, std::optional<Commitment> c = {});
  // getTokenAccountsByOwner {"programId": token_program}, base64: the token
  // accounts of each owner (one request per owner, sent as batches where
  // possible). Results in request order. A node that cannot answer (e.g.
  // an unknown program) fails the call.
  [[nodiscard]] Result<std::vector<std::vector<KeyedAccount>>> get_token_accounts_by_owners(
      std::span<const solana::Pubkey> owners, const solana::Pubkey& token_program,
      std::optional<Commitment> c = {});
  [[nodiscard]] Result<std::uint64_t> get_minimum_balance_for_rent_exemption(
      std::uint64_t data_len, std::optional<Commitment> c = {});
  // `message` = serialized message (not the transaction). nullopt when the
  // node no longer knows its blockhash.
  [[nodiscard]] Result<std::optional<std::uint64_t>> get_fee_for_message(
      std::span<const std::uint8_t> message, std::optional<Commitment> c = {});
  // Sends wire bytes (base64). Never retried. A preflight failure is kRpc
  // -32002 with logs/transaction_error in last_error_detail().
  [[nodiscard]] Result<solana::Signature> send_transaction(std::span<const std::uint8_t> wire,
                                                           const SendOptions& options = {});
  [[nodiscard]] Result<SimulationResult> simulate_transaction(std::span<const std::uint8_t> wire,
                                                              const SimulateOptions& options = {});
  // Any number of signatures: chunked at max_signatures_per_request, batched
  // where possible. Results in request order; nullopt = unknown to the node.
  [[nodiscard]] Result<std::vector<std::optional<SignatureStatus>>> get_signature_statuses(
      std::span<const solana::Signature> signatures, bool search_transaction_history = false);
  // Accounts (chunked as get_multiple_accounts), getBlockHeight and, with
  // `with_blockhash`, getLatestBlockhash: one JSON-RPC batch (one HTTP
  // request while it fits the batch limits), single requests where the node
  // refuses batches. All or nothing.
  [[nodiscard]] Result<ChainSnapshot> get_snapshot(std::span<const solana::Pubkey> keys,
                                                   bool with_blockhash,
                                                   std::optional<Commitment> c = {});
  // getSignatureStatuses (chunked) and getBlockHeight at `height_commitment`
  // in one batch. All or nothing.
  [[nodiscard]] Result<StatusPoll> poll_signature_statuses(
      std::span<const solana::Signature> signatures, Commitment height_commitment,
      bool search_transaction_history = false);
  // sendTransaction for every wire in as few batches as the limits allow;
  // never retried, never re-posted by the transport (as send_transaction).
  // Each element has its own outcome. Errors: only a failure of the whole
  // exchange (transport, HTTP status) before any answer, in which case every
  // transaction of the failed request may or may not have been forwarded.
  [[nodiscard]] Result<std::vector<SendResult>> send_transactions(
      std::span<const std::vector<std::uint8_t>> wires, const SendOptions& options = {});
  [[nodiscard]] Result<std::vector<SignatureInfo>> get_signatures_for_address(
      const solana::Pubkey& address, const SignaturesForAddressOptions& options = {});
  // getSignaturesForAddress for each address with the same options, as
  // JSON-RPC batches where the node accepts them (single requests
  // otherwise). Results in address order. All or nothing.
  [[nodiscard]] Result<std::vector<std::vector<SignatureInfo>>> get_signatures_for_addresses(
      std::span<const solana::Pubkey> addresses, const SignaturesForAddressOptions& options = {});
  // Test clusters only. Not retried (a retry could airdrop twice).
  [[nodiscard]] Result<solana::Signature> request_airdrop(const solana::Pubkey& to,
                                                          std::uint64_t lamports);
  [[nodiscard]] Result<std::vector<PrioritizationFee>> get_recent_prioritization_fees(
      std::span<const solana::Pubkey> writable_accounts = {});
  // nullopt when the node does not have it (not landed or purged).
  [[nodiscard]] Result<std::optional<TransactionInfo>> get_transaction(
      const solana::Signature& signature, std::optional<Commitment> c = {});

  // Generic call: `params_json` is a JSON array text ("" or "[]" for none).
  // Returns the "result" member as compact JSON text. Retried like a read
  // unless `retry` is false.
  [[nodiscard]] Result<std::string> call(std::string_view method, std::string_view params_json,
                                         bool retry = true);

  [[nodiscard]] const RpcErrorDetail& last_error_detail() const noexcept { return detail_; }
  // False once the node refused a batch; stays false for this client.
  [[nodiscard]] bool batch_enabled() const noexcept { return batch_enabled_; }
  [[nodiscard]] const RpcClientOptions& options() const noexcept { return options_; }
  [[nodiscard]] const std::string& url() const noexcept;

  // Internal machinery, public only for src/rpc (opaque to callers).
  struct Impl;

 private:
  std::unique_ptr<HttpTransport> transport_;
  RpcClientOptions options_;
  RpcErrorDetail detail_;
  bool batch_enabled_ = true;
  std::uint64_t next_id_ = 1;
  std::uint64_t jitter_state_;
};

}  // namespace qtw::rpc
