#pragma once
// The audit log's hash chain (docs/ARCHITECTURE.md, "Audit log").
//
// Every audit row carries `prev_hash`, the `hash` of the row before it (in
// id order; 32 zero bytes for the first row), and its own `hash`:
//
//   hash = SHA-256( "qtw-audit-v1" || u64be(at_ms) || str(actor) || str(action)
//                   || opt(pubkey, 32 bytes) || opt(i64be(intent_id)) || str(detail)
//                   || prev_hash )
//   str(s) = u32be(byte length) || bytes;  opt(x) = 0x00 | 0x01 || x
//
// (SHA-256 via libsodium's crypto_hash_sha256.) The id is not hashed: the
// chain itself fixes the order, so an edited row fails its own hash, and a
// deleted, inserted or reordered row breaks the link of the row after it.
// Appends are serialised by the store (SQLite: its one writer; PostgreSQL:
// an advisory transaction lock around the tail read and the insert), so two
// writers never fork the chain. Deleting rows at the very end is only
// visible against a tail recorded elsewhere: verify reports the tail hash
// and the count so an operator can keep them (e.g. in a monitoring system).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "qtw/result.h"
#include "qtw/store/key_store.h"

namespace qtw::store {

// SHA-256 of the canonical encoding above. Pure function.
[[nodiscard]] AuditHash audit_entry_hash(const AuditRecord& record, const AuditHash& prev_hash);

// "ab01..." (64 lowercase hex characters).
[[nodiscard]] std::string audit_hash_hex(const AuditHash& hash);

struct AuditVerifyReport {
  std::uint64_t entries = 0;           // rows checked
  std::optional<std::int64_t> first_bad_id;  // the first row that fails, if any
  std::string problem;                 // what is wrong with it ("" when intact)
  std::int64_t tail_id = 0;            // the last row's id (0 = empty log)
  AuditHash tail_hash{};               // its hash (zeros for an empty log)
};

// Walks the whole log in id order, `page_rows` at a time, and checks every
// link and every row's own hash. A broken chain is a report with
// first_bad_id set, not an error; errors are the store's (kStore,
// kUnavailable).
[[nodiscard]] Result<AuditVerifyReport> verify_audit_chain(KeyStore& store,
                                                           std::size_t page_rows = 1000);

}  // namespace qtw::store
