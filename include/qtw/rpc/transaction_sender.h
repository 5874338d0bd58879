#pragma once
// Sends signed transactions and tracks them to an outcome (I4, docs/ARCHITECTURE.md).
//
// The sender only ever (re)broadcasts the exact wire bytes it was given: it
// never re-signs and never builds a new transaction. A transaction is
// reported:
//   kConfirmed / kFinalized  the node reports it at the requested commitment
//                            without error;
//   kFailed                  it landed with an error (fee charged, `err` set,
//                            landed = true), or the node rejected it outright
//                            (preflight failure or bad signature: landed =
//                            false, never forwarded);
//   kExpired                 getBlockHeight (at the sender's commitment) has
//                            passed last_valid_block_height AND a final
//                            status check still finds nothing: it can no
//                            longer land, so re-signing with a new blockhash
//                            is now safe (solana-facts §5);
//   kUnknown                 gave up (timeout_ms, or the node unreachable)
//                            before expiry could be established: NOT safe to
//                            re-sign; track it again later.
// Expiry is judged by block height, never by slot. A lost response to
// sendTransaction is not a failure: the sender keeps polling (the bytes may
// have been forwarded) and rebroadcasting.
//
// Thread safety: uses the RpcClient it is given, so the same rules apply:
// one sender per thread.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "qtw/result.h"
#include "qtw/rpc/clock.h"
#include "qtw/rpc/rpc_client.h"
#include "qtw/solana/types.h"

namespace qtw::rpc {

struct TxOutcome;

struct SenderOptions {
  // Outcome wanted: kConfirmed (default) or kFinalized. kProcessed is
  // accepted but a processed transaction can still be rolled back.
  Commitment commitment = Commitment::kConfirmed;
  // Delay between status polls. Default 400 ms (one slot).
  std::int64_t poll_interval_ms = 400;
  // Rebroadcast the same bytes this often while unconfirmed. Default 2,000 ms
  // (the validator's own rebroadcast period, solana-facts §5).
  std::int64_t rebroadcast_interval_ms = 2'000;
  // Skip preflight simulation on the FIRST send (rebroadcasts always skip
  // it: a rebroadcast of a landed transaction would fail preflight with
  // AlreadyProcessed). Default false.
  bool skip_preflight = false;
  // Give up with kUnknown after this long. 0 = wait for expiry however long
  // it takes. Default 120,000 ms (expiry normally comes in ~60-90 s).
  std::int64_t timeout_ms = 120'000;
  // Time source; not owned. Default system_clock().
  Clock* clock = nullptr;
  // Called on the sender's thread whenever some transactions settle while
  // being tracked (confirmed, finalized, failed or expired; not kUnknown),
  // with their indexes into the input and every outcome so far, before the
  // call that tracks them returns. Each index is reported once. Lets a
  // caller act on an early confirmation instead of waiting for the slowest
  // transaction of the batch (the balancer makes funded Explorers leasable
  // at once). Default: none.
  std::function<void(std::span<const std::size_t> settled, std::span<const TxOutcome> outcomes)>
      on_settled;
};

// A signed transaction to send or track. The sender copies nothing secret:
// wire bytes are public once sent.
struct PendingTransaction {
  std::vector<std::uint8_t> wire;             // signed wire bytes (Transaction::serialize)
  solana::Signature signature;                // its first signature (the tx id)
  std::uint64_t last_valid_block_height = 0;  // from getLatestBlockhash
};

enum class TxOutcomeKind : std::uint8_t { kConfirmed, kFinalized, kFailed, kExpired, kUnknown };
[[nodiscard]] std::string_view tx_outcome_name(TxOutcomeKind kind) noexcept;  // "confirmed"

struct TxOutcome {
  TxOutcomeKind kind = TxOutcomeKind::kUnknown;
  solana::Signature signature;
  std::uint64_t slot = 0;         // slot it landed in (kConfirmed/kFinalized/kFailed+landed)
  bool landed = false;            // true if it is on chain (a fee was charged)
  std::string err;                // kFailed: TransactionError JSON or the rejection message
  std::vector<std::string> logs;  // kFailed by preflight: simulation logs
  int broadcasts = 0;             // sendTransaction calls made for it
  // Last transport/RPC error seen while tracking it (informational).
  std::string last_error;
};

class TransactionSender {
 public:
  // `client` is not owned and must outlive the sender.
  explicit TransactionSender(RpcClient& client, SenderOptions options = {});

  // Sends and tracks one transaction to an outcome. Returns an error only for
  // caller mistakes (kInvalidArgument: empty wire bytes); network trouble
  // ends in kUnknown or kExpired, never in an error.
  [[nodiscard]] Result<TxOutcome> send_and_confirm(const PendingTransaction& tx);

  // Sends all in one sendTransaction batch, then tracks them together with
  // one request per poll (getSignatureStatuses chunks and getBlockHeight in
  // one JSON-RPC batch); rebroadcasts are batched the same way. Outcomes in
  // input order.
  [[nodiscard]] Result<std::vector<TxOutcome>> send_and_confirm_all(
      std::span<const PendingTransaction> txs);

  // Tracks transactions already sent (e.g. from the intent log after a
  // restart). With `rebroadcast` (and their wire bytes present) it sends the
  // same bytes once at once, as a rebroadcast (no preflight; an error does
  // not settle anything), then every rebroadcast_interval_ms; without it,
  // it only polls.
  [[nodiscard]] Result<std::vector<TxOutcome>> confirm_all(std::span<const PendingTransaction> txs,
                                                           bool rebroadcast = true);

  // The highest block height (at the sender's commitment) seen while
  // polling; 0 before the first poll. Lets a caller judge how long a
  // blockhash stays usable without another request.
  [[nodiscard]] std::uint64_t last_block_height() const noexcept { return last_block_height_; }

 private:
  Result<std::vector<TxOutcome>> run(std::span<const PendingTransaction> txs, bool initial_send,
                                     bool rebroadcast);
  RpcClient& client_;
  SenderOptions options_;
  std::uint64_t last_block_height_ = 0;
};

}  // namespace qtw::rpc
