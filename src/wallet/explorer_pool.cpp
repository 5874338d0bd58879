#include "qtw/wallet/explorer_pool.h"

#include <algorithm>
#include <string>
#include <utility>

namespace qtw::wallet {

ExplorerPool::ExplorerPool(ExplorerSource& source, ExplorerPoolOptions options, Clock clock)
    : source_(source),
      options_(options),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })) {
  slots_.reserve(options_.claim_batch * 4);
}

ExplorerPool::~ExplorerPool() = default;

std::optional<ExplorerLease> ExplorerPool::hand_out_locked(
    std::chrono::steady_clock::time_point now) {
  while (!available_.empty()) {
    const std::size_t idx = available_.back();
    available_.pop_back();
    Slot& slot = slots_[idx];
    if (now >= slot.valid_until) {
      // Its store lease may be expired by another process by now: never
      // hand it out; it counts as used (I2).
      slot.state = SlotState::kRetiring;
      retiring_.push_back(idx);
      ++stale_total_;
      continue;
    }
    slot.state = SlotState::kLeased;
    slot.lease_id = slot.store_lease_id;
    slot.deadline = now + options_.lease_timeout;
    ++leased_count_;
    ++acquired_total_;
    return ExplorerLease{slot.pubkey, slot.lease_id, slot.keypair, slot.deadline};
  }
  return std::nullopt;
}

void ExplorerPool::retire_stale_locked(std::chrono::steady_clock::time_point now) {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < available_.size(); ++i) {
    const std::size_t idx = available_[i];
    if (now >= slots_[idx].valid_until) {
      slots_[idx].state = SlotState::kRetiring;
      retiring_.push_back(idx);
      ++stale_total_;
    } else {
      available_[kept++] = idx;
    }
  }
  available_.resize(kept);
}

Result<ExplorerLease> ExplorerPool::acquire() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (auto lease = hand_out_locked(clock_())) return *std::move(lease);
    }
    // Slow path: claim a batch from the store, outside mu_ so releases and
    // other acquirers holding keys are not blocked behind I/O. Other threads
    // may take the whole batch before we do: then claim again. Only a claim
    // that finds nothing means the pool is empty.
    QTW_ASSIGN_OR_RETURN(std::size_t got, claim_more(options_.claim_batch));
    if (got == 0) {
      std::lock_guard lock(mu_);
      if (auto lease = hand_out_locked(clock_())) return *std::move(lease);
      return make_error(ErrorCode::kPoolEmpty,
                        "no Explorer available; the balancer creates more (run `qtw balance`)");
    }
  }
}

Result<std::size_t> ExplorerPool::claim_more(std::size_t max) {
  std::lock_guard claim_lock(claim_mu_);
  {
    // Another thread may have refilled while we waited for claim_mu_.
    std::lock_guard lock(mu_);
    retire_stale_locked(clock_());
    // After shutdown nothing is claimed: no one would return those keys.
    if (shut_down_) return make_error(ErrorCode::kUnavailable, "the Explorer pool is shut down");
    if (available_.size() >= max) return available_.size();
  }
  QTW_ASSIGN_OR_RETURN(std::vector<ClaimedExplorer> claimed, source_.claim(max));
  std::lock_guard lock(mu_);
  std::size_t added = 0;
  const solana::Pubkey* duplicate = nullptr;
  for (auto& c : claimed) {
    // A key the pool already holds (leased or not) must not get a second
    // slot: both would be handed out (I2). The store never claims a leased
    // key twice, so this is a source bug: skip it and report kInternal.
    if (by_pubkey_.contains(c.keypair.pubkey())) {
      duplicate = &c.keypair.pubkey();
      continue;
    }
    ++added;
    available_.push_back(add_slot_locked(std::move(c)));
  }
  // Keep the hot path allocation-free: room for every slot in each list.
  available_.reserve(slots_.size());
  retiring_.reserve(slots_.size());
  free_slots_.reserve(slots_.size());
  if (duplicate != nullptr) {
    return make_error(ErrorCode::kInternal, "the Explorer source returned " + duplicate->to_base58() +
                                                ", which this pool already holds; skipped it");
  }
  return added;
}

std::size_t ExplorerPool::add_slot_locked(ClaimedExplorer&& c) {
  std::size_t idx;
  if (!free_slots_.empty()) {
    idx = free_slots_.back();
    free_slots_.pop_back();
  } else {
    idx = slots_.size();
    slots_.emplace_back();
  }
  Slot& slot = slots_[idx];
  slot.pubkey = c.keypair.pubkey();
  slot.keypair = std::make_shared<const solana::Keypair>(std::move(c.keypair));
  slot.state = SlotState::kAvailable;
  slot.lease_id = 0;
  slot.store_lease_id = c.store_lease_id;
  slot.valid_until = c.valid_until;
  slot.signed_ = false;
  slot.signing = false;
  by_pubkey_[slot.pubkey] = idx;
  return idx;
}

Result<std::size_t> ExplorerPool::leased_slot_locked(const solana::Pubkey& pubkey) const {
  const auto it = by_pubkey_.find(pubkey);
  // A key back in the pool (returned unused) is leased by no one.
  if (it == by_pubkey_.end() || slots_[it->second].state == SlotState::kAvailable) {
    return make_error(ErrorCode::kNotFound,
                      "Explorer " + pubkey.to_base58() + " is not leased from this pool");
  }
  if (slots_[it->second].state != SlotState::kLeased) {
    return make_error(ErrorCode::kConflict, "Explorer " + pubkey.to_base58() +
                                                " was already returned or its lease expired: "
                                                "it counts as used");
  }
  return it->second;
}

Result<ExplorerPool::SignTicket> ExplorerPool::begin_sign(const solana::Pubkey& pubkey) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(std::size_t idx, leased_slot_locked(pubkey));
  Slot& slot = slots_[idx];
  if (slot.signed_ || slot.signing) {
    return make_error(ErrorCode::kConflict,
                      "Explorer " + pubkey.to_base58() + " already signed its one message");
  }
  // Past its deadline a lease counts as used (I2), even before the next
  // flush() writes that down: no signature then.
  const auto now = clock_();
  if (now > slot.deadline) {
    return make_error(ErrorCode::kConflict, "the lease of Explorer " + pubkey.to_base58() +
                                                " expired; it counts as used");
  }
  // Past its safe time the store lease may have been expired by another
  // process (and the key handed to recovery): no signature either.
  if (now >= slot.valid_until) {
    return make_error(ErrorCode::kConflict,
                      "the store lease of Explorer " + pubkey.to_base58() +
                          " was not renewed in time (store unreachable?); it counts as used");
  }
  slot.signing = true;
  return SignTicket{slot.keypair, slot.store_lease_id};
}

void ExplorerPool::end_sign(const solana::Pubkey& pubkey, bool signed_now) {
  std::lock_guard lock(mu_);
  const auto it = by_pubkey_.find(pubkey);
  if (it == by_pubkey_.end()) return;
  Slot& slot = slots_[it->second];
  slot.signing = false;
  if (signed_now && !slot.signed_) {
    slot.signed_ = true;
    sign_records_.push_back(store::SignedLease{slot.pubkey, slot.store_lease_id});
  }
}

Status ExplorerPool::release(const solana::Pubkey& pubkey, bool retire) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(std::size_t idx, leased_slot_locked(pubkey));
  Slot& slot = slots_[idx];
  const auto now = clock_();
  if (!retire && (slot.signed_ || slot.signing)) {
    return make_error(ErrorCode::kConflict,
                      "Explorer " + pubkey.to_base58() + " signed: it can only be retired (single use, I2)");
  }
  --leased_count_;
  if (retire || now > slot.deadline || now >= slot.valid_until) {
    // A late return counts as used even if the caller says keep (I2), and so
    // does a key whose store lease is past its safe time.
    const bool late = !retire;
    slot.state = SlotState::kRetiring;
    retiring_.push_back(idx);
    if (late) {
      ++expired_total_;
      return make_error(ErrorCode::kConflict,
                        "lease of " + pubkey.to_base58() + " expired; it counts as used");
    }
    ++retired_total_;
    return {};
  }
  slot.state = SlotState::kAvailable;
  available_.push_back(idx);
  return {};
}

void ExplorerPool::expire_locked(std::chrono::steady_clock::time_point now) {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = slots_[i];
    if (slot.state == SlotState::kLeased && now > slot.deadline) {
      slot.state = SlotState::kRetiring;
      retiring_.push_back(i);
      --leased_count_;
      ++expired_total_;
    }
  }
}

Result<std::vector<solana::Pubkey>> ExplorerPool::flush() {
  std::lock_guard flush_lock(flush_mu_);
  std::vector<std::size_t> batch;
  std::vector<solana::Pubkey> keys;
  std::vector<store::SignedLease> records;
  {
    std::lock_guard lock(mu_);
    expire_locked(clock_());
    retire_stale_locked(clock_());
    // A key still between begin_sign and end_sign stays queued: its sign
    // record must be written with or before its retirement (the record
    // needs the lease the retirement ends).
    std::vector<std::size_t> later;
    for (auto idx : retiring_) {
      if (slots_[idx].signing) {
        later.push_back(idx);
      } else {
        batch.push_back(idx);
      }
    }
    retiring_.swap(later);
    retiring_.reserve(slots_.size());
    records.swap(sign_records_);
    sign_records_.reserve(std::max(records.capacity(), options_.claim_batch));
    keys.reserve(batch.size());
    for (auto idx : batch) keys.push_back(slots_[idx].pubkey);
  }
  if (keys.empty() && records.empty()) return std::vector<solana::Pubkey>{};
  auto written = source_.write(records, keys);
  // The secrets are wiped and freed after mu_ is released: sodium_free of a
  // guarded region costs ~0.1 ms on a VM, and under mu_ every acquire and
  // release waited for the whole batch (measured: 4 Landers' round trip went
  // from ~0.2 us to ~20 us with a flush of 256 keys per 256 returns).
  std::vector<std::shared_ptr<const solana::Keypair>> wipe;
  {
    std::lock_guard lock(mu_);
    if (!written) {
      retiring_.insert(retiring_.end(), batch.begin(), batch.end());
      sign_records_.insert(sign_records_.begin(), records.begin(), records.end());
      return tl::unexpected(written.error());
    }
    wipe.reserve(batch.size());
    for (auto idx : batch) {
      Slot& slot = slots_[idx];
      by_pubkey_.erase(slot.pubkey);
      wipe.push_back(std::move(slot.keypair));  // wiped when the last lease copy is gone
      slot.keypair.reset();
      slot.state = SlotState::kFree;
      free_slots_.push_back(idx);
    }
  }
  return written;
}

Status ExplorerPool::renew() {
  // claim_mu_: no claim interleaves, so a key claimed while the renewal ran
  // gets the renewal's (earlier, safer) time, never a later one than its
  // store row has.
  std::lock_guard claim_lock(claim_mu_);
  QTW_ASSIGN_OR_RETURN(const auto valid_until, source_.renew());
  std::lock_guard lock(mu_);
  // Only keys still within their safe time when the renewal returned were
  // surely leased to us when it ran; the others may have been expired by
  // another process meanwhile and stay stale for good.
  const auto now = clock_();
  for (auto& slot : slots_) {
    if (slot.state != SlotState::kFree && now < slot.valid_until) slot.valid_until = valid_until;
  }
  retire_stale_locked(now);
  return {};
}

Result<std::size_t> ExplorerPool::release_unused(std::size_t keep) {
  // claim_mu_ for the whole call: no claim or shutdown interleaves. The keys
  // leave available_ before the store makes them claimable elsewhere, so an
  // acquire in between cannot hand one out (I2).
  std::lock_guard claim_lock(claim_mu_);
  std::vector<std::size_t> idle;
  std::vector<solana::Pubkey> keys;
  {
    std::lock_guard lock(mu_);
    retire_stale_locked(clock_());  // never give back a key whose store lease may be gone
    if (shut_down_ || available_.size() <= keep) return std::size_t{0};
    // available_ is LIFO: the front holds the keys handed out last.
    const auto split = available_.end() - static_cast<std::ptrdiff_t>(keep);
    idle.assign(available_.begin(), split);
    available_.erase(available_.begin(), split);
    for (auto idx : idle) keys.push_back(slots_[idx].pubkey);
  }
  const Status written = source_.unclaim(keys);
  std::vector<std::shared_ptr<const solana::Keypair>> wipe;  // freed after mu_ (see flush)
  std::lock_guard lock(mu_);
  if (!written) {
    available_.insert(available_.begin(), idle.begin(), idle.end());
    return tl::unexpected(written.error());
  }
  for (auto idx : idle) {
    by_pubkey_.erase(slots_[idx].pubkey);
    wipe.push_back(std::move(slots_[idx].keypair));
    slots_[idx].keypair.reset();
    slots_[idx].state = SlotState::kFree;
    free_slots_.push_back(idx);
  }
  return idle.size();
}

Status ExplorerPool::prefill(std::size_t count) {
  return claim_more(count).map([](std::size_t) {});
}

Status ExplorerPool::shutdown() {
  std::vector<solana::Pubkey> unused;
  {
    // claim_mu_ waits out a claim in flight (its keys are counted below);
    // with shut_down_ set, no later claim starts.
    std::lock_guard claim_lock(claim_mu_);
    std::lock_guard lock(mu_);
    shut_down_ = true;
    // Anything still leased at shutdown may have signed: it counts as used.
    retire_stale_locked(clock_());
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].state == SlotState::kLeased) {
        slots_[i].state = SlotState::kRetiring;
        retiring_.push_back(i);
        --leased_count_;
      }
    }
    // Take the never-handed-out keys off the free list before the store
    // makes them available again: an acquire in between would hold a key
    // that another process can claim too (I2).
    unclaiming_.insert(unclaiming_.end(), available_.begin(), available_.end());
    available_.clear();
    unused.reserve(unclaiming_.size());
    for (auto idx : unclaiming_) unused.push_back(slots_[idx].pubkey);
  }
  QTW_TRY(flush());
  if (unused.empty()) return {};
  // On error the keys stay in unclaiming_ (leased on disk, never handed
  // out) for the next shutdown() call.
  QTW_TRY(source_.unclaim(unused));
  std::vector<std::shared_ptr<const solana::Keypair>> wipe;  // freed after mu_ (see flush)
  std::lock_guard lock(mu_);
  wipe.reserve(unclaiming_.size());
  for (auto idx : unclaiming_) {
    by_pubkey_.erase(slots_[idx].pubkey);
    wipe.push_back(std::move(slots_[idx].keypair));
    slots_[idx].keypair.reset();
    slots_[idx].state = SlotState::kFree;
    free_slots_.push_back(idx);
  }
  unclaiming_.clear();
  return {};
}

std::size_t ExplorerPool::available() const {
  std::lock_guard lock(mu_);
  return available_.size();
}

ExplorerPoolStats ExplorerPool::stats() const {
  std::lock_guard lock(mu_);
  ExplorerPoolStats st;
  st.available = available_.size();
  st.leased = leased_count_;
  st.retiring = retiring_.size();
  st.sign_records = sign_records_.size();
  st.acquired_total = acquired_total_;
  st.retired_total = retired_total_;
  st.expired_total = expired_total_;
  st.stale_total = stale_total_;
  return st;
}

}  // namespace qtw::wallet
