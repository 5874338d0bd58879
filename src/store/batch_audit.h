#pragma once
// The text of the audit rows that Explorer batches write, shared by the
// backends so both log the same words. A batch (a reserve of N Explorers, a
// transition of N Explorers in one call) writes ONE chained audit row, not
// N: at 10,000 Explorers a cycle the per-key rows were the largest store
// cost. The row's pubkey column is the batch's first Explorer; the detail
// names the count and enough to tell every key of the batch: the index
// range (a reserve's keys are consecutive indexes of one Bank, so the range
// names each key) or every pubkey (a transition's keys need not be
// consecutive). A batch of one writes exactly the row it always did.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "qtw/solana/types.h"
#include "qtw/store/key_store.h"

namespace qtw::store {

// "bank B index I" for one key; "bank B indexes I..J (N Explorers, last
// <pubkey>)" for more (the first pubkey is the row's pubkey column).
inline std::string reserve_audit_detail(std::uint32_t bank_index, std::uint64_t first_index,
                                        std::span<const solana::Pubkey> keys) {
  std::string d = "bank " + std::to_string(bank_index);
  if (keys.size() <= 1) return d + " index " + std::to_string(first_index);
  return d + " indexes " + std::to_string(first_index) + ".." +
         std::to_string(first_index + keys.size() - 1) + " (" + std::to_string(keys.size()) +
         " Explorers, last " + keys.back().to_base58() + ")";
}

// "<from> -> <to>: <reason>" for one key; with " (N Explorers: pk1 pk2 ...)"
// appended for more.
inline std::string transition_audit_detail(KeyState from, KeyState to, std::string_view reason,
                                           std::span<const solana::Pubkey> keys) {
  std::string d = std::string(key_state_name(from)) + " -> " + std::string(key_state_name(to)) +
                  ": " + std::string(reason);
  if (keys.size() <= 1) return d;
  d += " (" + std::to_string(keys.size()) + " Explorers:";
  for (const auto& k : keys) d += " " + k.to_base58();
  return d + ")";
}

// "lease L" for one signature (the row's pubkey column names the
// Explorer); "lease L (N Explorers: pk1 lease L1, pk2 lease L2, ...)" for
// more, the first being the row's pubkey.
inline std::string sign_audit_detail(std::span<const SignedLease> signed_leases) {
  if (signed_leases.empty()) return {};
  std::string d = "lease " + std::to_string(signed_leases.front().lease_id);
  if (signed_leases.size() <= 1) return d;
  d += " (" + std::to_string(signed_leases.size()) + " Explorers:";
  for (std::size_t i = 0; i < signed_leases.size(); ++i) {
    d += (i == 0 ? " " : ", ") + signed_leases[i].explorer.to_base58() + " lease " +
         std::to_string(signed_leases[i].lease_id);
  }
  return d + ")";
}

}  // namespace qtw::store
