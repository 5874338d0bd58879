// qtw init, qtw keys list, qtw export-seed (docs/KEYS.md).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>


#include "cli_util.h"
#include "qtw/rpc/rpc_client.h"
#include "commands.h"
#include "hodl_checks.h"
#include "qtw/solana/keypair_file.h"
#include "qtw/vault/hot_keys.h"
#include "qtw/vault/vault.h"
#include "qtw/wallet/chain_scan.h"

namespace qtw::cli {
namespace {

constexpr const char* kExportConfirmation = "export my seed";


// Reads export-seed's output (64 hex characters, optional trailing newline)
// into secure memory. The file must not be readable by group or others.
Result<SecureBytes> read_seed_file(const std::string& path) {
  auto text = vault::read_secret_file(path, 130);
  if (!text) return tl::unexpected(with_context(text.error(), "seed file"));
  std::size_t len = text->size();
  while (len > 0 && (text->data()[len - 1] == '\n' || text->data()[len - 1] == '\r')) --len;
  if (len != 64) {
    return make_error(ErrorCode::kInvalidArgument,
                      "seed file " + path + " must hold the 64 hex characters `qtw export-seed` "
                      "printed");
  }
  SecureBytes seed(32);
  auto nibble = [](std::uint8_t c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = nibble(text->data()[2 * i]);
    const int lo = nibble(text->data()[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return make_error(ErrorCode::kInvalidArgument, "seed file " + path + " is not hex");
    }
    seed.data()[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return seed;
}

using wallet::ScannedBank;

// Writes what scan_chain found for one Bank into a new store (inside its
// transaction): the Bank, then its Explorers 0..last seen placed where the
// chain puts them (wallet::place_scanned_explorers).
Status restore_bank(store::KeyStore& store, const vault::HotKeys& hot, const ScannedBank& bank) {
  QTW_ASSIGN_OR_RETURN(auto record, store.add_bank(bank.index, bank.pubkey));
  return wallet::place_scanned_explorers(
      store, record.id, bank.explorers,
      [&](std::uint32_t j) { return hot.explorer_pubkey(bank.index, j); }, "rescue");
}

struct InitArgs {
  // qtw rescue: the master seed comes from this file (export-seed's hex) and
  // Banks/Explorers from a chain scan instead of --banks.
  std::optional<std::string> seed_file;
  std::uint32_t bank_gap = 5;
  std::uint32_t explorer_gap = 100;
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

  if (auto ok = confirm_seal_cost(args.seal); !ok) return fail(ok.error());
  auto passphrase = load_cli_passphrase(args.seal.passphrase_file, /*confirm=*/true);
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
  // Program ids, sysvars and executable accounts are refused before
  // anything is created (a sweep there fails or loses the funds).
  for (const auto& kp : hodl_keys) {
    if (auto c = check_hodl_candidate(kp.pubkey(), config); !c) return fail(c.error());
  }
  for (const auto& pk : watch_keys) {
    if (auto c = check_hodl_candidate(pk, config); !c) return fail(c.error());
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

  SecureBytes seed;
  if (args.seed_file) {
    auto from_file = read_seed_file(*args.seed_file);
    if (!from_file) return fail(from_file.error());
    seed = std::move(*from_file);
  } else {
    seed = vault::generate_master_seed();
  }
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
  std::vector<ScannedBank> scanned;
  if (args.seed_file) {
    auto client = rpc::RpcClient::connect(config.rpc.url);
    if (!client) return fail(client.error());
    const vault::HotKeys& keys = **hot;
    auto found = wallet::scan_chain(
        **client,
        [&](std::uint32_t i) -> Result<solana::Pubkey> {
          QTW_ASSIGN_OR_RETURN(auto kp, keys.bank_keypair(i));
          return kp.pubkey();
        },
        [&](std::uint32_t i, std::uint32_t j) { return keys.explorer_pubkey(i, j); },
        args.bank_gap, args.explorer_gap);
    if (!found) return fail(with_context(found.error(), "scanning " + config.rpc.url));
    scanned = std::move(*found);
    // --banks N: Banks 0..N-1 come back even if the chain never saw them
    // (derived but never funded), so the wallet keeps its shape.
    for (std::uint32_t i = 0; i < args.banks; ++i) {
      const bool have = std::any_of(scanned.begin(), scanned.end(),
                                    [i](const ScannedBank& b) { return b.index == i; });
      if (have) continue;
      auto kp = (*hot)->bank_keypair(i);
      if (!kp) return fail(kp.error());
      scanned.push_back(ScannedBank{i, kp->pubkey(), 0, {}});
    }
    std::sort(scanned.begin(), scanned.end(),
              [](const ScannedBank& a, const ScannedBank& b) { return a.index < b.index; });
  }

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
    for (const auto& b : scanned) {
      QTW_TRY(restore_bank(store, **hot, b));
      std::uint64_t explorer_lamports = 0;
      std::size_t funded = 0;
      for (const auto& e : b.explorers) {
        explorer_lamports += e.lamports;
        if (e.lamports > 0) ++funded;
      }
      banks.push_back({{"index", b.index},
                       {"pubkey", b.pubkey.to_base58()},
                       {"path", vault::bank_path_string(b.index)},
                       {"lamports", b.lamports},
                       {"explorers_scanned", b.explorers.size()},
                       {"explorers_funded", funded},
                       {"explorer_lamports", explorer_lamports}});
    }
    for (std::uint32_t i = 0; !args.seed_file && i < args.banks; ++i) {
      QTW_ASSIGN_OR_RETURN(auto kp, (*hot)->bank_keypair(i));
      QTW_TRY(store.add_bank(i, kp.pubkey()));
      banks.push_back({{"index", i},
                       {"pubkey", kp.pubkey().to_base58()},
                       {"path", vault::bank_path_string(i)}});
    }
    return store.append_audit(store::AuditRecord{
               0, 0, "cli", args.seed_file ? "wallet.rescue" : "wallet.init", std::nullopt,
               std::nullopt, "banks=" + std::to_string(banks.size())})
        .map([](auto) {});
  });
  if (!done) return fail(done.error());

  if (global.json) {
    std::cout << nlohmann::json{{"store", store.describe()}, {"banks", banks}, {"hodl", hodl}}.dump()
              << "\n";
  } else {
    if (args.seed_file) {
      std::cout << "rescued into " << store.describe() << " from the master seed and the chain\n";
    } else {
      std::cout << "initialised " << store.describe() << " (master seed sealed; back it up with "
                << "`qtw export-seed`)\n";
    }
    for (const auto& b : banks) {
      std::cout << "bank " << b["index"].get<int>() << "  " << b["pubkey"].get<std::string>()
                << "  " << b["path"].get<std::string>();
      if (b.contains("lamports")) {
        std::cout << "  " << format_sol(b["lamports"].get<std::uint64_t>()) << ", "
                  << b["explorers_funded"].get<std::size_t>() << " funded Explorer(s) holding "
                  << format_sol(b["explorer_lamports"].get<std::uint64_t>()) << " (of "
                  << b["explorers_scanned"].get<std::size_t>() << " re-derived)";
      }
      std::cout << "\n";
    }
    if (args.seed_file) {
      std::cout << "funded Explorers are `used`: the next `qtw balance` drains them to their "
                   "Banks\n";
    }
    for (const auto& h : hodl) {
      std::cout << "hodl    " << h["pubkey"].get<std::string>()
                << (h["watch_only"].get<bool>() ? "  (watch-only)" : "") << "\n";
    }
  }
  return 0;
}

int run_keys_list(const std::optional<std::string>& tier_text,
                  const std::optional<std::string>& state_text, const GlobalOptions& global) {
  std::optional<store::KeyTier> tier;
  if (tier_text) {
    auto t = store::parse_key_tier(*tier_text);
    if (!t) return report_error(with_context(t.error(), "--tier"));
    tier = *t;
  }
  std::optional<store::KeyState> state;
  if (state_text) {
    auto s = store::parse_key_state(*state_text);
    if (!s) return report_error(with_context(s.error(), "--state"));
    state = *s;
  }
  auto config = load_effective_config(global);
  if (!config) return report_error(config.error());
  auto st = open_wallet_store(*config, /*create=*/false);
  if (!st) return report_error(st.error());
  store::KeyFilter filter;
  filter.tier = tier;
  filter.state = state;
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
      if (k.state == store::KeyState::kStranded) j["stranded_reason"] = k.stranded_reason;
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
    std::string shown(store::key_state_name(k.state));
    if (k.watch_only()) shown += " (watch-only)";
    if (k.state == store::KeyState::kStranded) shown += ": " + k.stranded_reason;
    rows.push_back({k.pubkey.to_base58(), std::string(store::key_tier_name(k.tier)), shown, index,
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
  auto seed = [&] {
    Spinner spinner("unlocking the master seed (Argon2id)");
    return vault::open(wallet->sealed_seed, *passphrase, vault::kPurposeMasterSeed);
  }();
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
  init->add_flag("--yes", init_args->seal.yes, "Do not ask to confirm a KDF memory above 1 GiB");
  init->callback([init_args, &global] { global.exit_code = run_init(*init_args, global); });

  auto rescue_args = std::make_shared<InitArgs>();
  rescue_args->seed_file = std::string();
  rescue_args->banks = 0;
  auto* rescue = app.add_subcommand(
      "rescue",
      "Rebuild a lost store from the master seed (export-seed's hex file) and the chain: "
      "re-derive Banks and Explorers, restore every key that holds lamports or has history");
  rescue->add_option("--seed-file", *rescue_args->seed_file,
                     "File with the 64 hex characters `qtw export-seed` printed (mode 0600)")
      ->required();
  rescue->add_option("--hodl-keypair", rescue_args->hodl_keypairs,
                     "Re-import a HODL keypair file; repeatable");
  rescue->add_option("--hodl-pubkey", rescue_args->hodl_pubkeys,
                     "Re-register a watch-only HODL pubkey; repeatable");
  rescue->add_option("--banks", rescue_args->banks,
                     "Also restore Banks 0..N-1 that the chain never saw (never funded)")
      ->check(CLI::Range(0u, 1000u));
  rescue->add_option("--bank-gap", rescue_args->bank_gap,
                     "Stop the Bank scan after this many unused Banks in a row (default 5)")
      ->check(CLI::Range(1u, 1000u));
  rescue->add_option("--explorer-gap", rescue_args->explorer_gap,
                     "Stop a Bank's Explorer scan after this many unused Explorers in a row "
                     "(default 100)")
      ->check(CLI::Range(1u, 100000u));
  add_seal_options(rescue, rescue_args->seal);
  rescue->add_flag("--yes", rescue_args->seal.yes,
                   "Do not ask to confirm a KDF memory above 1 GiB");
  rescue->callback([rescue_args, &global] { global.exit_code = run_init(*rescue_args, global); });

  auto* keys = app.add_subcommand("keys", "Managed keys");
  keys->require_subcommand(1);
  auto tier = std::make_shared<std::optional<std::string>>();
  auto* list = keys->add_subcommand("list", "Every managed key: pubkey, tier, state, funding Bank");
  list->add_option("--tier", *tier, "Only this tier: hodl, bank or explorer");
  auto state = std::make_shared<std::optional<std::string>>();
  list->add_option("--state", *state,
                   "Only this state (e.g. stranded: Explorers the wallet cannot drain, with why)");
  list->callback([tier, state, &global] { global.exit_code = run_keys_list(*tier, *state, global); });

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
