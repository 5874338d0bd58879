// qtw hodl add|list|remove, qtw hodl nonce create, qtw hodl requests,
// qtw hodl request export, qtw hodl sign, qtw hodl submit, qtw banks add
// (docs/COLD_HODL.md).
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_util.h"
#include "commands.h"
#include "hodl_checks.h"
#include "qtw/rpc/rpc_client.h"
#include "qtw/solana/encoding.h"
#include "qtw/solana/keypair_file.h"
#include "qtw/solana/transaction.h"
#include "qtw/vault/hot_keys.h"
#include "qtw/vault/vault.h"
#include "qtw/wallet/cold_hodl.h"

namespace qtw::cli {

using nlohmann::json;
using store::KeyTier;

Status check_hodl_candidate(const solana::Pubkey& pubkey, const wallet::WalletConfig& config) {
  QTW_TRY(wallet::check_hodl_address(pubkey));
  // One quick attempt: init may run before the node is reachable.
  rpc::RpcClientOptions ro;
  ro.retry.max_attempts = 1;
  rpc::CurlTransportOptions http;
  http.connect_timeout_ms = 2'000;
  http.total_timeout_ms = 5'000;
  auto client = rpc::RpcClient::connect(config.rpc.url, ro, http);
  if (!client) return tl::unexpected(client.error());
  auto warnings = wallet::check_hodl_on_chain(**client, pubkey);
  if (!warnings) {
    if (warnings.error().code == ErrorCode::kInvalidArgument) {
      return tl::unexpected(warnings.error());
    }
    std::cerr << "warning: could not check " << pubkey.to_base58() << " on chain at "
              << config.rpc.url << " (" << warnings.error().message
              << "); make sure it is not a program\n";
    if (!solana::is_on_curve(pubkey)) {
      std::cerr << "warning: " << pubkey.to_base58()
                << " is off-curve (e.g. a multisig vault): `qtw hodl sign` cannot sign its "
                   "top-ups\n";
    }
    return {};
  }
  for (const auto& w : *warnings) std::cerr << "warning: " << w << "\n";
  return {};
}

namespace {

constexpr const char* kRequestFormat = "qtw-hodl-topup-request";
constexpr const char* kSignedFormat = "qtw-hodl-topup-signed";
constexpr int kFileVersion = 1;

// A refusal caused by what the user asked for (a stale request, the last
// HODL key) is bad input: exit 2.
int refuse(const Error& e) {
  std::cerr << "qtw: error: " << e.message << "\n";
  return 2;
}

// Reads a line from stdin and compares it with `expected` (typed confirmation).
bool confirmed(const std::string& prompt, const std::string& expected) {
  std::cerr << prompt << "Type '" << expected << "' to continue: " << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) return false;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line == expected;
}

Result<std::string> read_text_file(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot read " + path);
  std::string text(max_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_bytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      path + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  return text;
}

// Writes a public (non-secret) file: refuses to overwrite unless `force`.
Status write_public_file(const std::string& path, const std::string& text, bool force) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    if (errno == EEXIST) {
      return make_error(ErrorCode::kAlreadyExists, path + " already exists (--force overwrites)");
    }
    return make_error(ErrorCode::kIo, "cannot create " + path + ": " + std::strerror(errno));
  }
  std::size_t off = 0;
  while (off < text.size()) {
    const auto n = ::write(fd, text.data() + off, text.size() - off);
    if (n <= 0) {
      ::close(fd);
      return make_error(ErrorCode::kIo, "writing " + path + " failed");
    }
    off += static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  return {};
}

Result<json> parse_json_file(const std::string& path) {
  QTW_ASSIGN_OR_RETURN(auto text, read_text_file(path, 256 * 1024));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::kParse, path + " is not a JSON object");
  }
  return j;
}

// Field accessors that refuse a missing or mistyped field by name.
Result<std::string> str_field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("field \"") + name + "\" is missing or not a string");
  }
  return it->get<std::string>();
}
Result<std::uint64_t> u64_field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_unsigned()) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("field \"") + name + "\" is missing or not a whole number");
  }
  return it->get<std::uint64_t>();
}
Result<solana::Pubkey> pubkey_field(const json& j, const char* name) {
  QTW_ASSIGN_OR_RETURN(auto text, str_field(j, name));
  auto pk = solana::Pubkey::from_base58(text);
  if (!pk) return tl::unexpected(with_context(pk.error(), std::string("field \"") + name + "\""));
  return *pk;
}

std::string lamports_and_sol(std::uint64_t lamports) {
  return format_sol(lamports) + " (" + std::to_string(lamports) + " lamports)";
}

Result<std::unique_ptr<store::KeyStore>> open_store_for(const GlobalOptions& global,
                                                        wallet::WalletConfig* config_out) {
  QTW_ASSIGN_OR_RETURN(auto config, load_effective_config(global));
  QTW_ASSIGN_OR_RETURN(auto st, open_wallet_store(config, /*create=*/false));
  if (config_out != nullptr) *config_out = std::move(config);
  return st;
}

// Unseals the master seed (the passphrase is checked here).
Result<std::unique_ptr<vault::HotKeys>> unseal_hot_keys(store::KeyStore& store,
                                                        const SecureBytes& passphrase) {
  QTW_ASSIGN_OR_RETURN(auto wallet, store.get_wallet());
  QTW_ASSIGN_OR_RETURN(auto seed,
                       vault::open(wallet.sealed_seed, passphrase, vault::kPurposeMasterSeed));
  return vault::HotKeys::create(std::move(seed));
}

rpc::SenderOptions sender_options() {
  rpc::SenderOptions o;
  o.timeout_ms = 60'000;
  return o;
}

// ---- hodl add / list / remove ----

struct AddArgs {
  std::optional<std::string> keypair;
  std::optional<std::string> pubkey;
  std::string label;
  SealArgs seal;
};

int run_hodl_add(const AddArgs& args, const GlobalOptions& global) {
  if (args.keypair.has_value() == args.pubkey.has_value()) {
    return usage_error(
        "give exactly one of --keypair F (imported, sealed) or --pubkey PK "
        "(watch-only)");
  }
  wallet::WalletConfig config;
  auto st = open_store_for(global, &config);
  if (!st) return report_error(st.error());
  auto& store = **st;
  std::optional<solana::Keypair> kp;
  solana::Pubkey pk;
  if (args.keypair) {
    auto k = solana::read_keypair_file(*args.keypair);
    if (!k) return report_error(with_context(k.error(), "--keypair " + *args.keypair));
    pk = k->pubkey();
    kp = std::move(*k);
  } else {
    auto p = solana::Pubkey::from_base58(*args.pubkey);
    if (!p) return report_error(with_context(p.error(), "--pubkey"));
    pk = *p;
  }
  if (auto c = check_hodl_candidate(pk, config); !c) return report_error(c.error());
  std::vector<std::uint8_t> sealed;
  if (kp) {
    // Sealed under the wallet's passphrase: checked against the master seed
    // first, so the key is not sealed under a passphrase nobody uses.
    auto passphrase = load_cli_passphrase(args.seal.passphrase_file);
    if (!passphrase) return report_error(passphrase.error());
    auto wallet = store.get_wallet();
    if (!wallet) return report_error(wallet.error());
    if (auto seed = vault::open(wallet->sealed_seed, *passphrase, vault::kPurposeMasterSeed);
        !seed) {
      return report_error(seed.error());
    }
    vault::SealOptions o;
    o.opslimit = args.seal.kdf_opslimit;
    o.memlimit_bytes = args.seal.kdf_memlimit_kib * 1024;
    auto s =
        vault::seal(kp->to_bytes().span(), *passphrase, vault::hodl_purpose(pk.to_base58()), o);
    if (!s) return report_error(s.error());
    sealed = std::move(*s);
  }
  auto added = store.add_hodl(
      pk, sealed, args.label.empty() ? (kp ? *args.keypair : "watch-only") : args.label);
  if (!added) return report_error(added.error());
  if (global.json) {
    std::cout << json{{"pubkey", pk.to_base58()}, {"watch_only", !kp}}.dump() << "\n";
  } else {
    std::cout << "hodl " << pk.to_base58() << (kp ? "  (sealed)" : "  (watch-only)") << "\n";
  }
  return 0;
}

int run_hodl_list(const GlobalOptions& global) {
  auto st = open_store_for(global, nullptr);
  if (!st) return report_error(st.error());
  store::KeyFilter f;
  f.tier = KeyTier::Hodl;
  auto hodls = (*st)->list_keys(f);
  if (!hodls) return report_error(hodls.error());
  auto nonces = (*st)->list_nonce_accounts();
  if (!nonces) return report_error(nonces.error());
  if (global.json) {
    json out = json::array();
    for (const auto& h : *hodls) {
      json n = json::array();
      for (const auto& a : *nonces) {
        if (a.hodl != h.pubkey) continue;
        n.push_back({{"address", a.address.to_base58()},
                     {"status", store::nonce_account_status_name(a.status)},
                     {"lamports", a.lamports}});
      }
      out.push_back({{"pubkey", h.pubkey.to_base58()},
                     {"watch_only", h.watch_only()},
                     {"label", h.label},
                     {"nonce_accounts", n}});
    }
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& h : *hodls) {
    std::size_t n = 0;
    for (const auto& a : *nonces) {
      if (a.hodl == h.pubkey && a.status == store::NonceAccountStatus::kActive) ++n;
    }
    rows.push_back({h.pubkey.to_base58(), h.watch_only() ? "watch-only" : "sealed",
                    std::to_string(n), h.label});
  }
  std::cout << render_table({"PUBKEY", "KIND", "NONCE ACCOUNTS", "LABEL"}, rows);
  return 0;
}

int run_hodl_remove(const std::string& text, bool yes, const GlobalOptions& global) {
  auto pk = solana::Pubkey::from_base58(text);
  if (!pk) return report_error(with_context(pk.error(), "hodl remove"));
  wallet::WalletConfig config;
  auto st = open_store_for(global, &config);
  if (!st) return report_error(st.error());
  auto& store = **st;
  auto key = store.get_key(*pk);
  if (!key) return report_error(key.error());
  if (key->tier != KeyTier::Hodl) {
    return usage_error(text + " is a " + std::string(store::key_tier_name(key->tier)) +
                       " key, not a HODL key");
  }
  store::KeyFilter f;
  f.tier = KeyTier::Hodl;
  auto hodls = store.list_keys(f);
  if (!hodls) return report_error(hodls.error());
  if (hodls->size() == 1) {
    // The last HODL key: the Banks' funds would have nowhere to go back to.
    f.tier = KeyTier::Bank;
    auto banks = store.list_keys(f);
    if (!banks) return report_error(banks.error());
    std::vector<solana::Pubkey> pks;
    for (const auto& b : *banks) pks.push_back(b.pubkey);
    auto client = rpc::RpcClient::connect(config.rpc.url);
    if (!client) return report_error(client.error());
    auto accounts = (*client)->get_multiple_accounts(pks);
    if (!accounts) {
      return report_error(with_context(accounts.error(),
                                       "checking the Banks' balances (the last HODL key is only "
                                       "removed when they hold nothing)"));
    }
    std::uint64_t held = 0;
    for (const auto& a : *accounts) held += a ? a->lamports : 0;
    if (held > 0) {
      return usage_error(text + " is the last HODL key and the Banks hold " + format_sol(held) +
                         ": add another HODL key first (`qtw hodl add`) or sweep the Banks "
                         "(`qtw sweep --to-hodl`)");
    }
  }
  if (!yes) {
    const std::string expect = "remove " + text.substr(0, 8);
    if (!confirmed("Removing HODL key " + text +
                       (key->watch_only() ? " (watch-only)" : " (sealed secret)") +
                       " from the wallet; Banks will no longer top up from or sweep to it.\n",
                   expect)) {
      return usage_error("confirmation not given; nothing removed (or pass --yes)");
    }
  }
  if (auto r = store.remove_hodl(*pk); !r) return report_error(r.error());
  if (global.json) {
    std::cout << json{{"removed", text}}.dump() << "\n";
  } else {
    std::cout << "removed HODL key " << text << "\n";
  }
  return 0;
}

// ---- banks add ----

int run_banks_add(std::uint32_t count, const std::optional<std::string>& passphrase_file,
                  const GlobalOptions& global) {
  auto st = open_store_for(global, nullptr);
  if (!st) return report_error(st.error());
  auto& store = **st;
  auto passphrase = load_cli_passphrase(passphrase_file);
  if (!passphrase) return report_error(passphrase.error());
  auto hot = unseal_hot_keys(store, *passphrase);
  if (!hot) return report_error(hot.error());
  store::KeyFilter f;
  f.tier = KeyTier::Bank;
  auto banks = store.list_keys(f);
  if (!banks) return report_error(banks.error());
  std::uint32_t next = 0;
  for (const auto& b : *banks) {
    if (b.bank_index) next = std::max(next, *b.bank_index + 1);
  }
  json added = json::array();
  auto done = store.transact([&]() -> Status {
    for (std::uint32_t i = next; i < next + count; ++i) {
      QTW_ASSIGN_OR_RETURN(auto kp, (*hot)->bank_keypair(i));
      QTW_TRY(store.add_bank(i, kp.pubkey()));
      added.push_back({{"index", i},
                       {"pubkey", kp.pubkey().to_base58()},
                       {"path", vault::bank_path_string(i)}});
    }
    return {};
  });
  if (!done) return report_error(done.error());
  if (global.json) {
    std::cout << json{{"banks", added}}.dump() << "\n";
  } else {
    for (const auto& b : added) {
      std::cout << "bank " << b["index"].get<std::uint32_t>() << "  "
                << b["pubkey"].get<std::string>() << "  " << b["path"].get<std::string>() << "\n";
    }
    std::cout << "the next `qtw balance` tops them up to their target\n";
  }
  return 0;
}

// ---- hodl nonce create ----

int run_nonce_create(const std::optional<std::string>& hodl_text,
                     const std::optional<std::uint32_t>& bank_index,
                     const std::optional<std::string>& passphrase_file,
                     const GlobalOptions& global) {
  wallet::WalletConfig config;
  auto st = open_store_for(global, &config);
  if (!st) return report_error(st.error());
  auto& store = **st;
  store::KeyFilter f;
  f.tier = KeyTier::Hodl;
  auto hodls = store.list_keys(f);
  if (!hodls) return report_error(hodls.error());
  std::optional<solana::Pubkey> hodl;
  if (hodl_text) {
    auto pk = solana::Pubkey::from_base58(*hodl_text);
    if (!pk) return report_error(with_context(pk.error(), "--hodl"));
    hodl = *pk;
  } else {
    for (const auto& h : *hodls) {
      if (h.watch_only()) {
        hodl = h.pubkey;
        break;
      }
    }
    if (!hodl) {
      return usage_error(
          "no watch-only HODL key registered; name one with --hodl PK (see `qtw "
          "hodl list`)");
    }
  }
  auto passphrase = load_cli_passphrase(passphrase_file);
  if (!passphrase) return report_error(passphrase.error());
  auto hot = unseal_hot_keys(store, *passphrase);
  if (!hot) return report_error(hot.error());
  auto client = rpc::RpcClient::connect(config.rpc.url);
  if (!client) return report_error(client.error());
  f.tier = KeyTier::Bank;
  auto banks = store.list_keys(f);
  if (!banks) return report_error(banks.error());
  if (banks->empty()) return usage_error("no Banks: add one with `qtw banks add 1`");
  // The Bank named, else the richest.
  std::optional<std::uint32_t> chosen = bank_index;
  if (!chosen) {
    std::vector<solana::Pubkey> pks;
    for (const auto& b : *banks) pks.push_back(b.pubkey);
    auto accounts = (*client)->get_multiple_accounts(pks);
    if (!accounts) return report_error(accounts.error());
    std::uint64_t best = 0;
    for (std::size_t i = 0; i < banks->size(); ++i) {
      const std::uint64_t l = (*accounts)[i] ? (*accounts)[i]->lamports : 0;
      if (!chosen || l > best) {
        chosen = (*banks)[i].bank_index;
        best = l;
      }
    }
  }
  auto bank_kp = (*hot)->bank_keypair(*chosen);
  if (!bank_kp) return report_error(bank_kp.error());
  wallet::CreateNonceOptions o;
  o.sender = sender_options();
  auto created = wallet::create_nonce_account(store, **client, *bank_kp, *hodl, o);
  if (!created) return report_error(created.error());
  if (global.json) {
    std::cout << json{{"nonce_account", created->address.to_base58()},
                      {"authority", created->hodl.to_base58()},
                      {"funding_bank", created->funding_bank.to_base58()},
                      {"seed", created->seed},
                      {"lamports", created->lamports}}
                     .dump()
              << "\n";
  } else {
    std::cout << "nonce account " << created->address.to_base58() << "\n"
              << "  authority     " << created->hodl.to_base58() << " (HODL)\n"
              << "  funded by     Bank " << *chosen << " " << created->funding_bank.to_base58()
              << " (create_with_seed, seed \"" << created->seed << "\")\n"
              << "  rent deposit  " << lamports_and_sol(created->lamports) << "\n";
  }
  return 0;
}

// ---- hodl requests / request export ----

json request_summary_json(const store::TopupRequestRecord& r) {
  std::uint64_t total = 0;
  json transfers = json::array();
  for (const auto& t : r.transfers) {
    total += t.lamports;
    transfers.push_back({{"to", t.to.to_base58()}, {"lamports", t.lamports}});
  }
  json j{{"id", r.id},
         {"status", store::topup_status_name(r.status)},
         {"hodl", r.hodl.to_base58()},
         {"nonce_account", r.nonce_account.to_base58()},
         {"nonce", r.nonce_value.to_base58()},
         {"transfers", transfers},
         {"total_lamports", total},
         {"created_at_ms", r.created_at_ms},
         {"detail", r.detail}};
  j["signature"] = r.signature ? json(r.signature->to_base58()) : json(nullptr);
  return j;
}

int run_requests(bool all, const GlobalOptions& global) {
  auto st = open_store_for(global, nullptr);
  if (!st) return report_error(st.error());
  auto reqs = (*st)->list_topup_requests(std::nullopt);
  if (!reqs) return report_error(reqs.error());
  std::vector<const store::TopupRequestRecord*> shown;
  for (const auto& r : *reqs) {
    if (all || store::topup_is_live(r.status)) shown.push_back(&r);
  }
  if (global.json) {
    json out = json::array();
    for (const auto* r : shown) out.push_back(request_summary_json(*r));
    std::cout << out.dump() << "\n";
    return 0;
  }
  if (shown.empty()) {
    std::cout << (all ? "no top-up requests\n"
                      : "no pending top-up requests (--all lists landed and stale ones too)\n");
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto* r : shown) {
    std::uint64_t total = 0;
    for (const auto& t : r->transfers) total += t.lamports;
    rows.push_back({std::to_string(r->id), std::string(store::topup_status_name(r->status)),
                    r->hodl.to_base58(), std::to_string(r->transfers.size()), format_sol(total),
                    r->nonce_account.to_base58()});
  }
  std::cout << render_table({"ID", "STATUS", "HODL", "BANKS", "TOTAL", "NONCE ACCOUNT"}, rows);
  return 0;
}

int run_request_export(std::int64_t id, const std::string& outfile, bool force,
                       const GlobalOptions& global) {
  auto st = open_store_for(global, nullptr);
  if (!st) return report_error(st.error());
  auto& store = **st;
  auto req = store.get_topup_request(id);
  if (!req) return report_error(req.error());
  if (!store::topup_is_live(req->status)) {
    return refuse(Error{ErrorCode::kConflict,
                        "request " + std::to_string(id) + " is " +
                            std::string(store::topup_status_name(req->status)) +
                            "; only pending requests are exported (`qtw hodl requests`)",
                        0});
  }
  json banks = json::array();
  json transfers = json::array();
  std::uint64_t total = 0;
  for (const auto& t : req->transfers) {
    auto bank = store.get_key(t.to);
    json b{{"pubkey", t.to.to_base58()}};
    b["bank_index"] = bank && bank->bank_index ? json(*bank->bank_index) : json(nullptr);
    banks.push_back(b);
    transfers.push_back({{"from", t.from.to_base58()},
                         {"to", t.to.to_base58()},
                         {"lamports", t.lamports},
                         {"sol", format_sol(t.lamports)}});
    total += t.lamports;
  }
  // The unsigned transaction: one all-zero signature slot, then the message.
  auto msg = solana::Message::deserialize(req->message);
  if (!msg) return report_error(msg.error());
  auto tx = solana::Transaction::from_message(*msg);
  auto wire = tx.serialize();
  if (!wire) return report_error(wire.error());
  json out{{"format", kRequestFormat},
           {"version", kFileVersion},
           {"id", req->id},
           {"hodl", req->hodl.to_base58()},
           {"fee_payer", req->hodl.to_base58()},
           {"nonce_account", req->nonce_account.to_base58()},
           {"nonce", req->nonce_value.to_base58()},
           {"banks", banks},
           {"transfers", transfers},
           {"total_lamports", total},
           {"message_base64", solana::base64_encode(req->message)},
           {"message_base58", solana::base58_encode(req->message)},
           {"transaction_base64", solana::base64_encode(*wire)},
           {"transaction_base58", solana::base58_encode(*wire)},
           {"created_at_ms", req->created_at_ms}};
  if (auto w = write_public_file(outfile, out.dump(2) + "\n", force); !w) {
    return report_error(w.error());
  }
  if (global.json) {
    std::cout << json{{"id", id}, {"outfile", outfile}}.dump() << "\n";
  } else {
    std::cout << "wrote request " << id << " (" << req->transfers.size() << " Bank(s), "
              << format_sol(total) << ") to " << outfile << "\n"
              << "sign it offline: qtw hodl sign " << outfile
              << " --keypair hodl.json --outfile signed.json\n";
  }
  return 0;
}

// ---- hodl sign (offline: no store, no network) ----

struct SignArgs {
  std::string request_file;
  std::string keypair;
  std::string outfile;
  bool force = false;
};

int run_sign(const SignArgs& args, const GlobalOptions& global) {
  auto fail = [](const Error& e) {
    std::cerr << "qtw: error: refusing to sign: " << e.message << "\n";
    return 2;
  };
  auto j = parse_json_file(args.request_file);
  if (!j) return fail(j.error());
  auto format = str_field(*j, "format");
  if (!format || *format != kRequestFormat) {
    return fail(Error{ErrorCode::kInvalidArgument,
                      args.request_file + " is not a qtw top-up request (format)", 0});
  }
  auto version = u64_field(*j, "version");
  if (!version || *version != kFileVersion) {
    return fail(Error{ErrorCode::kInvalidArgument, "unsupported request version", 0});
  }
  auto id = u64_field(*j, "id");
  if (!id) return fail(id.error());
  wallet::TopupClaim claim;
  auto hodl = pubkey_field(*j, "hodl");
  if (!hodl) return fail(hodl.error());
  claim.hodl = *hodl;
  auto nonce_account = pubkey_field(*j, "nonce_account");
  if (!nonce_account) return fail(nonce_account.error());
  claim.nonce_account = *nonce_account;
  auto nonce_text = str_field(*j, "nonce");
  if (!nonce_text) return fail(nonce_text.error());
  auto nonce = solana::Hash::from_base58(*nonce_text);
  if (!nonce) return fail(with_context(nonce.error(), "field \"nonce\""));
  claim.nonce_value = *nonce;
  const auto banks = j->find("banks");
  const auto transfers = j->find("transfers");
  if (banks == j->end() || !banks->is_array() || transfers == j->end() || !transfers->is_array()) {
    return fail(
        Error{ErrorCode::kInvalidArgument, "fields \"banks\" and \"transfers\" must be lists", 0});
  }
  for (const auto& b : *banks) {
    if (!b.is_object())
      return fail(Error{ErrorCode::kInvalidArgument, "a bank entry is not an object", 0});
    auto pk = pubkey_field(b, "pubkey");
    if (!pk) return fail(pk.error());
    claim.banks.push_back(*pk);
  }
  for (const auto& t : *transfers) {
    if (!t.is_object())
      return fail(Error{ErrorCode::kInvalidArgument, "a transfer is not an object", 0});
    auto from = pubkey_field(t, "from");
    if (!from) return fail(from.error());
    auto to = pubkey_field(t, "to");
    if (!to) return fail(to.error());
    auto lamports = u64_field(t, "lamports");
    if (!lamports) return fail(lamports.error());
    if (*from != claim.hodl) {
      return fail(Error{ErrorCode::kInvalidArgument,
                        "a listed transfer comes from " + from->to_base58() + ", not the HODL key",
                        0});
    }
    claim.transfers.push_back(store::IntentTransfer{*from, *to, *lamports});
  }
  auto msg_b64 = str_field(*j, "message_base64");
  if (!msg_b64) return fail(msg_b64.error());
  auto message = solana::base64_decode(*msg_b64);
  if (!message) return fail(with_context(message.error(), "message_base64"));
  // Every form of the message in the file must say the same thing.
  if (auto b58 = j->find("message_base58"); b58 != j->end()) {
    auto other = b58->is_string() ? solana::base58_decode(b58->get<std::string>(), 4096)
                                  : Result<std::vector<std::uint8_t>>(
                                        make_error(ErrorCode::kInvalidArgument, "not a string"));
    if (!other || *other != *message) {
      return fail(Error{ErrorCode::kInvalidArgument,
                        "message_base58 and message_base64 are not the same message", 0});
    }
  }
  for (const char* name : {"transaction_base64", "transaction_base58"}) {
    auto it = j->find(name);
    if (it == j->end()) continue;
    if (!it->is_string()) {
      return fail(Error{ErrorCode::kInvalidArgument, std::string(name) + " is not a string", 0});
    }
    auto bytes = std::string(name) == "transaction_base64"
                     ? solana::base64_decode(it->get<std::string>())
                     : solana::base58_decode(it->get<std::string>(), 4096);
    auto tx = bytes ? solana::Transaction::deserialize(*bytes)
                    : Result<solana::Transaction>(tl::unexpected(bytes.error()));
    if (!tx || tx->message.serialize() != *message) {
      return fail(Error{ErrorCode::kInvalidArgument,
                        std::string(name) + " does not carry the same message as message_base64",
                        0});
    }
  }
  auto checked = wallet::check_topup_message(*message, claim);
  if (!checked) return fail(checked.error());

  auto kp = solana::read_keypair_file(args.keypair);
  if (!kp) return report_error(with_context(kp.error(), "--keypair " + args.keypair));
  if (kp->pubkey() != claim.hodl) {
    return fail(Error{ErrorCode::kInvalidArgument,
                      "the request is for HODL " + claim.hodl.to_base58() + " but --keypair is " +
                          kp->pubkey().to_base58(),
                      0});
  }
  if (std::filesystem::exists(args.outfile) && !args.force) {
    return usage_error(args.outfile + " already exists (--force overwrites)");
  }

  // Show everything that will be signed, then ask.
  std::ostringstream show;
  show << "top-up request " << *id << "\n"
       << "  signer and fee payer  " << claim.hodl.to_base58() << " (HODL)\n"
       << "  nonce account         " << claim.nonce_account.to_base58() << "\n"
       << "  nonce value           " << claim.nonce_value.to_base58() << "\n";
  for (std::size_t i = 0; i < checked->transfers.size(); ++i) {
    const auto& t = checked->transfers[i];
    show << "  transfer " << i + 1 << "  from " << t.from.to_base58() << "\n"
         << "              to   " << t.to.to_base58() << " (Bank)\n"
         << "              " << lamports_and_sol(t.lamports) << "\n";
  }
  show << "  total                 " << lamports_and_sol(checked->total_lamports)
       << " + the fee (5000 lamports per signature)\n";
  std::cerr << show.str();
  const std::string expect = "sign " + std::to_string(*id);
  if (!confirmed("", expect)) {
    return usage_error("confirmation not given; nothing signed");
  }
  const auto sig = kp->sign(*message);
  auto tx = solana::Transaction::from_message(checked->message);
  tx.signatures[0] = sig;
  auto wire = tx.serialize();
  if (!wire) return report_error(wire.error());
  json out{{"format", kSignedFormat},
           {"version", kFileVersion},
           {"id", *id},
           {"hodl", claim.hodl.to_base58()},
           {"signer", claim.hodl.to_base58() + "=" + sig.to_base58()},
           {"signature", sig.to_base58()},
           {"message_base64", *msg_b64},
           {"transaction_base64", solana::base64_encode(*wire)},
           {"transaction_base58", solana::base58_encode(*wire)}};
  if (auto w = write_public_file(args.outfile, out.dump(2) + "\n", args.force); !w) {
    return report_error(w.error());
  }
  if (global.json) {
    std::cout << json{{"id", *id}, {"signature", sig.to_base58()}, {"outfile", args.outfile}}.dump()
              << "\n";
  } else {
    std::cout << "signed request " << *id << ": " << sig.to_base58() << "\nwrote " << args.outfile
              << "; carry it back and run `qtw hodl submit " << args.outfile << "`\n";
  }
  return 0;
}

// ---- hodl submit ----

struct SubmitArgs {
  std::optional<std::string> signed_file;
  std::optional<std::int64_t> request;
  std::optional<std::string> signer;  // PUBKEY=SIGNATURE (Solana CLI --signer form)
};

int run_submit(const SubmitArgs& args, const GlobalOptions& global) {
  std::int64_t id = 0;
  solana::Signature sig;
  std::optional<std::vector<std::uint8_t>> tx_bytes;
  std::optional<solana::Pubkey> claimed_signer;
  if (args.signed_file) {
    if (args.request || args.signer) {
      return usage_error("give a signed file, or --request ID --signer PUBKEY=SIGNATURE, not both");
    }
    auto j = parse_json_file(*args.signed_file);
    if (!j) return report_error(j.error());
    auto format = str_field(*j, "format");
    if (!format || *format != kSignedFormat) {
      return usage_error(*args.signed_file +
                         " is not a signed qtw top-up (`qtw hodl sign` "
                         "writes one)");
    }
    auto rid = u64_field(*j, "id");
    if (!rid) return report_error(rid.error());
    id = static_cast<std::int64_t>(*rid);
    auto s = str_field(*j, "signature");
    if (!s) return report_error(s.error());
    auto parsed = solana::Signature::from_base58(*s);
    if (!parsed) return report_error(with_context(parsed.error(), "signature"));
    sig = *parsed;
    auto h = pubkey_field(*j, "hodl");
    if (!h) return report_error(h.error());
    claimed_signer = *h;
    if (auto t = j->find("transaction_base64"); t != j->end() && t->is_string()) {
      auto b = solana::base64_decode(t->get<std::string>());
      if (!b) return report_error(with_context(b.error(), "transaction_base64"));
      tx_bytes = std::move(*b);
    }
  } else {
    if (!args.request || !args.signer) {
      return usage_error(
          "give the signed file `qtw hodl sign` wrote, or --request ID --signer "
          "PUBKEY=SIGNATURE");
    }
    id = *args.request;
    const auto eq = args.signer->find('=');
    if (eq == std::string::npos) return usage_error("--signer must be PUBKEY=SIGNATURE");
    auto pk = solana::Pubkey::from_base58(args.signer->substr(0, eq));
    if (!pk) return report_error(with_context(pk.error(), "--signer pubkey"));
    claimed_signer = *pk;
    auto parsed = solana::Signature::from_base58(args.signer->substr(eq + 1));
    if (!parsed) return report_error(with_context(parsed.error(), "--signer signature"));
    sig = *parsed;
  }
  wallet::WalletConfig config;
  auto st = open_store_for(global, &config);
  if (!st) return report_error(st.error());
  auto& store = **st;
  auto req = store.get_topup_request(id);
  if (!req) return report_error(req.error());
  if (claimed_signer && *claimed_signer != req->hodl) {
    return usage_error("the signature is by " + claimed_signer->to_base58() + " but request " +
                       std::to_string(id) + " needs HODL " + req->hodl.to_base58());
  }
  if (tx_bytes) {
    // The signed transaction must carry exactly the stored message.
    auto tx = solana::Transaction::deserialize(*tx_bytes);
    if (!tx) return report_error(with_context(tx.error(), "transaction_base64"));
    if (tx->message.serialize() != req->message) {
      return usage_error("the signed transaction's message differs from request " +
                         std::to_string(id) + "'s (byte for byte); refusing to send it");
    }
    if (tx->signatures.size() != 1 || tx->signatures[0] != sig) {
      return usage_error(
          "the signed transaction's signature differs from the file's "
          "\"signature\"");
    }
  }
  auto client = rpc::RpcClient::connect(config.rpc.url);
  if (!client) return report_error(client.error());
  auto result = wallet::submit_topup(store, **client, id, sig, sender_options());
  if (!result) {
    if (result.error().code == ErrorCode::kConflict) return refuse(result.error());
    return report_error(result.error());
  }
  if (global.json) {
    std::cout << json{{"id", id},
                      {"status", store::topup_status_name(result->status)},
                      {"signature", result->signature.to_base58()},
                      {"already_landed", result->already_landed},
                      {"slot", result->slot},
                      {"fee_lamports", result->fee_lamports},
                      {"detail", result->detail}}
                     .dump()
              << "\n";
  } else if (result->already_landed) {
    std::cout << "request " << id << " already landed (" << result->signature.to_base58()
              << "); nothing sent\n";
  } else {
    std::cout << "request " << id << " " << store::topup_status_name(result->status) << ": "
              << result->signature.to_base58();
    if (result->status == store::TopupStatus::kLanded) {
      std::cout << " (slot " << result->slot << ", fee " << result->fee_lamports << " lamports)";
    }
    std::cout << "\n";
    if (!result->detail.empty()) std::cout << result->detail << "\n";
  }
  return result->status == store::TopupStatus::kLanded ? 0 : 1;
}

}  // namespace

void register_hodl_commands(CLI::App& app, GlobalOptions& global) {
  auto* hodl = app.add_subcommand("hodl", "HODL keys, nonce accounts and offline-signed top-ups");
  hodl->require_subcommand(1);

  auto add_args = std::make_shared<AddArgs>();
  auto* add = hodl->add_subcommand("add", "Register a HODL key after init");
  add->add_option("--keypair", add_args->keypair,
                  "Import a HODL keypair file (sealed under the wallet passphrase)");
  add->add_option("--pubkey", add_args->pubkey, "Register a watch-only HODL pubkey");
  add->add_option("--label", add_args->label, "Free text shown by `qtw hodl list`");
  add_seal_options(add, add_args->seal);
  add->callback([add_args, &global] { global.exit_code = run_hodl_add(*add_args, global); });

  auto* list = hodl->add_subcommand("list", "HODL keys and their nonce accounts");
  list->callback([&global] { global.exit_code = run_hodl_list(global); });

  auto remove_pk = std::make_shared<std::string>();
  auto remove_yes = std::make_shared<bool>(false);
  auto* remove = hodl->add_subcommand(
      "remove", "Remove a HODL key (typed confirmation; not the last one while Banks hold funds)");
  remove->add_option("pubkey", *remove_pk, "The HODL key")->required();
  remove->add_flag("--yes", *remove_yes, "Skip the typed confirmation");
  remove->callback([remove_pk, remove_yes, &global] {
    global.exit_code = run_hodl_remove(*remove_pk, *remove_yes, global);
  });

  auto* nonce = hodl->add_subcommand("nonce", "Durable nonce accounts of HODL keys");
  nonce->require_subcommand(1);
  struct NonceArgs {
    std::optional<std::string> hodl;
    std::optional<std::uint32_t> bank;
    std::optional<std::string> passphrase_file;
  };
  auto nonce_args = std::make_shared<NonceArgs>();
  auto* create = nonce->add_subcommand(
      "create", "Create a nonce account (authority: the HODL key; rent paid by a Bank)");
  create->add_option("--hodl", nonce_args->hodl, "HODL pubkey (default: the first watch-only)");
  create->add_option("--bank", nonce_args->bank, "Bank index that pays (default: the richest)");
  add_passphrase_option(create, nonce_args->passphrase_file);
  create->callback([nonce_args, &global] {
    global.exit_code =
        run_nonce_create(nonce_args->hodl, nonce_args->bank, nonce_args->passphrase_file, global);
  });

  auto requests_all = std::make_shared<bool>(false);
  auto* requests = hodl->add_subcommand("requests",
                                        "Top-up requests waiting for an offline "
                                        "signature (--all: every request)");
  requests->add_flag("--all", *requests_all, "Also landed, failed and stale requests");
  requests->callback(
      [requests_all, &global] { global.exit_code = run_requests(*requests_all, global); });

  auto* request = hodl->add_subcommand("request", "One top-up request");
  request->require_subcommand(1);
  struct ExportArgs {
    std::int64_t id = 0;
    std::string outfile;
    bool force = false;
  };
  auto export_args = std::make_shared<ExportArgs>();
  auto* exp = request->add_subcommand("export",
                                      "Write a pending request to a file for the "
                                      "offline signer");
  exp->add_option("id", export_args->id, "Request id (`qtw hodl requests`)")->required();
  exp->add_option("--outfile", export_args->outfile, "File to write")->required();
  exp->add_flag("--force", export_args->force, "Overwrite the file");
  exp->callback([export_args, &global] {
    global.exit_code =
        run_request_export(export_args->id, export_args->outfile, export_args->force, global);
  });

  auto sign_args = std::make_shared<SignArgs>();
  auto* sign =
      hodl->add_subcommand("sign",
                           "OFFLINE: check a request file, show every transfer, sign after a typed "
                           "confirmation (opens no store, no network)");
  sign->add_option("request", sign_args->request_file, "Request file (request export)")->required();
  sign->add_option("--keypair", sign_args->keypair, "The HODL keypair file")->required();
  sign->add_option("--outfile", sign_args->outfile, "Signed file to write")->required();
  sign->add_flag("--force", sign_args->force, "Overwrite the signed file");
  sign->callback([sign_args, &global] { global.exit_code = run_sign(*sign_args, global); });

  auto submit_args = std::make_shared<SubmitArgs>();
  auto* submit = hodl->add_subcommand(
      "submit", "Verify a signed request against the store, send it, confirm, record");
  submit->add_option("signed", submit_args->signed_file, "Signed file (hodl sign)");
  submit->add_option("--request", submit_args->request, "Request id (with --signer)");
  submit->add_option("--signer", submit_args->signer,
                     "PUBKEY=SIGNATURE of the request's message, as the Solana CLI prints");
  submit->callback([submit_args, &global] { global.exit_code = run_submit(*submit_args, global); });

  auto* banks = app.add_subcommand("banks", "Bank keys");
  banks->require_subcommand(1);
  struct BanksArgs {
    std::uint32_t count = 1;
    std::optional<std::string> passphrase_file;
  };
  auto banks_args = std::make_shared<BanksArgs>();
  auto* banks_add = banks->add_subcommand("add", "Derive and register N more Banks");
  banks_add->add_option("count", banks_args->count, "How many")
      ->required()
      ->check(CLI::Range(1u, 1000u));
  add_passphrase_option(banks_add, banks_args->passphrase_file);
  banks_add->callback([banks_args, &global] {
    global.exit_code = run_banks_add(banks_args->count, banks_args->passphrase_file, global);
  });
}

}  // namespace qtw::cli
