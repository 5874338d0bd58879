#pragma once
// ExplorerPool: hands out single-use Explorer keys from memory (docs/ARCHITECTURE.md, Explorer state machine).
//
// Explorers are claimed from durable storage in small batches (the store
// records them `leased` to this process before any is handed out), derived
// once, and then acquire()/release()/begin_sign() are in-memory operations:
// a mutex, a free-list pop and a slot update; no I/O.
//
// The durable claim is the single-use commitment (I2): a key the store shows
// leased to this owner is never handed to anyone else, except through an
// explicit release by this live owner of a key it knows in memory never
// signed (unclaim, release(retire=false)). A crash ends every key it held as
// `used` (the next start of the same owner, or the store deadline), never
// `available`. So a signature needs no durable write before it leaves: the
// pool allows at most one per claimed key within the process, and records
// it (sign_count, audit) afterwards with the retirements in flush(), one
// store transaction for many.
//
// The store deadline: another process may expire a lease whose deadline has
// passed (to `used`, then drained). Each key carries the steady-clock
// instant up to which its store lease is known to be safe (the claim's or
// the last successful renew()'s start + the store lease - a margin for
// clock skew, as the source computes it); past it the key is never handed
// out and never signs again, even if a later renewal succeeds.
//
// Thread safety: every public method is safe to call from any thread.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "qtw/result.h"
#include "qtw/solana/types.h"
#include "qtw/store/key_store.h"

namespace qtw::wallet {

// One Explorer as the pool receives it from durable storage: already
// `leased` to this process, its keypair derived.
struct ClaimedExplorer {
  solana::Keypair keypair;
  std::uint32_t bank_index = 0;
  std::uint32_t explorer_index = 0;
  // The store's lease id of this claim (the sign record names it).
  std::uint64_t store_lease_id = 0;
  // Until when the store lease is safe to use (see the file comment). A
  // source over a store with lease deadlines must set it.
  std::chrono::steady_clock::time_point valid_until = std::chrono::steady_clock::time_point::max();
};

// What the pool needs from durable storage. Implemented by KeyManager over
// the KeyStore; each call is one store transaction.
class ExplorerSource {
 public:
  virtual ~ExplorerSource() = default;
  // Durably moves up to `max` available Explorers to leased-by-this-process
  // and returns them. Empty when none are available.
  virtual Result<std::vector<ClaimedExplorer>> claim(std::size_t max) = 0;
  // Heartbeat: extends the store deadline of every lease this owner holds.
  // Returns the new valid_until (computed from the instant before the store
  // call) for the keys whose store lease was still safe when it returned.
  virtual Result<std::chrono::steady_clock::time_point> renew() = 0;
  // One store transaction: the signatures made since the last call (sign
  // records, written after the signatures) and the retired keys (leased ->
  // used). Returns the signed keys whose record the store refused (their
  // lease had already ended elsewhere); they are not retried.
  virtual Result<std::vector<solana::Pubkey>> write(
      std::span<const store::SignedLease> signed_leases,
      std::span<const solana::Pubkey> retired) = 0;
  // leased -> available: keys this process claimed and never handed out,
  // or handed out and returned unsigned (idle, clean shutdown).
  virtual Status unclaim(std::span<const solana::Pubkey> explorers) = 0;
};

struct ExplorerPoolOptions {
  // Explorers claimed from the store per refill. A crash loses at most this
  // many unused keys to recovery. Default 8.
  std::size_t claim_batch = 8;
  // A lease not returned within this time counts as used (I2); a late
  // release is rejected. Default 60 s.
  std::chrono::milliseconds lease_timeout{60'000};
};

// A leased Explorer. The keypair stays valid while any copy of the
// shared_ptr lives, even after release (the secret is wiped when the last
// copy is gone). Sign exactly one Lander transaction with it.
struct ExplorerLease {
  solana::Pubkey pubkey;
  std::uint64_t lease_id = 0;  // the store's lease id (unique per claim)
  std::shared_ptr<const solana::Keypair> keypair;
  std::chrono::steady_clock::time_point deadline;
};

struct ExplorerPoolStats {
  std::size_t available = 0;  // claimed, in memory, not handed out
  std::size_t leased = 0;     // handed out, not yet returned
  std::size_t retiring = 0;   // returned retired / timed out, not yet flushed
  std::size_t sign_records = 0;  // signatures not yet recorded in the store
  std::uint64_t acquired_total = 0;
  std::uint64_t retired_total = 0;
  std::uint64_t expired_total = 0;
  // Keys whose store lease outlived its safe time (renewals failed): they
  // count as used and were never handed out or signed with after it.
  std::uint64_t stale_total = 0;
};

class ExplorerPool {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `source` must outlive the pool. `clock` defaults to steady_clock::now.
  ExplorerPool(ExplorerSource& source, ExplorerPoolOptions options, Clock clock = {});
  ~ExplorerPool();
  ExplorerPool(const ExplorerPool&) = delete;
  ExplorerPool& operator=(const ExplorerPool&) = delete;

  // Hands out an Explorer. In-memory when one is claimed; otherwise claims a
  // batch from the store first. kPoolEmpty when the store has none either
  // (the caller should wait for the balancer; the daemon answers 503).
  // kUnavailable once shutdown() has begun.
  [[nodiscard]] Result<ExplorerLease> acquire();

  // Returns a leased Explorer. retire=true (the normal case after it signed)
  // queues it for `used`; retire=false puts it back for another acquire (only
  // if it signed nothing). Errors: kNotFound (not leased here),
  // kConflict (already returned, or its lease expired: it counts as used).
  [[nodiscard]] Status release(const solana::Pubkey& pubkey, bool retire);

  // Signing with a leased Explorer, in two steps: begin_sign checks that
  // `pubkey` is leased here, within its lease deadline and its store lease's
  // safe time, and has not signed (nor is signing), marks it signing and
  // returns its keypair and store lease id; end_sign(signed) records the
  // outcome: signed=true queues the sign record for the next flush() and the
  // key never signs again; signed=false (refused) leaves the lease usable.
  // Errors of begin_sign: kNotFound (not leased from this pool), kConflict
  // (returned, expired, store lease no longer safe, already signed or signing).
  struct SignTicket {
    std::shared_ptr<const solana::Keypair> keypair;
    std::uint64_t store_lease_id = 0;
  };
  [[nodiscard]] Result<SignTicket> begin_sign(const solana::Pubkey& pubkey);
  void end_sign(const solana::Pubkey& pubkey, bool signed_now);

  // Expires overdue leases to `used`, then writes the queued sign records
  // and retirements to the store in one transaction (a key still signing
  // waits for the next call, so its record is written with or before its
  // retirement). Call periodically. On a store error both queues are kept
  // for retry. Returns the signed keys whose record the store refused.
  [[nodiscard]] Result<std::vector<solana::Pubkey>> flush();

  // Heartbeat of the store leases (ExplorerSource::renew), serialised with
  // claims so every key's safe time is the one its store row has. On an
  // error nothing changes: the keys' safe times run out as they were.
  [[nodiscard]] Status renew();

  // Puts the claimed keys that are not handed out back in the store
  // (leased -> available), all but the `keep` next to be handed out: after
  // the pool has been idle (keep 0), or when this process holds more than
  // its share of a scarce pool. Keys are not held by a process that is not
  // using them. On a store error the keys stay claimed here. Returns how
  // many went back.
  [[nodiscard]] Result<std::size_t> release_unused(std::size_t keep = 0);

  // Claims `count` more keys ahead of demand (slow path, store I/O), or none
  // if `count` or more are already held unused. kUnavailable once
  // shutdown() has begun.
  [[nodiscard]] Status prefill(std::size_t count);

  // Clean shutdown: unreturned leases -> used (they may have signed; a
  // Lander holding one gets 409 from the next start and leases again),
  // never-handed-out -> available.
  // From its start the pool hands out and claims nothing more (acquire and
  // prefill: kUnavailable). On a store error the remaining writes are kept:
  // call it again to retry. Call from one thread at a time.
  [[nodiscard]] Status shutdown();

  [[nodiscard]] ExplorerPoolStats stats() const;
  // Keys claimed here and not handed out (stats().available, cheaper).
  [[nodiscard]] std::size_t available() const;

 private:
  enum class SlotState : std::uint8_t { kAvailable, kLeased, kRetiring, kFree };
  struct Slot {
    std::shared_ptr<const solana::Keypair> keypair;
    solana::Pubkey pubkey;
    std::uint64_t lease_id = 0;
    std::chrono::steady_clock::time_point deadline;
    std::uint64_t store_lease_id = 0;
    std::chrono::steady_clock::time_point valid_until;  // the store lease's safe time
    SlotState state = SlotState::kFree;
    bool signed_ = false;  // it signed: never signs again, only retires
    bool signing = false;  // between begin_sign and end_sign
  };
  std::size_t add_slot_locked(ClaimedExplorer&& c);  // requires mu_
  // The slot of a handed-out lease: kNotFound (unknown, or back in the
  // pool), kConflict (returned or expired). Requires mu_.
  Result<std::size_t> leased_slot_locked(const solana::Pubkey& pubkey) const;

  // Claims from the store without holding mu_, then adds the keys. Returns
  // how many were claimed (or, if another thread refilled meanwhile, how
  // many are available); 0 = the store had none.
  Result<std::size_t> claim_more(std::size_t max);
  void expire_locked(std::chrono::steady_clock::time_point now);  // requires mu_
  // Pops an available key whose store lease is safe; stale ones go to
  // retiring_. nullopt when none is left. Requires mu_.
  std::optional<ExplorerLease> hand_out_locked(std::chrono::steady_clock::time_point now);
  // Moves available keys past their safe time to retiring_. Requires mu_.
  void retire_stale_locked(std::chrono::steady_clock::time_point now);

  ExplorerSource& source_;
  const ExplorerPoolOptions options_;
  const Clock clock_;

  mutable std::mutex mu_;  // guards everything below
  std::vector<Slot> slots_;
  std::vector<std::size_t> available_;  // slot indexes, LIFO
  std::vector<std::size_t> free_slots_;
  std::vector<std::size_t> retiring_;
  std::vector<store::SignedLease> sign_records_;  // signed, not yet written
  std::unordered_map<solana::Pubkey, std::size_t> by_pubkey_;
  std::size_t leased_count_ = 0;
  std::uint64_t acquired_total_ = 0;
  std::uint64_t retired_total_ = 0;
  std::uint64_t expired_total_ = 0;
  std::uint64_t stale_total_ = 0;
  bool shut_down_ = false;               // set by shutdown(): no more hand-outs or claims
  std::vector<std::size_t> unclaiming_;  // never handed out, to unclaim at shutdown
  std::mutex claim_mu_;  // one store claim (or renewal, or unclaim) at a time
  std::mutex flush_mu_;  // serialises flush/shutdown store writes
};

}  // namespace qtw::wallet
