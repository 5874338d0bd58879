#pragma once
// Finding the wallet's keys on chain from the master seed: what `qtw rescue`
// rebuilds a lost store from, and what a restored store (a `qtw backup`
// copy, pg_restore, point-in-time recovery, a file copy) learns about the
// Explorers the original created after the copy (docs/DAEMON.md, "Backups
// and leases").
//
// A key is "seen" when it holds lamports (getMultipleAccounts, 100 keys a
// request) or has any transaction history (getSignaturesForAddress, limit 1,
// asked only for keys holding nothing). Both reads go out as JSON-RPC
// batches where the node accepts them, so a scan of a few hundred indexes is
// a few HTTP requests.
//
// Explorer indexes are handed out in order (KeyStore::reserve_explorers), so
// a run of unseen indexes that long means no later index was ever funded;
// holes come only from indexes reserved whose funding never landed.
//
// Thread safety: free functions; the RpcClient and KeyStore passed in follow
// their own rules (one RpcClient per thread). Errors: the RPC's and the
// store's, unchanged; nothing is written to a store by a scan.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qtw/result.h"
#include "qtw/rpc/rpc_client.h"
#include "qtw/solana/types.h"
#include "qtw/store/key_store.h"

namespace qtw::wallet {

struct ScannedExplorer {
  std::uint32_t index = 0;
  solana::Pubkey pubkey;
  std::uint64_t lamports = 0;
  bool seen = false;  // holds lamports or has on-chain history
};

struct ScannedBank {
  std::uint32_t index = 0;
  solana::Pubkey pubkey;
  std::uint64_t lamports = 0;
  // Consecutive indexes from where the scan began to the last one seen
  // (empty if none was seen).
  std::vector<ScannedExplorer> explorers;
};

// The pubkey of Explorer `explorer_index` of one Bank (derived, no I/O).
using ExplorerPubkeyOf = std::function<Result<solana::Pubkey>(std::uint32_t explorer_index)>;
// The pubkey of Bank `bank_index` (derived, no I/O).
using BankPubkeyOf = std::function<Result<solana::Pubkey>(std::uint32_t bank_index)>;
// The pubkey of Explorer `explorer_index` of Bank `bank_index`.
using BankExplorerPubkeyOf =
    std::function<Result<solana::Pubkey>(std::uint32_t bank_index, std::uint32_t explorer_index)>;

// Scans one Bank's Explorers `first_index`, `first_index` + 1, ... and
// stops once `gap` indexes in a row were unseen (gap >= 1). Returns indexes
// first_index .. the last one seen, in order; empty if none was seen.
[[nodiscard]] Result<std::vector<ScannedExplorer>> scan_explorers(rpc::RpcClient& rpc,
                                                                  const ExplorerPubkeyOf& explorer,
                                                                  std::uint32_t first_index,
                                                                  std::uint32_t gap);

// Re-derives Banks 0, 1, ... (stops after `bank_gap` unseen Banks in a row)
// and scans each seen Bank's Explorers from index 0 (scan_explorers with
// `explorer_gap`). For `qtw rescue`.
[[nodiscard]] Result<std::vector<ScannedBank>> scan_chain(rpc::RpcClient& rpc,
                                                          const BankPubkeyOf& bank,
                                                          const BankExplorerPubkeyOf& explorer,
                                                          std::uint32_t bank_gap,
                                                          std::uint32_t explorer_gap);

// Writes scanned Explorers of Bank row `bank_id` into the store: reserves
// their indexes (the Bank's next_child_index must be explorers.front().index,
// so they are never handed out again; kConflict otherwise) and moves each
// where the chain puts it: lamports -> used (the next cycle drains it;
// nobody knows whether it signed, I2), history but 0 lamports -> retired,
// never seen -> dropped. Call it inside KeyStore::transact. `why` starts
// each transition's audit reason ("rescue", "restored store"). No-op for
// an empty list.
[[nodiscard]] Status place_scanned_explorers(store::KeyStore& store, std::int64_t bank_id,
                                             const std::vector<ScannedExplorer>& explorers,
                                             const ExplorerPubkeyOf& explorer,
                                             std::string_view why);

// ---- restored stores ----

// The store setting that marks a restored store (Unix ms it was marked,
// 0 or absent = not marked). Set by mark_store_restored, cleared by the
// first successful reconcile_restored_store.
inline constexpr std::string_view kRestoredStoreSetting = "restored_store_at_ms";

// The Unix ms the store was marked restored; nullopt when it is not.
[[nodiscard]] Result<std::optional<std::int64_t>> restored_since(store::KeyStore& store);

struct RestoreMarkReport {
  std::size_t leases_ended = 0;     // leased -> used
  std::size_t available_ended = 0;  // available -> used
};

// Marks `store` as a copy of another (qtw backup inside its copy, qtw
// end-leases on a store restored by other means), in one store transaction:
// - every lease ends (leased -> used) and every available Explorer is taken
//   out of service (available -> used): the original may have handed them
//   out and signed with them after the copy, and neither those claims nor
//   their sign records are in the copy (I2); the balancer drains them;
// - the restored-store setting is set to `now_ms`: until a balancer has
//   scanned the chain past every Bank's next Explorer index
//   (reconcile_restored_store), no balancer creates an Explorer, and a
//   funding that confirms for an Explorer of the copy makes it used, not
//   available;
// - one audit entry (`leases.ended`, actor `actor`, `when` in its detail).
[[nodiscard]] Result<RestoreMarkReport> mark_store_restored(store::KeyStore& store,
                                                            const std::string& actor,
                                                            const std::string& when,
                                                            std::int64_t now_ms);

// The scan gap a restored store uses when none is configured:
// max(100, 4 * max(explorer_keys_to_create, min_explorer_keys)).
// Why (docs/DAEMON.md): a hole in a Bank's indexes is a run reserved whose
// funding never landed. One balancer cycle reserves at most
// max(explorer_keys_to_create, min_explorer_keys) indexes, twice when the
// Banks were empty and their top-up landed in the same cycle, and all of
// them may fall on one Bank: 4x covers two whole consecutive cycles whose
// every funding was lost, and the floor of 100 (rescue's default) covers
// ten such cycles at the default configuration. With `fill_up_to` > 0 (a
// balancer that fills a creation's last funding transaction up to that many
// Explorers, BalancerOptions::fill_funding_transactions) a cycle's creation
// is that count rounded up to a multiple of it.
[[nodiscard]] std::uint32_t default_restore_explorer_gap(std::uint32_t min_explorer_keys,
                                                         std::uint32_t explorer_keys_to_create,
                                                         std::uint32_t fill_up_to = 0);

struct RestoredBank {
  std::uint32_t bank_index = 0;
  solana::Pubkey bank;
  std::uint32_t first_index = 0;  // the copy's next_child_index
  std::uint32_t reserved = 0;     // first_index .. first_index + reserved - 1
  std::uint32_t funded = 0;       // -> used (lamports left)
  std::uint32_t retired = 0;      // history, 0 lamports
  std::uint32_t dropped = 0;      // never seen (holes)
  std::uint64_t lamports = 0;     // on the funded ones
};

struct RestoreScanReport {
  std::int64_t marked_at_ms = 0;
  std::uint32_t gap = 0;
  std::vector<RestoredBank> banks;  // every Bank, in index order
};

// The first balancer cycle on a restored store: scans every Bank's
// Explorers from its next_child_index (gap `gap`), places what it found
// (place_scanned_explorers, reason "restored store") and clears the marker,
// all in one store transaction, with one audit entry (`wallet.restore_scan`)
// naming per Bank what was found. nullopt when the store is not marked. On
// an error (RPC down) nothing is written and the marker stays.
[[nodiscard]] Result<std::optional<RestoreScanReport>> reconcile_restored_store(
    store::KeyStore& store, rpc::RpcClient& rpc, const BankExplorerPubkeyOf& explorer,
    std::uint32_t gap);

// One line per Bank: "bank 0: Explorers 12..37 found after the copy (20
// funded, 5 drained, 1 never funded)" or "bank 1: nothing after index 8".
[[nodiscard]] std::vector<std::string> describe_restore_scan(const RestoreScanReport& report);

}  // namespace qtw::wallet
