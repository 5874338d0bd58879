// qtw-embed: the smallest in-process Lander. A trading system links libqtw
// and holds the wallet in its own process: it opens the store, leases one
// single-use Explorer keypair, signs exactly one transaction with it, and
// returns it retired (it signed, so it is never handed out again).
//
//   QTW_PASSPHRASE=... qtw-embed --store qtw.db [--rpc-url URL] [--to PUBKEY]
//
// Prints the Explorer's pubkey, the signed transaction's signature and its
// base64 wire form (a real Lander would send it; this example does not).
// When the pool is empty it runs one balancer cycle (needs the RPC node and
// funded Banks or HODL). Exit: 0 ok, 1 operational error, 2 bad usage.
#include <iostream>
#include <string>
#include <string_view>

#include "qtw/rpc/rpc_client.h"
#include "qtw/solana/encoding.h"
#include "qtw/solana/message.h"
#include "qtw/solana/programs.h"
#include "qtw/solana/transaction.h"
#include "qtw/store/open_store.h"
#include "qtw/vault/vault.h"
#include "qtw/wallet/key_manager.h"

namespace {

constexpr std::string_view kUsage =
    "usage: QTW_PASSPHRASE=... qtw-embed --store PATH [--rpc-url URL] [--to PUBKEY]\n"
    "Leases one Explorer from the wallet in PATH, signs one transfer of 1000\n"
    "lamports with it (to PUBKEY, default the System Program's neighbour\n"
    "address), prints pubkey, signature and the base64 transaction, and\n"
    "returns the Explorer retired.\n";

struct SignedTransfer {
  qtw::solana::Signature signature;
  std::string wire_base64;
};

// One transfer of 1000 lamports from the Explorer, on a fresh blockhash,
// signed by the Explorer alone and checked.
qtw::Result<SignedTransfer> sign_one(const qtw::wallet::ExplorerLease& lease,
                                     const qtw::solana::Pubkey& to, const std::string& rpc_url) {
  using namespace qtw;
  QTW_ASSIGN_OR_RETURN(auto rpc, rpc::RpcClient::connect(rpc_url));
  QTW_ASSIGN_OR_RETURN(auto blockhash, rpc->get_latest_blockhash());
  const solana::Instruction ix[] = {solana::system_program::transfer(lease.pubkey, to, 1'000)};
  QTW_ASSIGN_OR_RETURN(auto message, solana::Message::compile(lease.pubkey, ix, blockhash.blockhash));
  auto tx = solana::Transaction::from_message(std::move(message));
  const solana::Keypair* signers[] = {lease.keypair.get()};
  QTW_TRY(tx.sign(signers));
  QTW_TRY(tx.verify());
  QTW_ASSIGN_OR_RETURN(auto wire, tx.serialize());
  return SignedTransfer{tx.id(), solana::base64_encode(wire)};
}

int fail(int code, std::string_view what, const qtw::Error& e) {
  std::cerr << "qtw-embed: " << what << ": " << e.message << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace qtw;
  std::string store_path;
  std::string rpc_url = "http://127.0.0.1:8899";
  std::string to = "11111111111111111111111111111112";
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (i + 1 < argc && (a == "--store" || a == "--rpc-url" || a == "--to")) {
      (a == "--store" ? store_path : a == "--rpc-url" ? rpc_url : to) = argv[++i];
      continue;
    }
    std::cerr << "qtw-embed: unknown argument " << a << "\n" << kUsage;
    return 2;
  }
  if (store_path.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  auto destination = solana::Pubkey::from_base58(to);
  if (!destination) return fail(2, "--to", destination.error());

  // 1. Open: the store, then the wallet (unseals the master seed in memory).
  auto passphrase = vault::load_passphrase({});  // QTW_PASSPHRASE / QTW_PASSPHRASE_FILE
  if (!passphrase) return fail(2, "passphrase", passphrase.error());
  auto store = store::open_store(store_path);
  if (!store) return fail(1, "store", store.error());
  wallet::KeyManagerOptions options;
  options.rpc_url = rpc_url;
  auto km = wallet::KeyManager::open(std::move(*store), *passphrase, options);
  if (!km) return fail(1, "open", km.error());

  // 2. Lease one Explorer; an empty pool gets one balancer cycle.
  auto lease = (*km)->get_explorer_keypair();
  if (!lease && lease.error().code == ErrorCode::kPoolEmpty) {
    if (auto cycle = (*km)->balance(1, 1, 10'000'000, 100'000'000); !cycle) {
      return fail(1, "balance", cycle.error());
    }
    lease = (*km)->get_explorer_keypair();
  }
  if (!lease) return fail(1, "lease", lease.error());

  // 3. Sign exactly one transaction with it (the Explorer pays the fee).
  auto signed_tx = sign_one(*lease, *destination, rpc_url);

  // 4. Return it. Once a signature may exist it is retired, never reused.
  const bool retire = signed_tx.has_value();
  if (auto r = (*km)->return_explorer_keypair(lease->pubkey, retire); !r) {
    return fail(1, "return", r.error());
  }
  if (!signed_tx) return fail(1, "sign", signed_tx.error());
  std::cout << "explorer " << lease->pubkey.to_base58() << "\n"
            << "signature " << signed_tx->signature.to_base58() << "\n"
            << "transaction " << signed_tx->wire_base64 << "\n";
  if (auto s = (*km)->stop(); !s) return fail(1, "stop", s.error());
  return 0;
}
