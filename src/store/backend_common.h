#pragma once
// Helpers both store backends (sqlite/, postgres/) share: the integer codes
// they store, the names their errors use, and the argument checks they apply
// before touching the database, so both say and refuse the same things.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "qtw/result.h"
#include "qtw/solana/types.h"
#include "qtw/store/key_store.h"

namespace qtw::store {

inline constexpr std::int64_t kTierHodl = static_cast<std::int64_t>(KeyTier::Hodl);
inline constexpr std::int64_t kTierBank = static_cast<std::int64_t>(KeyTier::Bank);
inline constexpr std::int64_t kTierExplorer = static_cast<std::int64_t>(KeyTier::Explorer);
inline constexpr std::uint32_t kMaxDerivationIndex = 0x7fff'ffffu;  // hardened range, docs/KEYS.md

// The columns of a key row, in the order read_key (each backend's) reads them.
inline constexpr const char* kKeyColumns =
    "id, tier, pubkey, state, bank_index, explorer_index, funding_bank_id, sealed_secret, label, "
    "next_child_index, lease_host, lease_pid, lease_instance, lease_id, lease_deadline_ms, "
    "sign_count, signed_at_ms, created_at_ms, updated_at_ms, stranded_reason";

inline std::int64_t state_int(KeyState s) { return static_cast<std::int64_t>(s); }

// "host:pid:instance", the actor of a lease owner's audit rows.
std::string owner_string(const LeaseOwner& o);

// "Explorer <base58>": every message names a key in base58.
std::string explorer_name(const solana::Pubkey& pk);

// "<hostname>:<pid>", the default actor of a store's audit rows.
std::string default_actor();

// Milliseconds since the Unix epoch: the default clock of a store.
std::int64_t system_clock_ms();

// kInvalidArgument unless v fits the stores' signed 64-bit columns.
Status check_i64(std::uint64_t v, std::string_view what);

// kInvalidArgument unless the owner names a host and an instance.
Status check_owner(const LeaseOwner& owner);

// Why `r` cannot be released (kept when !retire, retired otherwise): not an
// Explorer, not leased, or signed once and not retired (I2). Ok otherwise.
Status check_release(const KeyRecord& r, bool retire);

// KeyStore::transition(_many)'s arguments: never into or out of kLeased
// (leases have calls of their own), and check_transition.
Status check_batch_transition(KeyState from, KeyState to);

// A row about to move from -> to: an Explorer (`tier`), currently `from`.
Status check_move_row(const solana::Pubkey& pk, std::int64_t tier, KeyState cur, KeyState from,
                      KeyState to);

// The checks of KeyStore::insert_intent every backend applies before
// writing: status kPrepared, a signature, values within 2^63-1.
Status check_new_intent(const IntentRecord& intent);

// The audit row a backend appends (id and hashes are the backend's).
AuditRecord audit_record(std::int64_t at_ms, const std::string& actor, std::string_view action,
                         const std::optional<solana::Pubkey>& pubkey,
                         std::optional<std::int64_t> intent_id, std::string_view detail);

}  // namespace qtw::store
