// qtw status, balance, acquire, release, sweep --to-hodl, resume (README.md, docs/ARCHITECTURE.md).
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "qtw/rpc/rpc_client.h"
#include "qtw/solana/keypair_file.h"
#include "qtw/solana/token.h"
#include "qtw/vault/hot_keys.h"
#include "qtw/vault/vault.h"
#include "qtw/wallet/token_view.h"

namespace qtw::cli {
namespace {

using nlohmann::json;
using store::KeyState;
using store::KeyTier;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Explorer states whose keys may still hold lamports.
bool may_hold_lamports(const store::KeyRecord& k) {
  if (k.tier != KeyTier::Explorer) return true;
  return k.state != KeyState::kRetired && k.state != KeyState::kDropped;
}

// ---- status ----

int run_status(bool no_balances, const GlobalOptions& global) {
  std::string config_used;
  auto config = load_effective_config(global, &config_used);
  if (!config) return report_error(config.error());
  auto st = open_wallet_store(*config, /*create=*/false);
  if (!st) return report_error(st.error());
  auto& store = **st;
  auto counts = store.count_keys();
  if (!counts) return report_error(counts.error());
  auto keys = store.list_keys({});
  if (!keys) return report_error(keys.error());
  auto in_flight = store.list_unresolved_intents();
  if (!in_flight) return report_error(in_flight.error());
  auto nonces = store.list_nonce_accounts();
  if (!nonces) return report_error(nonces.error());
  auto requests = store.list_topup_requests(std::nullopt);
  if (!requests) return report_error(requests.error());
  std::vector<const store::TopupRequestRecord*> live_requests;
  for (const auto& r : *requests) {
    if (store::topup_is_live(r.status)) live_requests.push_back(&r);
  }
  std::map<std::int64_t, std::uint64_t> nonce_lamports;  // by nonce record id
  auto paused_since = wallet::funding_paused_since(store);
  if (!paused_since) return report_error(paused_since.error());
  auto restored_at = wallet::restored_since(store);
  if (!restored_at) return report_error(restored_at.error());

  // Balances of every key that may hold lamports, 100 per getMultipleAccounts.
  // An unreachable node is a warning: the store's view still prints.
  std::vector<const store::KeyRecord*> watched;
  for (const auto& k : *keys) {
    if (may_hold_lamports(k)) watched.push_back(&k);
  }
  std::map<std::int64_t, std::uint64_t> lamports;  // by key id
  struct Holding {
    std::uint64_t amount = 0;
    std::uint64_t lamports = 0;
    std::uint32_t accounts = 0;
  };
  std::map<std::pair<solana::Pubkey, solana::Pubkey>, Holding> tokens;  // (mint, program)
  std::map<std::string, std::uint64_t> tier_total;
  std::string balance_warning;
  bool have_balances = false;
  bool have_tokens = false;
  if (!no_balances) {
    auto read = [&]() -> Status {
      QTW_ASSIGN_OR_RETURN(auto client, rpc::RpcClient::connect(config->rpc.url));
      std::vector<solana::Pubkey> pks;
      pks.reserve(watched.size() + nonces->size());
      for (const auto* k : watched) pks.push_back(k->pubkey);
      for (const auto& n : *nonces) pks.push_back(n.address);
      QTW_ASSIGN_OR_RETURN(auto accounts, client->get_multiple_accounts(pks));
      for (std::size_t i = 0; i < watched.size(); ++i) {
        const std::uint64_t l = accounts[i] ? accounts[i]->lamports : 0;
        lamports[watched[i]->id] = l;
        tier_total[std::string(store::key_tier_name(watched[i]->tier))] += l;
      }
      for (std::size_t i = 0; i < nonces->size(); ++i) {
        const auto& a = accounts[watched.size() + i];
        nonce_lamports[(*nonces)[i].id] = a ? a->lamports : 0;
        tier_total["nonce"] += a ? a->lamports : 0;
      }
      return {};
    };
    if (auto r = read(); r) {
      have_balances = true;
    } else {
      balance_warning = "balances not read from " + config->rpc.url + ": " + r.error().message;
    }
    // The Banks' token holdings, per mint (getTokenAccountsByOwner, both
    // programs). Unreadable: a warning, as the balances.
    auto read_tokens = [&]() -> Status {
      QTW_ASSIGN_OR_RETURN(auto client, rpc::RpcClient::connect(config->rpc.url));
      std::vector<solana::Pubkey> bank_keys;
      for (const auto& k : *keys) {
        if (k.tier == KeyTier::Bank) bank_keys.push_back(k.pubkey);
      }
      QTW_ASSIGN_OR_RETURN(auto view, wallet::read_token_view(*client, bank_keys,
                                                              {.read_mints = false}));
      for (const auto& owned : view.by_owner) {
        for (const auto& t : owned) {
          auto& h = tokens[{t.state.mint, t.program}];
          h.amount += t.state.amount;
          h.lamports += t.lamports;
          ++h.accounts;
        }
      }
      return {};
    };
    if (!have_balances) {
      // The node did not answer the balances: do not wait for it twice.
    } else if (auto r = read_tokens(); r) {
      have_tokens = true;
    } else {
      tokens.clear();
      balance_warning = "the Banks' token accounts not read from " + config->rpc.url + ": " +
                        r.error().message;
    }
  }

  if (global.json) {
    json out;
    out["config"] = config_used.empty() ? json(nullptr) : json(config_used);
    out["store"] = store.describe();
    out["rpc_url"] = config->rpc.url;
    out["funding_paused"] = paused_since->has_value();
    out["funding_paused_since_ms"] = *paused_since ? json(**paused_since) : json(nullptr);
    out["restored"] = restored_at->has_value();
    out["restored_since_ms"] = *restored_at ? json(**restored_at) : json(nullptr);
    json by_tier = json::object();
    for (const auto& c : *counts) {
      by_tier[std::string(store::key_tier_name(c.tier))]
             [std::string(store::key_state_name(c.state))] = c.count;
    }
    out["keys"] = by_tier;
    if (!have_balances) {
      out["balances_lamports"] = nullptr;
    } else {
      std::uint64_t total = 0;
      json b = json::object();
      for (const char* t : {"hodl", "bank", "explorer"}) {
        b[t] = tier_total[t];
        total += tier_total[t];
      }
      b["total"] = total;
      // Nonce accounts (cold HODL) hold their rent deposit; not in "total".
      b["nonce"] = tier_total["nonce"];
      out["balances_lamports"] = b;
    }
    out["warnings"] = balance_warning.empty() ? json::array() : json::array({balance_warning});
    json hot = json::array();
    for (const auto& k : *keys) {
      if (k.tier == KeyTier::Explorer) continue;
      json j{{"tier", store::key_tier_name(k.tier)}, {"pubkey", k.pubkey.to_base58()}};
      j["bank_index"] = k.bank_index ? json(*k.bank_index) : json(nullptr);
      j["watch_only"] = k.watch_only();
      j["lamports"] = have_balances ? json(lamports[k.id]) : json(nullptr);
      hot.push_back(std::move(j));
    }
    out["hodl_and_banks"] = hot;
    json flights = json::array();
    for (const auto& i : *in_flight) {
      flights.push_back({{"signature", i.signature.to_base58()},
                         {"kind", store::intent_kind_name(i.kind)},
                         {"status", store::intent_status_name(i.status)},
                         {"last_valid_block_height", i.last_valid_block_height}});
    }
    out["in_flight"] = flights;
    json na = json::array();
    for (const auto& n : *nonces) {
      json j{{"address", n.address.to_base58()},
             {"authority", n.hodl.to_base58()},
             {"funding_bank", n.funding_bank.to_base58()},
             {"status", store::nonce_account_status_name(n.status)}};
      j["lamports"] = !have_balances ? json(nullptr) : json(nonce_lamports[n.id]);
      na.push_back(std::move(j));
    }
    out["nonce_accounts"] = na;
    json tr = json::array();
    for (const auto* r : live_requests) {
      std::uint64_t total = 0;
      for (const auto& t : r->transfers) total += t.lamports;
      tr.push_back({{"id", r->id},
                    {"status", store::topup_status_name(r->status)},
                    {"hodl", r->hodl.to_base58()},
                    {"banks", r->transfers.size()},
                    {"total_lamports", total}});
    }
    out["topup_requests"] = tr;
    json stranded = json::array();
    for (const auto& k : *keys) {
      if (k.state == KeyState::kStranded) {
        stranded.push_back({{"pubkey", k.pubkey.to_base58()}, {"reason", k.stranded_reason}});
      }
    }
    out["stranded"] = stranded;
    if (!have_tokens) {
      out["tokens"] = nullptr;
    } else {
      json held = json::array();
      for (const auto& [key, h] : tokens) {
        held.push_back({{"mint", key.first.to_base58()},
                        {"program", key.second.to_base58()},
                        {"amount", h.amount},
                        {"accounts", h.accounts},
                        {"lamports", h.lamports}});
      }
      out["tokens"] = held;
    }
    std::cout << out.dump() << "\n";
    if (!balance_warning.empty()) std::cerr << "warning: " << balance_warning << "\n";
    return 0;
  }

  std::cout << "config: " << (config_used.empty() ? "(none found: built-in defaults)" : config_used)
            << "\nstore:  " << store.describe() << "\nrpc:    " << config->rpc.url << "\n";
  if (*paused_since) {
    std::cout << "funding: PAUSED since "
              << format_local_time(**paused_since)
              << " (a sweep): no Bank top-up, no new Explorers until `qtw resume`\n";
  }
  if (*restored_at) {
    std::cout << "restored: marked since " << format_local_time(**restored_at)
              << " (a copy of another store): no new Explorers until a balancer cycle has "
                 "scanned the chain past each Bank's next Explorer index\n";
  }
  std::cout << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : *counts) {
    rows.push_back({std::string(store::key_tier_name(c.tier)),
                    std::string(store::key_state_name(c.state)), std::to_string(c.count)});
  }
  std::cout << render_table({"TIER", "STATE", "KEYS"}, rows) << "\n";
  if (have_balances) {
    rows.clear();
    for (const auto& k : *keys) {
      if (k.tier == KeyTier::Explorer) continue;
      std::string name(store::key_tier_name(k.tier));
      if (k.bank_index) name += " " + std::to_string(*k.bank_index);
      if (k.watch_only()) name += " (watch-only)";
      rows.push_back({name, k.pubkey.to_base58(), format_sol(lamports[k.id])});
    }
    rows.push_back({"explorers", "(all live)", format_sol(tier_total["explorer"])});
    std::cout << render_table({"KEY", "PUBKEY", "BALANCE"}, rows) << "\n";
    if (!tokens.empty()) {
      rows.clear();
      for (const auto& [key, h] : tokens) {
        rows.push_back({key.first.to_base58(),
                        key.second == solana::token_program_id() ? "token" : "token-2022",
                        std::to_string(h.amount), std::to_string(h.accounts),
                        format_sol(h.lamports)});
      }
      std::cout << "Banks' tokens:\n"
                << render_table({"MINT", "PROGRAM", "AMOUNT", "ACCOUNTS", "RENT"}, rows) << "\n";
    }
  }
  bool any_stranded = false;
  for (const auto& k : *keys) {
    if (k.state != KeyState::kStranded) continue;
    if (!any_stranded) std::cout << "stranded Explorers (not retried; see docs/BAD_INPUTS.md):\n";
    any_stranded = true;
    std::cout << "  " << k.pubkey.to_base58() << ": " << k.stranded_reason << "\n";
  }
  if (any_stranded) std::cout << "\n";
  if (!nonces->empty()) {
    rows.clear();
    for (const auto& n : *nonces) {
      rows.push_back({n.address.to_base58(), n.hodl.to_base58(),
                      std::string(store::nonce_account_status_name(n.status)),
                      !have_balances ? "-" : format_sol(nonce_lamports[n.id])});
    }
    std::cout << "nonce accounts (cold HODL top-ups):\n"
              << render_table({"NONCE ACCOUNT", "AUTHORITY (HODL)", "STATUS", "BALANCE"}, rows)
              << "\n";
  }
  if (!live_requests.empty()) {
    rows.clear();
    for (const auto* r : live_requests) {
      std::uint64_t total = 0;
      for (const auto& t : r->transfers) total += t.lamports;
      rows.push_back({std::to_string(r->id), std::string(store::topup_status_name(r->status)),
                      std::to_string(r->transfers.size()), format_sol(total)});
    }
    std::cout << "top-up requests waiting for the offline HODL signature:\n"
              << render_table({"ID", "STATUS", "BANKS", "TOTAL"}, rows) << "\n";
  }
  if (in_flight->empty()) {
    std::cout << "in flight: none\n";
  } else {
    rows.clear();
    for (const auto& i : *in_flight) {
      rows.push_back({i.signature.to_base58(), std::string(store::intent_kind_name(i.kind)),
                      std::string(store::intent_status_name(i.status)),
                      std::to_string(i.last_valid_block_height)});
    }
    std::cout << "in flight:\n"
              << render_table({"SIGNATURE", "KIND", "STATUS", "LAST VALID HEIGHT"}, rows);
  }
  if (!balance_warning.empty()) std::cerr << "warning: " << balance_warning << "\n";
  return 0;
}

// ---- balance ----

json stranded_json(const std::vector<wallet::StrandedExplorer>& stranded) {
  json out = json::array();
  for (const auto& s : stranded) out.push_back({{"pubkey", s.pubkey.to_base58()}, {"reason", s.reason}});
  return out;
}

// null when the cycle ran no restore scan; {"failed": why} when it could
// not; otherwise the gap and per Bank what was found after the copy.
json restore_scan_json(const wallet::BalanceReport& r) {
  if (!r.restore_scan_failed.empty()) return json{{"failed", r.restore_scan_failed}};
  if (!r.restore_scan) return nullptr;
  json banks = json::array();
  for (const auto& b : r.restore_scan->banks) {
    banks.push_back({{"bank_index", b.bank_index},
                     {"bank", b.bank.to_base58()},
                     {"first_index", b.first_index},
                     {"reserved", b.reserved},
                     {"funded", b.funded},
                     {"retired", b.retired},
                     {"dropped", b.dropped},
                     {"lamports", b.lamports}});
  }
  return json{{"gap", r.restore_scan->gap}, {"banks", banks}};
}

json report_json(const wallet::BalanceReport& r, std::chrono::milliseconds unlock) {
  return json{{"intents_resumed", r.intents_resumed},
              {"explorers_recovered", r.explorers_recovered},
              {"lamports_recovered", r.lamports_recovered},
              {"explorers_retired_empty", r.explorers_retired_empty},
              {"banks_funded", r.banks_funded},
              {"lamports_to_banks", r.lamports_to_banks},
              {"explorers_created", r.explorers_created},
              {"lamports_to_explorers", r.lamports_to_explorers},
              {"explorers_dropped", r.explorers_dropped},
              {"fees_lamports", r.fees_lamports},
              {"signatures_landed", r.signatures_landed},
              {"transactions_sent", r.transactions_sent},
              {"transactions_confirmed", r.transactions_confirmed},
              {"transactions_failed", r.transactions_failed},
              {"transactions_expired", r.transactions_expired},
              {"transactions_unknown", r.transactions_unknown},
              {"leases_expired", r.leases_expired},
              {"banks_swept", r.banks_swept},
              {"lamports_to_hodl", r.lamports_to_hodl},
              {"bank_sweep_signatures", r.bank_sweep_signatures},
              {"explorers_still_leased", r.explorers_still_leased},
              {"funding_paused", r.funding_paused},
              {"interrupted", r.interrupted},
              {"signatures", r.signatures},
              {"unsigned_requests", r.unsigned_requests},
              {"topup_requests", r.topup_requests},
              {"warnings", r.warnings},
              {"explorers_stranded", r.explorers_stranded},
              {"stranded", stranded_json(r.stranded)},
              {"recovery_batches_split", r.recovery_batches_split},
              {"tokens_recovered", r.tokens_recovered},
              {"tokens_to_hodl", r.tokens_to_hodl},
              {"token_accounts_closed", r.token_accounts_closed},
              {"rent_recovered_lamports", r.rent_recovered_lamports},
              {"unmovable_token_accounts", r.unmovable_token_accounts},
              {"restore_scan", restore_scan_json(r)},
              {"unlock_ms", unlock.count()},
              {"duration_ms", (r.duration + unlock).count()}};
}

void print_report(const wallet::BalanceReport& r, std::chrono::milliseconds unlock) {
  const std::uint32_t landed = r.transactions_confirmed + r.transactions_failed;
  std::vector<std::vector<std::string>> rows = {
      {"recovered", std::to_string(r.explorers_recovered) + " Explorers",
       format_sol(r.lamports_recovered)},
      {"retired empty", std::to_string(r.explorers_retired_empty) + " Explorers", "-"},
      {"funded Banks", std::to_string(r.banks_funded), format_sol(r.lamports_to_banks)},
      {"created", std::to_string(r.explorers_created) + " Explorers",
       format_sol(r.lamports_to_explorers)},
      {"dropped", std::to_string(r.explorers_dropped) + " Explorers", "-"},
      {"stranded", std::to_string(r.explorers_stranded) + " Explorers", "-"},
      {"token accounts closed", std::to_string(r.token_accounts_closed),
       format_sol(r.rent_recovered_lamports)},
      // The fee is per signature: a recovery carries one per Explorer.
      {"fees", std::to_string(r.signatures_landed) + " signatures in " + std::to_string(landed) +
                   " landed tx",
       std::to_string(r.fees_lamports) + " lamports"},
  };
  std::cout << render_table({"STEP", "COUNT", "AMOUNT"}, rows);
  std::cout << "transactions: " << r.transactions_sent << " sent this run";
  if (r.intents_resumed > 0) std::cout << " + " << r.intents_resumed << " resumed from an earlier run";
  std::cout << "; " << r.transactions_confirmed << " confirmed, " << r.transactions_failed
            << " failed, " << r.transactions_expired << " expired, " << r.transactions_unknown
            << " unresolved\n";
  if (r.leases_expired > 0) std::cout << r.leases_expired << " expired lease(s) -> used\n";
  if (r.restore_scan) {
    std::cout << "restored store: scanned the chain past each Bank's next Explorer index (gap "
              << r.restore_scan->gap << "); the mark is cleared\n";
    for (const auto& line : wallet::describe_restore_scan(*r.restore_scan)) {
      std::cout << "  " << line << "\n";
    }
  }
  for (const auto& [mint, amount] : r.tokens_recovered) {
    std::cout << "tokens recovered: " << amount << " of mint " << mint << "\n";
  }
  for (const auto& [mint, amount] : r.tokens_to_hodl) {
    std::cout << "tokens to HODL: " << amount << " of mint " << mint << "\n";
  }
  for (const auto& u : r.unmovable_token_accounts) std::cout << "token account left: " << u << "\n";
  for (const auto& s : r.signatures) std::cout << "signature " << s << "\n";
  for (const auto& u : r.unsigned_requests) std::cout << "unsigned request " << u << "\n";
  for (const auto& w : r.warnings) std::cout << "warning: " << w << "\n";
  std::cout << "took " << (r.duration + unlock).count() << " ms (unlock " << unlock.count()
            << " ms)\n";
}

// Unresolved intents in the store: what the next run resumes.
std::size_t unresolved_count(wallet::KeyManager& km) {
  auto in_flight = km.store().list_unresolved_intents();
  return in_flight ? in_flight->size() : 0;
}

int run_balance(const std::optional<std::string>& passphrase_file, const GlobalOptions& global) {
  // Ctrl-C from here on: finish the current step, free the leader slot,
  // say what the next run resumes (exit 130).
  install_interrupt_flag();
  auto config = load_effective_config(global);
  if (!config) return report_error(config.error());
  const auto started = std::chrono::steady_clock::now();
  auto options = wallet::key_manager_options(*config);
  options.balancer.interrupt = interrupt_flag();
  auto km = open_key_manager(*config, passphrase_file, std::move(options));
  if (!km) return report_error(km.error());
  const auto unlock = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (interrupt_flag()->load()) {
    (void)(*km)->stop();
    return print_error("interrupted before the cycle began; nothing was sent", 130);
  }
  if (auto lead = (*km)->take_leadership(); !lead) {
    return report_error(lead.error());
  }
  auto report = (*km)->balance();
  const std::size_t to_resume = unresolved_count(**km);
  auto stopped = (*km)->stop();  // frees the leader slot at once
  if (!report) return report_error(report.error());
  if (!stopped) return report_error(stopped.error());
  if (global.json) {
    json out = report_json(*report, unlock);
    out["transactions_to_resume"] = to_resume;
    std::cout << out.dump() << "\n";
  } else {
    print_report(*report, unlock);
  }
  if (report->interrupted || interrupt_flag()->load()) {
    return print_error("interrupted: stopped after the current step; " +
                           std::to_string(to_resume) +
                           " transaction(s) will be resumed by the next `qtw balance` or "
                           "`qtw serve`",
                       130);
  }
  // Failed or unresolved transactions are an operational failure (exit 1).
  return report->transactions_failed + report->transactions_unknown > 0 ? 1 : 0;
}

// ---- acquire / release ----

// The lease owner of shell acquisitions: fixed, so `qtw release` (another
// process) can end the lease.
store::LeaseOwner shell_owner() { return store::LeaseOwner{"qtw-cli", 0, "shell"}; }

struct AcquireArgs {
  std::optional<std::string> outfile;
  std::optional<std::string> passphrase_file;
  std::uint32_t lease_ms = 0;  // 0 = [pool] lease_timeout_ms
};

int run_acquire(const AcquireArgs& args, const GlobalOptions& global) {
  auto config = load_effective_config(global);
  if (!config) return report_error(config.error());
  // Unseal first when the secret is wanted, so a wrong passphrase leases nothing.
  std::unique_ptr<vault::HotKeys> hot;
  std::unique_ptr<store::KeyStore> store;
  {
    auto st = open_wallet_store(*config, /*create=*/false);
    if (!st) return report_error(st.error());
    store = std::move(*st);
  }
  if (args.outfile) {
    auto passphrase = load_cli_passphrase(args.passphrase_file);
    if (!passphrase) return report_error(passphrase.error());
    auto wallet = store->get_wallet();
    if (!wallet) return report_error(wallet.error());
    auto seed = [&] {
      Spinner spinner("unlocking the master seed (Argon2id)");
      return vault::open(wallet->sealed_seed, *passphrase, vault::kPurposeMasterSeed);
    }();
    if (!seed) return report_error(seed.error());
    auto h = vault::HotKeys::create(std::move(*seed));
    if (!h) return report_error(h.error());
    hot = std::move(*h);
    if (std::filesystem::exists(*args.outfile)) {
      return usage_error(*args.outfile + " already exists; refusing to overwrite a keypair file");
    }
  }
  const std::uint32_t lease_ms = args.lease_ms ? args.lease_ms : config->pool.lease_timeout_ms;
  auto claimed = store->claim_explorers(shell_owner(), 1, unix_ms() + lease_ms);
  if (!claimed) return report_error(claimed.error());
  if (claimed->empty()) {
    return report_error(Error{ErrorCode::kPoolEmpty,
                              "no available Explorer; run `qtw balance` to create some", 0});
  }
  const auto& k = claimed->front();
  if (hot) {
    auto kp = hot->explorer_keypair(*k.bank_index, *k.explorer_index);
    if (!kp) return report_error(kp.error());
    // The secret leaves the wallet: the key counts as signed from here on,
    // so `release --keep` can never put it back in the pool (I2).
    if (auto s = store->mark_signed(k.pubkey, k.lease->lease_id); !s) return report_error(s.error());
    if (auto w = solana::write_keypair_file(*args.outfile, *kp); !w) {
      (void)store->release_explorer(k.pubkey, k.lease->lease_id, /*retire=*/true);
      return report_error(w.error());
    }
  }
  const std::int64_t deadline = k.lease ? k.lease->deadline_ms : 0;
  if (global.json) {
    json out{{"pubkey", k.pubkey.to_base58()},
             {"lease_id", k.lease ? k.lease->lease_id : 0},
             {"deadline_ms", deadline}};
    out["keypair_file"] = args.outfile ? json(*args.outfile) : json(nullptr);
    std::cout << out.dump() << "\n";
  } else {
    std::cout << k.pubkey.to_base58() << "\n";
    std::cerr << "leased until " << format_deadline(deadline, unix_ms())
              << "; return it with `qtw release " << k.pubkey.to_base58()
              << " --retire` (it signed) or `--keep` (it signed nothing)\n";
  }
  return 0;
}

int run_release(const std::string& pubkey_text, bool retire, bool keep,
                const GlobalOptions& global) {
  if (retire == keep) return usage_error("say --retire (it signed) or --keep (it signed nothing)");
  auto pk = solana::Pubkey::from_base58(pubkey_text);
  if (!pk) return report_error(with_context(pk.error(), "release"));
  auto config = load_effective_config(global);
  if (!config) return report_error(config.error());
  auto st = open_wallet_store(*config, /*create=*/false);
  if (!st) return report_error(st.error());
  auto key = (*st)->get_key(*pk);
  if (!key) return report_error(key.error());
  if (key->tier != KeyTier::Explorer) {
    return usage_error(pubkey_text + " is a " + std::string(store::key_tier_name(key->tier)) +
                       " key, not an Explorer");
  }
  // Refusals of what was asked are bad requests (exit 2), not failures.
  if (key->state != KeyState::kLeased || !key->lease) {
    return usage_error("Explorer " + pk->to_base58() + " is " +
                       std::string(store::key_state_name(key->state)) +
                       ", not leased (an expired lease already counts as used)");
  }
  if (auto r = (*st)->release_explorer(*pk, key->lease->lease_id, retire); !r) {
    if (r.error().code == ErrorCode::kConflict || r.error().code == ErrorCode::kIllegalTransition) {
      return usage_error(r.error().message);
    }
    return report_error(r.error());
  }
  if (global.json) {
    std::cout << json{{"pubkey", pubkey_text}, {"state", retire ? "used" : "available"}}.dump()
              << "\n";
  } else {
    std::cout << pubkey_text << " -> " << (retire ? "used (will be recovered)" : "available")
              << "\n";
  }
  return 0;
}

// ---- sweep ----

int run_sweep(const std::optional<std::string>& hodl_text,
              const std::optional<std::string>& passphrase_file, bool yes,
              const GlobalOptions& global) {
  auto config = load_effective_config(global);
  if (!config) return report_error(config.error());
  std::optional<solana::Pubkey> hodl;
  if (hodl_text) {
    auto pk = solana::Pubkey::from_base58(*hodl_text);
    if (!pk) return report_error(with_context(pk.error(), "--hodl"));
    hodl = *pk;
  }
  if (!yes) {
    // Show where everything goes and ask for it to be typed back.
    auto st = open_wallet_store(*config, /*create=*/false);
    if (!st) return report_error(st.error());
    std::optional<store::KeyRecord> dest;
    if (hodl) {
      auto k = (*st)->get_key(*hodl);
      if (k && k->tier == KeyTier::Hodl) dest = *k;
    } else {
      store::KeyFilter f;
      f.tier = KeyTier::Hodl;
      f.limit = 1;
      auto hodls = (*st)->list_keys(f);
      if (!hodls) return report_error(hodls.error());
      if (!hodls->empty()) dest = hodls->front();
    }
    if (!dest) {
      return report_error(Error{ErrorCode::kNotFound,
                                (hodl ? hodl->to_base58() + " is not a HODL key of this wallet"
                                      : std::string("no HODL key registered to sweep to")) +
                                    "; add one with `qtw hodl add --pubkey PK` (or --keypair F)",
                                0});
    }
    const std::string key = dest->pubkey.to_base58();
    std::cerr << "sweep drains every Explorer into its Bank and every Bank into HODL key\n  "
              << key << (dest->watch_only() ? "  (watch-only)" : "  (sealed)")
              << "\ntaking the wallet out of service. Type 'sweep to " << key.substr(0, 8)
              << "' to continue (--yes skips this): " << std::flush;
    std::string line;
    std::getline(std::cin, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line != "sweep to " + key.substr(0, 8)) {
      return usage_error("confirmation not given; nothing swept");
    }
  }
  const auto started = std::chrono::steady_clock::now();
  auto km = open_key_manager(*config, passphrase_file);
  if (!km) return report_error(km.error());
  const auto unlock = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (auto lead = (*km)->take_leadership(); !lead) {
    return report_error(lead.error());
  }
  auto report = (*km)->sweep_to_hodl(hodl);
  auto stopped = (*km)->stop();
  if (!report) return report_error(report.error());
  if (!stopped) return report_error(stopped.error());
  if (global.json) {
    std::cout << report_json(*report, unlock).dump() << "\n";
  } else {
    print_report(*report, unlock);
    std::cout << "swept " << report->banks_swept
              << " Bank(s): " << format_sol(report->lamports_to_hodl) << " to HODL\n";
    for (const auto& sig : report->bank_sweep_signatures) {
      std::cout << "bank sweep signature " << sig << "\n";
    }
    std::cout << "funding is paused: `qtw balance` and `qtw serve` recover Explorers but fund "
                 "nothing until `qtw resume`\n";
    if (report->explorers_still_leased > 0) {
      std::cout << "warning: " << report->explorers_still_leased
                << " Explorer(s) still leased; run sweep again once their leases end\n";
    }
  }
  const auto& c = *report;
  return c.transactions_failed + c.transactions_unknown > 0 ? 1 : 0;
}

int run_resume(const GlobalOptions& global) {
  auto config = load_effective_config(global);
  if (!config) return report_error(config.error());
  auto st = open_wallet_store(*config, /*create=*/false);
  if (!st) return report_error(st.error());
  auto was = wallet::resume_funding(**st, "cli");
  if (!was) return report_error(was.error());
  if (global.json) {
    std::cout << json{{"was_paused", *was}, {"funding_paused", false}}.dump() << "\n";
  } else {
    std::cout << (*was ? "funding resumed: the next cycle tops Banks up from HODL and creates "
                         "Explorers again\n"
                       : "funding was not paused; nothing changed\n");
  }
  return 0;
}

}  // namespace

void register_balancer_commands(CLI::App& app, GlobalOptions& global) {
  auto no_balances = std::make_shared<bool>(false);
  auto* status = app.add_subcommand(
      "status", "Pool sizes by tier and state, balances (getMultipleAccounts), in-flight txs");
  status->add_flag("--no-balances", *no_balances, "Do not contact the RPC node");
  status->callback([no_balances, &global] { global.exit_code = run_status(*no_balances, global); });

  auto balance_pass = std::make_shared<std::optional<std::string>>();
  auto* balance = app.add_subcommand(
      "balance", "Run one balancer cycle: recover, fund Banks, create Explorers, confirm");
  add_passphrase_option(balance, *balance_pass);
  balance->callback(
      [balance_pass, &global] { global.exit_code = run_balance(*balance_pass, global); });

  auto acquire_args = std::make_shared<AcquireArgs>();
  auto* acquire = app.add_subcommand(
      "acquire", "Lease one Explorer to this shell; prints its pubkey");
  acquire->add_option("--outfile", acquire_args->outfile,
                      "Also write its keypair file (mode 0600); it then counts as signed");
  acquire->add_option("--lease-ms", acquire_args->lease_ms,
                      "Lease length in ms (default [pool] lease_timeout_ms); after it the key "
                      "counts as used")
      ->check(CLI::Range(1000u, 86'400'000u));
  add_passphrase_option(acquire, acquire_args->passphrase_file);
  acquire->callback(
      [acquire_args, &global] { global.exit_code = run_acquire(*acquire_args, global); });

  struct ReleaseArgs {
    std::string pubkey;
    bool retire = false;
    bool keep = false;
  };
  auto release_args = std::make_shared<ReleaseArgs>();
  auto* release = app.add_subcommand("release", "Return a leased Explorer");
  release->add_option("pubkey", release_args->pubkey, "The Explorer's pubkey")->required();
  release->add_flag("--retire", release_args->retire, "It signed: mark used, recover its funds");
  release->add_flag("--keep", release_args->keep,
                    "It signed nothing: back to available (refused if it signed)");
  release->callback([release_args, &global] {
    global.exit_code =
        run_release(release_args->pubkey, release_args->retire, release_args->keep, global);
  });

  struct SweepArgs {
    bool to_hodl = false;
    bool yes = false;
    std::optional<std::string> hodl;
    std::optional<std::string> passphrase_file;
  };
  auto sweep_args = std::make_shared<SweepArgs>();
  auto* sweep = app.add_subcommand(
      "sweep",
      "Emergency/tear-down: drain Explorers to their Banks and Banks to HODL, and pause "
      "funding until `qtw resume`");
  sweep->add_flag("--to-hodl", sweep_args->to_hodl, "Required: where the funds go")->required();
  sweep->add_option("--hodl", sweep_args->hodl, "Which HODL pubkey (default: the first)");
  sweep->add_flag("--yes", sweep_args->yes,
                  "Skip the typed confirmation (it shows the HODL key the funds go to)");
  add_passphrase_option(sweep, sweep_args->passphrase_file);
  sweep->callback([sweep_args, &global] {
    global.exit_code =
        run_sweep(sweep_args->hodl, sweep_args->passphrase_file, sweep_args->yes, global);
  });

  auto* resume = app.add_subcommand(
      "resume", "End the funding pause a sweep left: Banks are topped up and Explorers created "
                "again (no passphrase needed)");
  resume->callback([&global] { global.exit_code = run_resume(global); });
}

}  // namespace qtw::cli
