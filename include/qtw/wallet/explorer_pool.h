#pragma once
// ExplorerPool: hands out single-use Explorer keys from memory (DESIGN §3).
//
// Explorers are claimed from durable storage in small batches (the store
// records them `leased` to this process before any is handed out), derived
// once, and then acquire()/release() are in-memory operations: a mutex, a
// free-list pop and a slot update; no allocation, no I/O. A crash costs at
// most one batch of unused keys, which the store later expires to `used` and
// the balancer recovers (I2).
//
// Retirements are queued in memory and written to the store by flush(),
// which the owner calls periodically (KeyManager's maintenance thread). Until
// then the store still says `leased`, which already counts as used after a
// crash, so a delayed flush never lets a key be handed out twice.
//
// Thread safety: every public method is safe to call from any thread.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "qtw/result.h"
#include "qtw/solana/types.h"

namespace qtw::wallet {

// One Explorer as the pool receives it from durable storage: already
// `leased` to this process, its keypair derived.
struct ClaimedExplorer {
  solana::Keypair keypair;
  std::uint32_t bank_index = 0;
  std::uint32_t explorer_index = 0;
  // The store's lease id of this claim (the sign-once guard needs it).
  std::uint64_t store_lease_id = 0;
  // Adopted leases only (ExplorerPool::adopt): it already signed (I2).
  bool already_signed = false;
};

// What the pool needs from durable storage. Implemented by KeyManager over
// the KeyStore; each call is one store transaction.
class ExplorerSource {
 public:
  virtual ~ExplorerSource() = default;
  // Durably moves up to `max` available Explorers to leased-by-this-process
  // and returns them. Empty when none are available.
  virtual Result<std::vector<ClaimedExplorer>> claim(std::size_t max) = 0;
  // leased -> used (retired, or lease timed out).
  virtual Status mark_used(std::span<const solana::Pubkey> explorers) = 0;
  // leased -> available: keys this process claimed and never handed out
  // (clean shutdown).
  virtual Status unclaim(std::span<const solana::Pubkey> explorers) = 0;
};

struct ExplorerPoolOptions {
  // Explorers claimed from the store per refill. A crash loses at most this
  // many unused keys to recovery. Default 8.
  std::size_t claim_batch = 8;
  // A lease not returned within this time counts as used (I2); a late
  // release is rejected. Default 60 s.
  std::chrono::milliseconds lease_timeout{60'000};
  // shutdown() leaves handed-out leases `leased` in the store instead of
  // marking them used, so a restarted process with the same owner adopts
  // them (the daemon: leases survive a restart). Default false.
  bool keep_leases_on_shutdown = false;
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
  std::uint64_t acquired_total = 0;
  std::uint64_t retired_total = 0;
  std::uint64_t expired_total = 0;
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

  // Signing with a leased Explorer, in two steps around the durable guard:
  // begin_sign checks that `pubkey` is leased here, within its deadline and
  // has not signed (nor is signing), marks it signing and returns its
  // keypair and store lease id; end_sign(signed) records the outcome
  // (signed=false: the guard was not written, another attempt may follow).
  // Errors of begin_sign: kNotFound (not leased from this pool), kConflict
  // (returned, expired, already signed or signing).
  struct SignTicket {
    std::shared_ptr<const solana::Keypair> keypair;
    std::uint64_t store_lease_id = 0;
  };
  [[nodiscard]] Result<SignTicket> begin_sign(const solana::Pubkey& pubkey);
  void end_sign(const solana::Pubkey& pubkey, bool signed_now);

  // Takes keys this owner already holds in the store (a restart) as
  // handed-out leases with a fresh deadline; keys it already holds are
  // skipped. Their `already_signed` is kept: they never sign again.
  void adopt(std::vector<ClaimedExplorer> leased);

  // Expires overdue leases to `used`, then writes queued retirements to the
  // store. Call periodically. On a store error the queue is kept for retry.
  [[nodiscard]] Status flush();

  // Puts every claimed key that is not handed out back in the store
  // (leased -> available), e.g. after the pool has been idle, so keys are not
  // held by a process that is not using them. On a store error the keys stay
  // claimed here. Returns how many went back.
  [[nodiscard]] Result<std::size_t> release_unused();

  // Claims up to `min_available` keys ahead of demand (slow path, store I/O).
  // kUnavailable once shutdown() has begun.
  [[nodiscard]] Status prefill(std::size_t min_available);

  // Clean shutdown: unreturned leases -> used, never-handed-out -> available.
  // From its start the pool hands out and claims nothing more (acquire and
  // prefill: kUnavailable). On a store error the remaining writes are kept:
  // call it again to retry. Call from one thread at a time.
  [[nodiscard]] Status shutdown();

  [[nodiscard]] ExplorerPoolStats stats() const;

 private:
  enum class SlotState : std::uint8_t { kAvailable, kLeased, kRetiring, kFree };
  struct Slot {
    std::shared_ptr<const solana::Keypair> keypair;
    solana::Pubkey pubkey;
    std::uint64_t lease_id = 0;
    std::chrono::steady_clock::time_point deadline;
    std::uint64_t store_lease_id = 0;
    SlotState state = SlotState::kFree;
    bool signed_ = false;  // the durable guard is written: never signs again
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
  ExplorerLease hand_out_locked(std::chrono::steady_clock::time_point now);  // requires mu_

  ExplorerSource& source_;
  const ExplorerPoolOptions options_;
  const Clock clock_;

  mutable std::mutex mu_;  // guards everything below
  std::vector<Slot> slots_;
  std::vector<std::size_t> available_;  // slot indexes, LIFO
  std::vector<std::size_t> free_slots_;
  std::vector<std::size_t> retiring_;
  std::unordered_map<solana::Pubkey, std::size_t> by_pubkey_;
  std::size_t leased_count_ = 0;
  std::uint64_t acquired_total_ = 0;
  std::uint64_t retired_total_ = 0;
  std::uint64_t expired_total_ = 0;
  bool shut_down_ = false;               // set by shutdown(): no more hand-outs or claims
  std::vector<std::size_t> unclaiming_;  // never handed out, to unclaim at shutdown
  std::mutex claim_mu_;  // one store claim at a time
  std::mutex flush_mu_;  // serialises flush/shutdown store writes
};

}  // namespace qtw::wallet
