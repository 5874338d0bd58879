// Chain scans from the master seed: qtw rescue and restored stores
// (qtw/wallet/chain_scan.h).
#include "qtw/wallet/chain_scan.h"

#include <algorithm>
#include <limits>

namespace qtw::wallet {
namespace {

using solana::Pubkey;
using store::KeyState;
using store::KeyTier;

// Explorers read per round: one getMultipleAccounts chunk.
constexpr std::uint32_t kScanWindow = static_cast<std::uint32_t>(rpc::kMaxMultipleAccounts);

// Fills `seen` for keys holding nothing: any signature at all means the key
// was used (getSignaturesForAddress, limit 1, batched).
Status mark_history(rpc::RpcClient& rpc, std::vector<ScannedExplorer>& keys) {
  std::vector<Pubkey> empty;
  std::vector<std::size_t> where;
  for (std::size_t k = 0; k < keys.size(); ++k) {
    if (keys[k].lamports > 0) {
      keys[k].seen = true;
    } else {
      empty.push_back(keys[k].pubkey);
      where.push_back(k);
    }
  }
  rpc::SignaturesForAddressOptions o;
  o.limit = 1;
  QTW_ASSIGN_OR_RETURN(auto history, rpc.get_signatures_for_addresses(empty, o));
  for (std::size_t i = 0; i < where.size(); ++i) keys[where[i]].seen = !history[i].empty();
  return {};
}

}  // namespace

Result<std::vector<ScannedExplorer>> scan_explorers(rpc::RpcClient& rpc,
                                                    const ExplorerPubkeyOf& explorer,
                                                    std::uint32_t first_index, std::uint32_t gap) {
  if (gap == 0) return make_error(ErrorCode::kInvalidArgument, "an Explorer scan gap must be >= 1");
  std::vector<ScannedExplorer> found;
  // Indexes past the last one seen, so far; the scan ends when it reaches gap.
  std::uint64_t unseen_run = 0;
  std::uint64_t next = first_index;
  while (unseen_run < gap) {
    // What is left of the gap, at once (a large gap costs batched requests,
    // not rounds); at least one getMultipleAccounts chunk when the run is
    // just starting, since used indexes usually come in runs.
    const std::uint64_t left = gap - unseen_run;
    const std::uint64_t want = unseen_run == 0 ? std::max<std::uint64_t>(kScanWindow, left) : left;
    const std::uint64_t last = std::min<std::uint64_t>(
        next + want, std::uint64_t{std::numeric_limits<std::uint32_t>::max()} + 1);
    if (last <= next) break;  // the index space is exhausted
    std::vector<ScannedExplorer> window;
    std::vector<Pubkey> pks;
    window.reserve(static_cast<std::size_t>(last - next));
    for (std::uint64_t j = next; j < last; ++j) {
      QTW_ASSIGN_OR_RETURN(auto pk, explorer(static_cast<std::uint32_t>(j)));
      pks.push_back(pk);
      window.push_back(ScannedExplorer{static_cast<std::uint32_t>(j), pk, 0, false});
    }
    QTW_ASSIGN_OR_RETURN(auto accounts, rpc.get_multiple_accounts(pks));
    for (std::size_t k = 0; k < window.size(); ++k) {
      window[k].lamports = accounts[k] ? accounts[k]->lamports : 0;
    }
    QTW_TRY(mark_history(rpc, window));
    for (auto& e : window) {
      if (e.seen) {
        unseen_run = 0;
      } else {
        ++unseen_run;
      }
      found.push_back(e);
    }
    next = last;
  }
  // Keep first_index .. last seen.
  while (!found.empty() && !found.back().seen) found.pop_back();
  return found;
}

Result<std::vector<ScannedBank>> scan_chain(rpc::RpcClient& rpc, const BankPubkeyOf& bank,
                                            const BankExplorerPubkeyOf& explorer,
                                            std::uint32_t bank_gap, std::uint32_t explorer_gap) {
  std::vector<ScannedBank> found;
  std::uint32_t unseen_banks = 0;
  for (std::uint32_t i = 0; unseen_banks < bank_gap; ++i) {
    QTW_ASSIGN_OR_RETURN(const Pubkey bank_pk, bank(i));
    std::vector<ScannedExplorer> one{ScannedExplorer{i, bank_pk, 0, false}};
    const Pubkey keys[] = {bank_pk};
    QTW_ASSIGN_OR_RETURN(auto acct, rpc.get_multiple_accounts(keys));
    one[0].lamports = acct[0] ? acct[0]->lamports : 0;
    QTW_TRY(mark_history(rpc, one));
    if (!one[0].seen) {
      ++unseen_banks;
      continue;
    }
    unseen_banks = 0;
    ScannedBank b{i, bank_pk, one[0].lamports, {}};
    QTW_ASSIGN_OR_RETURN(
        b.explorers, scan_explorers(
                         rpc, [&](std::uint32_t j) { return explorer(i, j); }, 0, explorer_gap));
    found.push_back(std::move(b));
  }
  return found;
}

Status place_scanned_explorers(store::KeyStore& store, std::int64_t bank_id,
                               const std::vector<ScannedExplorer>& explorers,
                               const ExplorerPubkeyOf& explorer, std::string_view why) {
  if (explorers.empty()) return {};
  QTW_ASSIGN_OR_RETURN(auto bank, store.get_key_by_id(bank_id));
  if (bank.next_child_index != explorers.front().index) {
    return make_error(ErrorCode::kConflict,
                      std::string(why) + ": Bank " + bank.pubkey.to_base58() +
                          " would hand out index " + std::to_string(bank.next_child_index) +
                          ", the scan began at " + std::to_string(explorers.front().index) +
                          "; scan again");
  }
  QTW_ASSIGN_OR_RETURN(auto reserved, store.reserve_explorers(bank_id, explorers.size(), explorer));
  if (reserved.size() != explorers.size()) {
    return make_error(ErrorCode::kInternal, std::string(why) + ": reserved " +
                                                std::to_string(reserved.size()) + " of " +
                                                std::to_string(explorers.size()) + " indexes");
  }
  std::vector<Pubkey> all, to_used, drained;
  for (std::size_t k = 0; k < explorers.size(); ++k) {
    const auto& e = explorers[k];
    if (reserved[k].pubkey != e.pubkey || reserved[k].explorer_index != e.index) {
      return make_error(ErrorCode::kInternal,
                        std::string(why) + ": reserved index " +
                            std::to_string(reserved[k].explorer_index.value_or(0)) +
                            " is not the scanned " + std::to_string(e.index));
    }
    all.push_back(e.pubkey);
    if (e.seen) to_used.push_back(e.pubkey);
    if (e.seen && e.lamports == 0) drained.push_back(e.pubkey);
  }
  // pending -> dropped for all, then back to used for what the chain saw
  // (the state machine's "a chain scan found it"), then retired for what
  // holds nothing: the legal path for each end state.
  const std::string reason(why);
  QTW_TRY(
      store.transition_many(all, KeyState::kPending, KeyState::kDropped, reason + ": re-derived"));
  if (!to_used.empty()) {
    QTW_TRY(store.transition_many(to_used, KeyState::kDropped, KeyState::kUsed,
                                  reason + ": seen on chain"));
  }
  if (!drained.empty()) {
    QTW_TRY(store.transition_many(drained, KeyState::kUsed, KeyState::kRetired,
                                  reason + ": history on chain, 0 lamports"));
  }
  return {};
}

Result<std::optional<std::int64_t>> restored_since(store::KeyStore& store) {
  QTW_ASSIGN_OR_RETURN(auto value, store.get_setting(kRestoredStoreSetting));
  if (!value || *value == 0) return std::optional<std::int64_t>{};
  return value;
}

Result<RestoreMarkReport> mark_store_restored(store::KeyStore& store, const std::string& actor,
                                              const std::string& when, std::int64_t now_ms) {
  RestoreMarkReport out;
  QTW_TRY(store.transact([&]() -> Status {
    out = {};
    QTW_ASSIGN_OR_RETURN(auto ended, store.expire_leases(std::numeric_limits<std::int64_t>::max()));
    out.leases_ended = ended.size();
    store::KeyFilter f;
    f.tier = KeyTier::Explorer;
    f.state = KeyState::kAvailable;
    QTW_ASSIGN_OR_RETURN(auto available, store.list_keys(f));
    std::vector<Pubkey> keys;
    keys.reserve(available.size());
    for (const auto& k : available) keys.push_back(k.pubkey);
    if (!keys.empty()) {
      QTW_TRY(store.transition_many(keys, KeyState::kAvailable, KeyState::kUsed,
                                    "restored store: may have been handed out after the copy"));
    }
    out.available_ended = keys.size();
    QTW_ASSIGN_OR_RETURN(auto since, restored_since(store));
    if (!since) QTW_TRY(store.put_setting(kRestoredStoreSetting, now_ms));
    store::AuditRecord note;
    note.actor = actor;
    note.action = "leases.ended";
    note.detail = std::to_string(out.leases_ended) + " Explorer lease(s) and " +
                  std::to_string(out.available_ended) + " available Explorer(s) " + when +
                  " count as used: the store they were copied from may have signed with them "
                  "after the copy (I2); no Explorer is created before the chain is scanned past "
                  "each Bank's next index";
    return store.append_audit(note).map([](std::int64_t) {});
  }));
  return out;
}

std::uint32_t default_restore_explorer_gap(std::uint32_t min_explorer_keys,
                                           std::uint32_t explorer_keys_to_create,
                                           std::uint32_t fill_up_to) {
  std::uint64_t per_cycle = std::max(min_explorer_keys, explorer_keys_to_create);
  if (fill_up_to > 0) per_cycle = (per_cycle + fill_up_to - 1) / fill_up_to * fill_up_to;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(
      std::max<std::uint64_t>(100, 4 * per_cycle), std::numeric_limits<std::uint32_t>::max()));
}

Result<std::optional<RestoreScanReport>> reconcile_restored_store(
    store::KeyStore& store, rpc::RpcClient& rpc, const BankExplorerPubkeyOf& explorer,
    std::uint32_t gap) {
  QTW_ASSIGN_OR_RETURN(auto since, restored_since(store));
  if (!since) return std::optional<RestoreScanReport>{};
  RestoreScanReport report;
  report.marked_at_ms = *since;
  report.gap = gap;
  store::KeyFilter f;
  f.tier = KeyTier::Bank;
  QTW_ASSIGN_OR_RETURN(auto banks, store.list_keys(f));
  std::sort(banks.begin(), banks.end(), [](const auto& a, const auto& b) {
    return a.bank_index.value_or(0) < b.bank_index.value_or(0);
  });
  // Read the chain first (no store transaction held across RPC), then write
  // everything at once; the Banks' next indexes are checked again inside.
  std::vector<std::vector<ScannedExplorer>> scanned;
  for (const auto& b : banks) {
    if (!b.bank_index) continue;
    const std::uint32_t bank_index = *b.bank_index;
    QTW_ASSIGN_OR_RETURN(auto found,
                         scan_explorers(
                             rpc, [&](std::uint32_t j) { return explorer(bank_index, j); },
                             b.next_child_index, gap));
    RestoredBank rb;
    rb.bank_index = bank_index;
    rb.bank = b.pubkey;
    rb.first_index = b.next_child_index;
    rb.reserved = static_cast<std::uint32_t>(found.size());
    for (const auto& e : found) {
      if (e.lamports > 0) {
        ++rb.funded;
        rb.lamports += e.lamports;
      } else if (e.seen) {
        ++rb.retired;
      } else {
        ++rb.dropped;
      }
    }
    report.banks.push_back(rb);
    scanned.push_back(std::move(found));
  }
  bool already = false;
  QTW_TRY(store.transact([&]() -> Status {
    QTW_ASSIGN_OR_RETURN(auto still, restored_since(store));
    if (!still) {
      already = true;  // another balancer finished it meanwhile
      return {};
    }
    for (std::size_t i = 0; i < report.banks.size(); ++i) {
      QTW_ASSIGN_OR_RETURN(auto bank, store.get_key(report.banks[i].bank));
      const std::uint32_t bank_index = report.banks[i].bank_index;
      QTW_TRY(place_scanned_explorers(
          store, bank.id, scanned[i], [&](std::uint32_t j) { return explorer(bank_index, j); },
          "restored store"));
    }
    QTW_TRY(store.put_setting(kRestoredStoreSetting, 0));
    std::string detail =
        "scanned every Bank past its next Explorer index (gap " + std::to_string(gap) + "): ";
    const auto lines = describe_restore_scan(report);
    for (std::size_t i = 0; i < lines.size(); ++i) detail += (i > 0 ? "; " : "") + lines[i];
    return store
        .append_audit(store::AuditRecord{0, 0, "balancer", "wallet.restore_scan", std::nullopt,
                                         std::nullopt, detail})
        .map([](auto) {});
  }));
  if (already) return std::optional<RestoreScanReport>{};
  return std::optional<RestoreScanReport>{std::move(report)};
}

std::vector<std::string> describe_restore_scan(const RestoreScanReport& report) {
  std::vector<std::string> out;
  for (const auto& b : report.banks) {
    std::string line = "bank " + std::to_string(b.bank_index) + ": ";
    if (b.reserved == 0) {
      line += "nothing at or after index " + std::to_string(b.first_index);
    } else {
      line += "Explorers " + std::to_string(b.first_index) + ".." +
              std::to_string(b.first_index + b.reserved - 1) + " found after the copy (" +
              std::to_string(b.funded) + " holding lamports -> used, " + std::to_string(b.retired) +
              " drained -> retired, " + std::to_string(b.dropped) + " never funded -> dropped)";
    }
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace qtw::wallet
