#include "qtw/rpc/transaction_sender.h"

#include <algorithm>
#include <utility>

#include "qtw/phase_marker.h"

namespace qtw::rpc {
namespace {

// agave rpc-client-api/src/custom_error.rs
constexpr long kPreflightFailure = -32002;
constexpr long kSignatureVerificationFailure = -32003;
constexpr long kSignatureLenMismatch = -32013;
constexpr long kInvalidParams = -32602;

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

std::string_view tx_outcome_name(TxOutcomeKind kind) noexcept {
  switch (kind) {
    case TxOutcomeKind::kConfirmed:
      return "confirmed";
    case TxOutcomeKind::kFinalized:
      return "finalized";
    case TxOutcomeKind::kFailed:
      return "failed";
    case TxOutcomeKind::kExpired:
      return "expired";
    case TxOutcomeKind::kUnknown:
      return "unknown";
  }
  return "unknown";
}

TransactionSender::TransactionSender(RpcClient& client, SenderOptions options)
    : client_(client), options_(options) {}

Result<TxOutcome> TransactionSender::send_and_confirm(const PendingTransaction& tx) {
  QTW_ASSIGN_OR_RETURN(auto all, run(std::span<const PendingTransaction>(&tx, 1), true, true));
  return std::move(all.front());
}

Result<std::vector<TxOutcome>> TransactionSender::send_and_confirm_all(
    std::span<const PendingTransaction> txs) {
  return run(txs, true, true);
}

Result<std::vector<TxOutcome>> TransactionSender::confirm_all(
    std::span<const PendingTransaction> txs, bool rebroadcast) {
  return run(txs, false, rebroadcast);
}

Result<std::vector<TxOutcome>> TransactionSender::run(std::span<const PendingTransaction> txs,
                                                      bool initial_send, bool rebroadcast) {
  Clock& clk = options_.clock ? *options_.clock : system_clock();
  const std::size_t n = txs.size();
  std::vector<TxOutcome> out(n);
  std::vector<bool> done(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].signature = txs[i].signature;
    if (initial_send && txs[i].wire.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "transaction " + txs[i].signature.to_base58() +
                                                         " has no wire bytes to send");
    }
  }

  // Judges one answer to a broadcast of the exact bytes. `first` decides
  // whether an outright rejection is final.
  auto judge = [&](std::size_t i, bool first, const Result<solana::Signature>& r,
                   const RpcErrorDetail& d) {
    ++out[i].broadcasts;
    if (r) {
      if (*r != txs[i].signature) {
        out[i].last_error = "node returned signature " + r->to_base58() + ", expected " +
                            txs[i].signature.to_base58();
      }
      return;
    }
    const Error& e = r.error();
    out[i].last_error = to_string(e);
    if (!first || e.code != ErrorCode::kRpc) return;  // may have been forwarded: keep polling
    bool final_rejection = false;
    if (e.native_code == kPreflightFailure) {
      // AlreadyProcessed: it landed earlier. BlockhashNotFound: the preflight
      // bank may lag or the hash expired; expiry tracking settles it.
      final_rejection = !contains(d.transaction_error, "AlreadyProcessed") &&
                        !contains(d.transaction_error, "BlockhashNotFound") &&
                        !contains(d.rpc_message, "already been processed");
    } else if (e.native_code == kSignatureVerificationFailure ||
               e.native_code == kSignatureLenMismatch || e.native_code == kInvalidParams) {
      final_rejection = true;  // these bytes can never land anywhere
    }
    if (final_rejection) {
      out[i].kind = TxOutcomeKind::kFailed;
      out[i].landed = false;
      out[i].err = d.transaction_error.empty() ? d.rpc_message : d.transaction_error;
      out[i].logs = d.logs;
      done[i] = true;
    }
  };

  // Broadcasts the exact bytes of `which` in one batch (as few HTTP requests
  // as the client's batch limits allow).
  auto broadcast = [&](const std::vector<std::size_t>& which, bool first) {
    std::vector<std::vector<std::uint8_t>> wires;
    std::vector<std::size_t> sent;
    for (std::size_t i : which) {
      if (txs[i].wire.empty()) continue;
      wires.push_back(txs[i].wire);
      sent.push_back(i);
    }
    if (sent.empty()) return;
    SendOptions so;
    so.skip_preflight = first ? options_.skip_preflight : true;
    so.preflight_commitment = options_.commitment;
    so.max_retries = 0;  // we rebroadcast ourselves, at a known pace
    mark_phase("send");
    auto results = client_.send_transactions(wires, so);
    if (!results) {
      // The exchange failed as a whole: any of them may have been forwarded.
      for (std::size_t i : sent) {
        ++out[i].broadcasts;
        out[i].last_error = to_string(results.error());
      }
      return;
    }
    for (std::size_t k = 0; k < sent.size(); ++k) {
      judge(sent[k], first, (*results)[k].signature, (*results)[k].detail);
    }
  };

  // Tells options_.on_settled about what settled since the last call.
  std::vector<bool> reported(n, false);
  auto report_settled = [&] {
    if (!options_.on_settled) return;
    std::vector<std::size_t> settled;
    for (std::size_t i = 0; i < n; ++i) {
      if (done[i] && !reported[i] && out[i].kind != TxOutcomeKind::kUnknown) {
        reported[i] = true;
        settled.push_back(i);
      }
    }
    if (!settled.empty()) options_.on_settled(settled, out);
  };

  const std::int64_t start_ms = clk.now_ms();
  if (initial_send) {
    std::vector<std::size_t> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = i;
    broadcast(all, true);
  } else if (rebroadcast) {
    // Resumed after a restart: the last send may have been lost with the
    // crashed process, and every second of waiting eats into the
    // blockhash's life. The same bytes at once (I4), then on the schedule.
    std::vector<std::size_t> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = i;
    broadcast(all, false);
  }
  std::int64_t last_broadcast_ms = clk.now_ms();

  // Applies a status; returns true if it settles the transaction.
  auto apply = [&](std::size_t i, const SignatureStatus& s) {
    if (!s.err.empty()) {
      out[i].kind = TxOutcomeKind::kFailed;
      out[i].landed = true;
      out[i].err = s.err;
      out[i].slot = s.slot;
      return true;
    }
    if (s.confirmation_status >= options_.commitment) {
      out[i].kind = s.confirmation_status == Commitment::kFinalized ? TxOutcomeKind::kFinalized
                                                                    : TxOutcomeKind::kConfirmed;
      out[i].landed = true;
      out[i].slot = s.slot;
      return true;
    }
    return false;
  };

  auto pending_indices = [&] {
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < n; ++i) {
      if (!done[i]) idx.push_back(i);
    }
    return idx;
  };

  for (;;) {
    std::vector<std::size_t> pending = pending_indices();
    if (pending.empty()) break;
    clk.sleep_ms(options_.poll_interval_ms);

    std::vector<solana::Signature> sigs;
    sigs.reserve(pending.size());
    for (std::size_t i : pending) sigs.push_back(txs[i].signature);
    std::vector<bool> seen(n, false);
    // Statuses and the block height in one request: expiry needs both.
    auto poll = client_.poll_signature_statuses(sigs, options_.commitment);
    if (poll) {
      if (poll->block_height > last_block_height_) last_block_height_ = poll->block_height;
      for (std::size_t k = 0; k < pending.size(); ++k) {
        const auto& s = poll->statuses[k];
        if (!s) continue;
        seen[pending[k]] = true;
        if (apply(pending[k], *s)) done[pending[k]] = true;
      }
    } else {
      for (std::size_t i : pending) out[i].last_error = to_string(poll.error());
    }

    report_settled();
    pending = pending_indices();
    if (pending.empty()) break;

    // Expiry: by block height at our commitment, never by slot. Only a
    // transaction the node knows nothing about can expire; one seen at a
    // lower commitment is waited for. The height was read in the same batch
    // as the statuses, so a transaction landing after it shows in the
    // final check below.
    if (poll) {
      std::vector<std::size_t> candidates;
      for (std::size_t i : pending) {
        if (!seen[i] && poll->block_height > txs[i].last_valid_block_height) {
          candidates.push_back(i);
        }
      }
      if (!candidates.empty()) {
        // Final check after the height was read: a landing between the two
        // reads shows up here.
        std::vector<solana::Signature> csigs;
        csigs.reserve(candidates.size());
        for (std::size_t i : candidates) csigs.push_back(txs[i].signature);
        auto final_check =
            client_.get_signature_statuses(csigs, /*search_transaction_history=*/true);
        if (final_check) {
          for (std::size_t k = 0; k < candidates.size(); ++k) {
            const std::size_t i = candidates[k];
            const auto& s = (*final_check)[k];
            if (!s) {
              out[i].kind = TxOutcomeKind::kExpired;
              out[i].landed = false;
              done[i] = true;
            } else if (apply(i, *s)) {
              done[i] = true;
            }
          }
        }
      }
    }

    report_settled();
    pending = pending_indices();
    if (pending.empty()) break;
    const std::int64_t now = clk.now_ms();
    if (options_.timeout_ms > 0 && now - start_ms >= options_.timeout_ms) {
      for (std::size_t i : pending) {
        out[i].kind = TxOutcomeKind::kUnknown;
        done[i] = true;
      }
      break;
    }
    if (rebroadcast && now - last_broadcast_ms >= options_.rebroadcast_interval_ms) {
      broadcast(pending, false);
      last_broadcast_ms = clk.now_ms();
    }
  }
  report_settled();
  return out;
}

}  // namespace qtw::rpc
