// qtw audit verify | tail, qtw backup (docs/ARCHITECTURE.md "Audit log",
// docs/MULTI_HOST.md "Backups").
#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "qtw/solana/encoding.h"
#include "qtw/store/audit_chain.h"
#include "qtw/store/open_store.h"
#include "qtw/store/sqlite_store.h"

namespace qtw::cli {
namespace {

using nlohmann::json;

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
  auto report = store::backup_sqlite_store(path, outfile, options);
  if (!report) return report_error(report.error());
  if (global.json) {
    std::cout << json{{"store", path}, {"outfile", outfile}, {"bytes", report->bytes},
                      {"pages", report->pages}}
                     .dump()
              << "\n";
  } else {
    std::cout << "backed up " << path << " to " << outfile << " (" << report->bytes
              << " bytes, mode 0600, integrity checked)\n";
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
      "A consistent online copy of a SQLite store (safe while `qtw serve` runs), mode 0600. "
      "PostgreSQL stores: use pg_dump or PITR (docs/MULTI_HOST.md)");
  backup->add_option("-o,--outfile", args->outfile, "The copy to create")->required();
  backup->add_flag("--force", args->force, "Replace the file if it exists");
  backup->callback([&global, args] { global.exit_code = run_backup(global, args->outfile, args->force); });
}

}  // namespace qtw::cli
