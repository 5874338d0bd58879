// qtw status, balance, acquire, release, sweep --to-hodl (DESIGN §9).
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
  auto config = load_effective_config(global);
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

  // Balances of every key that may hold lamports, 100 per getMultipleAccounts.
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
  if (!no_balances) {
    auto client = rpc::RpcClient::connect(config->rpc.url);
    if (!client) return report_error(client.error());
    std::vector<solana::Pubkey> pks;
    pks.reserve(watched.size());
    for (const auto* k : watched) pks.push_back(k->pubkey);
    auto accounts = (*client)->get_multiple_accounts(pks);
    if (!accounts) {
      return report_error(with_context(accounts.error(), "reading balances from " +
                                                             config->rpc.url +
                                                             " (--no-balances skips this)"));
    }
    for (std::size_t i = 0; i < watched.size(); ++i) {
      const std::uint64_t l = (*accounts)[i] ? (*accounts)[i]->lamports : 0;
      lamports[watched[i]->id] = l;
      tier_total[std::string(store::key_tier_name(watched[i]->tier))] += l;
    }
    // The Banks' token holdings, per mint (getTokenAccountsByOwner, both programs).
    std::vector<solana::Pubkey> bank_keys;
    for (const auto& k : *keys) {
      if (k.tier == KeyTier::Bank) bank_keys.push_back(k.pubkey);
    }
    for (const auto* program : {&solana::token_program_id(), &solana::token_2022_program_id()}) {
      auto lists = (*client)->get_token_accounts_by_owners(bank_keys, *program);
      if (!lists) {
        return report_error(with_context(lists.error(), "reading the Banks' token accounts from " +
                                                            config->rpc.url));
      }
      for (const auto& list : *lists) {
        for (const auto& acct : list) {
          auto parsed = solana::parse_token_account(acct.account.data);
          if (!parsed) continue;
          auto& h = tokens[{parsed->mint, *program}];
          h.amount += parsed->amount;
          h.lamports += acct.account.lamports;
          ++h.accounts;
        }
      }
    }
  }

  if (global.json) {
    json out;
    out["store"] = store.describe();
    out["rpc_url"] = no_balances ? json(nullptr) : json(config->rpc.url);
    json by_tier = json::object();
    for (const auto& c : *counts) {
      by_tier[std::string(store::key_tier_name(c.tier))]
             [std::string(store::key_state_name(c.state))] = c.count;
    }
    out["keys"] = by_tier;
    if (no_balances) {
      out["balances_lamports"] = nullptr;
    } else {
      std::uint64_t total = 0;
      json b = json::object();
      for (const char* t : {"hodl", "bank", "explorer"}) {
        b[t] = tier_total[t];
        total += tier_total[t];
      }
      b["total"] = total;
      out["balances_lamports"] = b;
    }
    json hot = json::array();
    for (const auto& k : *keys) {
      if (k.tier == KeyTier::Explorer) continue;
      json j{{"tier", store::key_tier_name(k.tier)}, {"pubkey", k.pubkey.to_base58()}};
      j["bank_index"] = k.bank_index ? json(*k.bank_index) : json(nullptr);
      j["watch_only"] = k.watch_only();
      j["lamports"] = no_balances ? json(nullptr) : json(lamports[k.id]);
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
    json stranded = json::array();
    for (const auto& k : *keys) {
      if (k.state == KeyState::kStranded) {
        stranded.push_back({{"pubkey", k.pubkey.to_base58()}, {"reason", k.stranded_reason}});
      }
    }
    out["stranded"] = stranded;
    if (no_balances) {
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
    return 0;
  }

  std::cout << "store: " << store.describe() << "\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : *counts) {
    rows.push_back({std::string(store::key_tier_name(c.tier)),
                    std::string(store::key_state_name(c.state)), std::to_string(c.count)});
  }
  std::cout << render_table({"TIER", "STATE", "KEYS"}, rows) << "\n";
  if (!no_balances) {
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
  return 0;
}

// ---- balance ----

json stranded_json(const std::vector<wallet::StrandedExplorer>& stranded) {
  json out = json::array();
  for (const auto& s : stranded) out.push_back({{"pubkey", s.pubkey.to_base58()}, {"reason", s.reason}});
  return out;
}

json report_json(const wallet::BalanceReport& r) {
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
              {"transactions_sent", r.transactions_sent},
              {"transactions_confirmed", r.transactions_confirmed},
              {"transactions_failed", r.transactions_failed},
              {"transactions_expired", r.transactions_expired},
              {"transactions_unknown", r.transactions_unknown},
              {"leases_expired", r.leases_expired},
              {"banks_swept", r.banks_swept},
              {"lamports_to_hodl", r.lamports_to_hodl},
              {"explorers_still_leased", r.explorers_still_leased},
              {"signatures", r.signatures},
              {"unsigned_requests", r.unsigned_requests},
              {"warnings", r.warnings},
              {"explorers_stranded", r.explorers_stranded},
              {"stranded", stranded_json(r.stranded)},
              {"recovery_batches_split", r.recovery_batches_split},
              {"tokens_recovered", r.tokens_recovered},
              {"tokens_to_hodl", r.tokens_to_hodl},
              {"token_accounts_closed", r.token_accounts_closed},
              {"rent_recovered_lamports", r.rent_recovered_lamports},
              {"unmovable_token_accounts", r.unmovable_token_accounts},
              {"duration_ms", r.duration.count()}};
}

void print_report(const wallet::BalanceReport& r) {
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
      {"fees", std::to_string(r.transactions_confirmed) + "/" +
                   std::to_string(r.transactions_sent) + " tx confirmed",
       std::to_string(r.fees_lamports) + " lamports"},
  };
  std::cout << render_table({"STEP", "COUNT", "AMOUNT"}, rows);
  if (r.intents_resumed > 0) {
    std::cout << "resumed " << r.intents_resumed << " transaction(s) left by an earlier run\n";
  }
  if (r.leases_expired > 0) std::cout << r.leases_expired << " expired lease(s) -> used\n";
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
  std::cout << "took " << r.duration.count() << " ms\n";
}

int run_balance(const std::optional<std::string>& passphrase_file, const GlobalOptions& global) {
  auto config = load_effective_config(global);
  if (!config) return report_error(config.error());
  auto km = open_key_manager(*config, passphrase_file);
  if (!km) return report_error(km.error());
  if (auto lead = (*km)->take_leadership(); !lead) {
    return report_error(lead.error());
  }
  auto report = (*km)->balance();
  auto stopped = (*km)->stop();
  if (!report) return report_error(report.error());
  if (!stopped) return report_error(stopped.error());
  if (global.json) {
    std::cout << report_json(*report).dump() << "\n";
  } else {
    print_report(*report);
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
    auto seed = vault::open(wallet->sealed_seed, *passphrase, vault::kPurposeMasterSeed);
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
    std::cerr << "leased until " << deadline << " (Unix ms); return it with `qtw release "
              << k.pubkey.to_base58() << " --retire`\n";
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
  if (key->state != KeyState::kLeased || !key->lease) {
    return report_error(Error{ErrorCode::kConflict,
                              "Explorer " + pubkey_text + " is " +
                                  std::string(store::key_state_name(key->state)) +
                                  ", not leased (an expired lease already counts as used)",
                              0});
  }
  if (auto r = (*st)->release_explorer(*pk, key->lease->lease_id, retire); !r) {
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
  if (!yes) {
    return usage_error(
        "sweep drains every Explorer into its Bank and every Bank into HODL, taking the wallet "
        "out of service; pass --yes to do it");
  }
  auto config = load_effective_config(global);
  if (!config) return report_error(config.error());
  std::optional<solana::Pubkey> hodl;
  if (hodl_text) {
    auto pk = solana::Pubkey::from_base58(*hodl_text);
    if (!pk) return report_error(with_context(pk.error(), "--hodl"));
    hodl = *pk;
  }
  auto km = open_key_manager(*config, passphrase_file);
  if (!km) return report_error(km.error());
  if (auto lead = (*km)->take_leadership(); !lead) {
    return report_error(lead.error());
  }
  auto report = (*km)->sweep_to_hodl(hodl);
  auto stopped = (*km)->stop();
  if (!report) return report_error(report.error());
  if (!stopped) return report_error(stopped.error());
  if (global.json) {
    std::cout << report_json(*report).dump() << "\n";
  } else {
    print_report(*report);
    std::cout << "swept " << report->banks_swept
              << " Bank(s): " << format_sol(report->lamports_to_hodl) << " to HODL\n";
    if (report->explorers_still_leased > 0) {
      std::cout << "warning: " << report->explorers_still_leased
                << " Explorer(s) still leased; run sweep again once their leases end\n";
    }
  }
  const auto& c = *report;
  return c.transactions_failed + c.transactions_unknown > 0 ? 1 : 0;
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
      "sweep", "Emergency/tear-down: drain Explorers to their Banks and Banks to HODL");
  sweep->add_flag("--to-hodl", sweep_args->to_hodl, "Required: where the funds go")->required();
  sweep->add_option("--hodl", sweep_args->hodl, "Which HODL pubkey (default: the first)");
  sweep->add_flag("--yes", sweep_args->yes, "Confirm: the wallet goes out of service");
  add_passphrase_option(sweep, sweep_args->passphrase_file);
  sweep->callback([sweep_args, &global] {
    global.exit_code =
        run_sweep(sweep_args->hodl, sweep_args->passphrase_file, sweep_args->yes, global);
  });
}

}  // namespace qtw::cli
