// qtw audit verify | tail, qtw backup (docs/ARCHITECTURE.md "Audit log",
// docs/MULTI_HOST.md "Backups").
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "qtw/solana/encoding.h"
#include "qtw/store/audit_chain.h"
#include "qtw/store/open_store.h"
#include "qtw/store/sqlite_store.h"
#include "qtw/wallet/chain_scan.h"

namespace qtw::cli {
namespace {

using nlohmann::json;

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string utc_time(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

Result<std::unique_ptr<store::KeyStore>> open_for_audit(const GlobalOptions& global) {
  QTW_ASSIGN_OR_RETURN(auto config, load_effective_config(global));
  return open_wallet_store(config, /*create=*/false);
}

int run_verify(const GlobalOptions& global) {
  auto st = open_for_audit(global);
  if (!st) return report_error(st.error());
  auto report = store::verify_audit_chain(**st);
  if (!report) return report_error(report.error());
  const bool intact = !report->first_bad_id;
  if (global.json) {
    json out{{"intact", intact},
             {"entries_checked", report->entries},
             {"tail_id", report->tail_id},
             {"tail_hash", store::audit_hash_hex(report->tail_hash)}};
    out["first_bad_id"] = intact ? json(nullptr) : json(*report->first_bad_id);
    out["problem"] = report->problem;
    std::cout << out.dump() << "\n";
  } else if (intact) {
    std::cout << "audit log intact: " << report->entries << " entries, tail #" << report->tail_id
              << " " << store::audit_hash_hex(report->tail_hash)
              << "\n(record the tail elsewhere: deleting entries at the very end is only "
                 "visible against it)\n";
  }
  if (!intact) {
    std::cerr << "qtw: error: audit log broken at entry " << *report->first_bad_id << ": "
              << report->problem << " (" << report->entries - 1 << " entries before it verified)\n";
    return 2;  // the store's data failed a check (as kCorrupt)
  }
  return 0;
}

int run_tail(const GlobalOptions& global, std::size_t count) {
  auto st = open_for_audit(global);
  if (!st) return report_error(st.error());
  auto rows = (*st)->list_audit_tail(count);
  if (!rows) return report_error(rows.error());
  if (global.json) {
    json out = json::array();
    for (const auto& e : *rows) {
      const auto& r = e.record;
      json j{{"id", r.id}, {"at_ms", r.at_ms}, {"actor", r.actor}, {"action", r.action},
             {"detail", r.detail}};
      j["pubkey"] = r.pubkey ? json(r.pubkey->to_base58()) : json(nullptr);
      j["intent_id"] = r.intent_id ? json(*r.intent_id) : json(nullptr);
      j["prev_hash"] = e.chained ? json(store::audit_hash_hex(e.prev_hash)) : json(nullptr);
      j["hash"] = e.chained ? json(store::audit_hash_hex(e.hash)) : json(nullptr);
      out.push_back(std::move(j));
    }
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& e : *rows) {
    const auto& r = e.record;
    table.push_back({"#" + std::to_string(r.id), utc_time(r.at_ms), r.actor, r.action,
                     r.pubkey ? r.pubkey->to_base58() : "-",
                     r.intent_id ? std::to_string(*r.intent_id) : "-", r.detail,
                     e.chained ? store::audit_hash_hex(e.hash).substr(0, 12) : "(unchained)"});
  }
  std::cout << render_table({"id", "time (UTC)", "actor", "action", "pubkey", "intent", "detail",
                             "hash"},
                            table);
  return 0;
}

// qtw end-leases: the same for a store restored by other means.
int run_end_leases(const GlobalOptions& global, bool yes) {
  if (!yes) {
    return usage_error(
        "end-leases ends every Explorer lease in the store (leased -> used; a running daemon's "
        "Landers can no longer sign with theirs): run it on a store just restored from a copy, "
        "before any daemon starts, and confirm with --yes");
  }
  auto config = load_effective_config(global);
  if (!config) return report_error(config.error());
  auto st = open_wallet_store(*config, /*create=*/false);
  if (!st) return report_error(st.error());
  auto ended = wallet::mark_store_restored(**st, "qtw end-leases",
                                           "held when the store was restored", unix_now_ms());
  if (!ended) return report_error(ended.error());
  if (global.json) {
    std::cout << json{{"leases_ended", ended->leases_ended},
                      {"available_ended", ended->available_ended},
                      {"restored", true}}
                     .dump()
              << "\n";
  } else {
    std::cout << ended->leases_ended << " Explorer lease(s) and " << ended->available_ended
              << " available Explorer(s) ended (now used; the balancer drains them). Marked "
                 "restored: the next balancer cycle scans the chain past each Bank's next "
                 "Explorer index before it creates any Explorer\n";
  }
  return 0;
}

int run_backup(const GlobalOptions& global, const std::string& outfile, bool force) {
  auto config = load_effective_config(global);
  if (!config) return report_error(config.error());
  const std::string& location = config->store.path;
  if (store::is_postgres_location(location)) {
    return usage_error(
        "qtw backup copies SQLite stores; this store is PostgreSQL (" + location.substr(0, 13) +
        "...). Back it up with the server's tools: `pg_dump --format=custom` for a consistent "
        "logical copy, or a base backup + WAL archiving for point-in-time recovery (see "
        "docs/MULTI_HOST.md, \"Backups\")");
  }
  std::string path = location;
  if (path.rfind("sqlite:", 0) == 0) path = path.substr(7);
  store::SqliteBackupOptions options;
  options.overwrite = force;
  wallet::RestoreMarkReport ended;
  // A lease in the copy may be signed with after the copy was taken (the
  // live daemon goes on; its sign-once guard lands in the live store, not
  // here): a daemon that adopted it from a restored copy could sign a second
  // time (I2). So in the copy every lease has ended: leased -> used, and the
  // balancer recovers what is left on those Explorers. Never back to
  // available (docs/DAEMON.md, "Backups and leases").
  // The same for Explorers available at the copy (the live daemon may lease
  // and sign with them after it), and the copy is marked restored: its first
  // balancer cycle scans the chain for the Explorers created after the copy
  // before it derives any index again.
  options.before_publish = [&ended](const std::filesystem::path& copy) -> Status {
    QTW_ASSIGN_OR_RETURN(auto copied, store::open_store(copy.string()));
    QTW_ASSIGN_OR_RETURN(ended, wallet::mark_store_restored(*copied, "qtw backup",
                                                            "held when this copy was taken",
                                                            unix_now_ms()));
    return {};
  };
  auto report = store::backup_sqlite_store(path, outfile, options);
  if (!report) return report_error(report.error());
  if (global.json) {
    std::cout << json{{"store", path},           {"outfile", outfile},
                      {"bytes", report->bytes},  {"pages", report->pages},
                      {"leases_ended", ended.leases_ended},
                      {"available_ended", ended.available_ended}}
                     .dump()
              << "\n";
  } else {
    std::cout << "backed up " << path << " to " << outfile << " (" << report->bytes
              << " bytes, mode 0600, integrity checked";
    if (ended.leases_ended + ended.available_ended > 0) {
      std::cout << "; " << ended.leases_ended << " Explorer lease(s) and "
                << ended.available_ended << " available Explorer(s) at the copy count as used in it";
    }
    std::cout << "; marked restored: its first balancer cycle scans the chain for Explorers "
                 "created after the copy";
    std::cout << ")\n";
  }
  return 0;
}

}  // namespace

void register_data_commands(CLI::App& app, GlobalOptions& global) {
  auto* audit = app.add_subcommand(
      "audit", "The hash-chained audit log: verify the chain, show the latest entries");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand(
      "verify",
      "Check every entry's hash and its link to the one before; names the first bad entry. "
      "Exit 0 intact, 2 broken (edited, deleted, inserted or reordered), 1 store unreachable");
  verify->callback([&global] { global.exit_code = run_verify(global); });
  auto count = std::make_shared<std::size_t>(20);
  auto* tail = audit->add_subcommand("tail", "The latest audit entries, oldest first");
  tail->add_option("-n,--lines", *count, "How many entries (default 20)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  tail->callback([&global, count] { global.exit_code = run_tail(global, *count); });

  struct BackupArgs {
    std::string outfile;
    bool force = false;
  };
  auto args = std::make_shared<BackupArgs>();
  auto* backup = app.add_subcommand(
      "backup",
      "A consistent online copy of a SQLite store (safe while `qtw serve` runs), mode 0600, "
      "marked restored: in it every leased or available Explorer counts as used, and its first "
      "balancer cycle scans the chain for Explorers created after the copy before creating any. "
      "PostgreSQL stores: use pg_dump or PITR (docs/MULTI_HOST.md)");
  backup->add_option("-o,--outfile", args->outfile, "The copy to create")->required();
  backup->add_flag("--force", args->force, "Replace the file if it exists");
  backup->callback([&global, args] { global.exit_code = run_backup(global, args->outfile, args->force); });

  auto yes = std::make_shared<bool>(false);
  auto* end_leases = app.add_subcommand(
      "end-leases",
      "After restoring a store from a copy (pg_dump, PITR, a file copy): every leased or "
      "available Explorer in it ends as used, never available (the original may have signed "
      "with them after the copy), and the store is marked restored: the next balancer cycle "
      "scans the chain for Explorers created after the copy before creating any. Run it before "
      "starting any daemon. `qtw backup` copies already come this way");
  end_leases->add_flag("--yes", *yes, "Confirm: leases held by a running daemon end too");
  end_leases->callback([&global, yes] { global.exit_code = run_end_leases(global, *yes); });
}

}  // namespace qtw::cli
