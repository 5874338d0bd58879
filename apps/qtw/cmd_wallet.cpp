// qtw init, qtw keys list, qtw export-seed (docs/KEYS.md).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "qtw/solana/keypair_file.h"
#include "qtw/vault/hot_keys.h"
#include "qtw/vault/vault.h"

namespace qtw::cli {
namespace {

constexpr const char* kExportConfirmation = "export my seed";

struct InitArgs {
  std::uint32_t banks = 1;
  std::vector<std::string> hodl_keypairs;
  std::vector<std::string> hodl_pubkeys;
  SealArgs seal;
};

int run_init(const InitArgs& args, const GlobalOptions& global) {
  auto fail = [](const Error& e) { return report_error(e); };
  auto config_r = load_effective_config(global);
  if (!config_r) return fail(config_r.error());
  const auto& config = *config_r;

  auto passphrase = load_cli_passphrase(args.seal.passphrase_file);
  if (!passphrase) return fail(passphrase.error());

  // Read every input before creating anything.
  std::vector<solana::Keypair> hodl_keys;
  for (const auto& f : args.hodl_keypairs) {
    auto kp = solana::read_keypair_file(f);
    if (!kp) return fail(with_context(kp.error(), "--hodl-keypair " + f));
    hodl_keys.push_back(std::move(*kp));
  }
  std::vector<solana::Pubkey> watch_keys;
  for (const auto& text : args.hodl_pubkeys) {
    auto pk = solana::Pubkey::from_base58(text);
    if (!pk) return fail(with_context(pk.error(), "--hodl-pubkey"));
    watch_keys.push_back(*pk);
  }
  vault::SealOptions seal_options;
  seal_options.opslimit = args.seal.kdf_opslimit;
  seal_options.memlimit_bytes = args.seal.kdf_memlimit_kib * 1024;

  auto st = open_wallet_store(config, /*create=*/true);
  if (!st) return fail(st.error());
  auto& store = **st;
  if (auto w = store.get_wallet(); w) {
    return fail(Error{ErrorCode::kAlreadyExists,
                      store.describe() + " already holds a wallet; refusing to create another "
                                         "master seed over it",
                      0});
  } else if (w.error().code != ErrorCode::kNotFound) {
    return fail(w.error());
  }

  auto seed = vault::generate_master_seed();
  auto sealed_seed = vault::seal(seed.span(), *passphrase, vault::kPurposeMasterSeed, seal_options);
  if (!sealed_seed) return fail(sealed_seed.error());
  std::vector<std::vector<std::uint8_t>> sealed_hodl;
  for (const auto& kp : hodl_keys) {
    auto sealed = vault::seal(kp.to_bytes().span(), *passphrase,
                              vault::hodl_purpose(kp.pubkey().to_base58()), seal_options);
    if (!sealed) return fail(sealed.error());
    sealed_hodl.push_back(std::move(*sealed));
  }
  auto hot = vault::HotKeys::create(std::move(seed));
  if (!hot) return fail(hot.error());

  nlohmann::json banks = nlohmann::json::array();
  nlohmann::json hodl = nlohmann::json::array();
  auto done = store.transact([&]() -> Status {
    QTW_TRY(store.create_wallet(*sealed_seed));
    for (std::size_t i = 0; i < hodl_keys.size(); ++i) {
      QTW_TRY(store.add_hodl(hodl_keys[i].pubkey(), sealed_hodl[i], args.hodl_keypairs[i]));
      hodl.push_back({{"pubkey", hodl_keys[i].pubkey().to_base58()}, {"watch_only", false}});
    }
    for (const auto& pk : watch_keys) {
      QTW_TRY(store.add_hodl(pk, {}, "watch-only"));
      hodl.push_back({{"pubkey", pk.to_base58()}, {"watch_only", true}});
    }
    for (std::uint32_t i = 0; i < args.banks; ++i) {
      QTW_ASSIGN_OR_RETURN(auto kp, (*hot)->bank_keypair(i));
      QTW_TRY(store.add_bank(i, kp.pubkey()));
      banks.push_back({{"index", i},
                       {"pubkey", kp.pubkey().to_base58()},
                       {"path", vault::bank_path_string(i)}});
    }
    return store.append_audit(store::AuditRecord{0, 0, "cli", "wallet.init", std::nullopt,
                                                 std::nullopt,
                                                 "banks=" + std::to_string(args.banks)})
        .map([](auto) {});
  });
  if (!done) return fail(done.error());

  if (global.json) {
    std::cout << nlohmann::json{{"store", store.describe()}, {"banks", banks}, {"hodl", hodl}}.dump()
              << "\n";
  } else {
    std::cout << "initialised " << store.describe() << " (master seed sealed; back it up with "
              << "`qtw export-seed`)\n";
    for (const auto& b : banks) {
      std::cout << "bank " << b["index"].get<int>() << "  " << b["pubkey"].get<std::string>()
                << "  " << b["path"].get<std::string>() << "\n";
    }
    for (const auto& h : hodl) {
      std::cout << "hodl    " << h["pubkey"].get<std::string>()
                << (h["watch_only"].get<bool>() ? "  (watch-only)" : "") << "\n";
    }
  }
  return 0;
}

int run_keys_list(const std::optional<std::string>& tier_text, const GlobalOptions& global) {
  std::optional<store::KeyTier> tier;
  if (tier_text) {
    auto t = store::parse_key_tier(*tier_text);
    if (!t) return report_error(with_context(t.error(), "--tier"));
    tier = *t;
  }
  auto config = load_effective_config(global);
  if (!config) return report_error(config.error());
  auto st = open_wallet_store(*config, /*create=*/false);
  if (!st) return report_error(st.error());
  store::KeyFilter filter;
  filter.tier = tier;
  auto keys = (*st)->list_keys(filter);
  if (!keys) return report_error(keys.error());
  // Funding Banks by row id, for display.
  store::KeyFilter banks_filter;
  banks_filter.tier = store::KeyTier::Bank;
  auto banks = (*st)->list_keys(banks_filter);
  if (!banks) return report_error(banks.error());
  std::map<std::int64_t, std::string> bank_pubkey;
  for (const auto& b : *banks) bank_pubkey[b.id] = b.pubkey.to_base58();

  if (global.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& k : *keys) {
      nlohmann::json j{{"pubkey", k.pubkey.to_base58()},
                       {"tier", store::key_tier_name(k.tier)},
                       {"state", store::key_state_name(k.state)}};
      j["bank_index"] = k.bank_index ? nlohmann::json(*k.bank_index) : nlohmann::json(nullptr);
      j["explorer_index"] =
          k.explorer_index ? nlohmann::json(*k.explorer_index) : nlohmann::json(nullptr);
      j["funding_bank"] = k.funding_bank_id ? nlohmann::json(bank_pubkey[*k.funding_bank_id])
                                            : nlohmann::json(nullptr);
      j["watch_only"] = k.watch_only();
      out.push_back(std::move(j));
    }
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& k : *keys) {
    std::string index = "-";
    if (k.tier == store::KeyTier::Bank && k.bank_index) index = std::to_string(*k.bank_index);
    if (k.tier == store::KeyTier::Explorer && k.bank_index && k.explorer_index) {
      index = std::to_string(*k.bank_index) + "/" + std::to_string(*k.explorer_index);
    }
    std::string state(store::key_state_name(k.state));
    if (k.watch_only()) state += " (watch-only)";
    rows.push_back({k.pubkey.to_base58(), std::string(store::key_tier_name(k.tier)), state, index,
                    k.funding_bank_id ? bank_pubkey[*k.funding_bank_id] : "-"});
  }
  std::cout << render_table({"PUBKEY", "TIER", "STATE", "INDEX", "FUNDING BANK"}, rows);
  return 0;
}

int run_export_seed(const SealArgs& seal_args, bool confirmed, const GlobalOptions& global) {
  auto config = load_effective_config(global);
  if (!config) return report_error(config.error());
  auto st = open_wallet_store(*config, /*create=*/false);
  if (!st) return report_error(st.error());
  auto wallet = (*st)->get_wallet();
  if (!wallet) return report_error(wallet.error());
  if (!confirmed) {
    std::cerr << "WARNING: the master seed controls every Bank and Explorer of this wallet.\n"
                 "Anyone who sees it can take their funds. Type '"
              << kExportConfirmation << "' to print it: " << std::flush;
    std::string line;
    std::getline(std::cin, line);
    if (line != kExportConfirmation) {
      return usage_error("confirmation not given; nothing printed (or pass --yes-i-understand)");
    }
  }
  auto passphrase = load_cli_passphrase(seal_args.passphrase_file);
  if (!passphrase) return report_error(passphrase.error());
  auto seed = vault::open(wallet->sealed_seed, *passphrase, vault::kPurposeMasterSeed);
  if (!seed) return report_error(seed.error());
  // Written byte by byte from secure memory: the seed never sits in a
  // std::string.
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < seed->size(); ++i) {
    std::putchar(kHex[seed->data()[i] >> 4]);
    std::putchar(kHex[seed->data()[i] & 15]);
  }
  std::putchar('\n');
  std::fflush(stdout);
  return 0;
}

}  // namespace

void register_wallet_commands(CLI::App& app, GlobalOptions& global) {
  auto init_args = std::make_shared<InitArgs>();
  auto* init = app.add_subcommand(
      "init", "Create the store and sealed master seed, register HODL keys, derive Banks");
  init->add_option("--banks", init_args->banks, "Number of Banks to derive (default 1)")
      ->check(CLI::Range(1u, 1000u));
  init->add_option("--hodl-keypair", init_args->hodl_keypairs,
                   "Import a HODL keypair file (Solana CLI format, mode 0600); repeatable");
  init->add_option("--hodl-pubkey", init_args->hodl_pubkeys,
                   "Register a watch-only HODL pubkey; repeatable");
  add_seal_options(init, init_args->seal);
  init->callback([init_args, &global] { global.exit_code = run_init(*init_args, global); });

  auto* keys = app.add_subcommand("keys", "Managed keys");
  keys->require_subcommand(1);
  auto tier = std::make_shared<std::optional<std::string>>();
  auto* list = keys->add_subcommand("list", "Every managed key: pubkey, tier, state, funding Bank");
  list->add_option("--tier", *tier, "Only this tier: hodl, bank or explorer");
  list->callback([tier, &global] { global.exit_code = run_keys_list(*tier, global); });

  auto export_args = std::make_shared<SealArgs>();
  auto confirmed = std::make_shared<bool>(false);
  auto* exp = app.add_subcommand(
      "export-seed", "Print the master seed as hex (asks for confirmation on stdin)");
  add_passphrase_option(exp, export_args->passphrase_file);
  exp->add_flag("--yes-i-understand", *confirmed, "Skip the typed confirmation");
  exp->callback([export_args, confirmed, &global] {
    global.exit_code = run_export_seed(*export_args, *confirmed, global);
  });
}

}  // namespace qtw::cli
