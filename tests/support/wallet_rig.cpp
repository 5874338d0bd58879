#include "support/wallet_rig.h"

#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "qtw/store/sqlite_store.h"

namespace qtw::test {

std::string RequestCounter::http_summary() const {
  std::string out;
  for (const auto& [method, n] : http) {
    if (!out.empty()) out += ' ';
    out += method + "=" + std::to_string(n);
  }
  return out;
}

class WalletRig::Signer final : public wallet::KeySigner {
 public:
  explicit Signer(WalletRig& rig) : rig_(rig) {}
  Result<solana::Keypair> bank_keypair(std::uint32_t bank_index) override {
    return rig_.hot_->bank_keypair(bank_index);
  }
  Result<solana::Keypair> explorer_keypair(std::uint32_t bank_index,
                                           std::uint32_t explorer_index) override {
    return rig_.hot_->explorer_keypair(bank_index, explorer_index);
  }
  Result<solana::Pubkey> explorer_pubkey(std::uint32_t bank_index,
                                         std::uint32_t explorer_index) override {
    return rig_.hot_->explorer_pubkey(bank_index, explorer_index);
  }
  const solana::Keypair* hodl_keypair(const solana::Pubkey& hodl) override {
    return hodl == rig_.hodl_->pubkey() ? rig_.hodl_.get() : nullptr;
  }

 private:
  WalletRig& rig_;
};

Result<std::unique_ptr<WalletRig>> WalletRig::start(WalletRigOptions options) {
  std::unique_ptr<WalletRig> rig(new WalletRig());
  std::random_device rd;
  rig->dir_ = std::filesystem::temp_directory_path() /
              ("qtw-rig-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(rig->dir_);
  QTW_ASSIGN_OR_RETURN(rig->node_, LocalNode::start(LocalNodeOptions{options.slot_ms, 20'000, {}}));
  store::SqliteStoreOptions so;
  so.create_if_missing = true;
  QTW_ASSIGN_OR_RETURN(rig->store_, store::open_sqlite_store(rig->dir_ / "qtw.db", so));
  QTW_ASSIGN_OR_RETURN(rig->hot_, vault::HotKeys::create(vault::generate_master_seed()));
  rig->hodl_ = std::make_unique<solana::Keypair>(solana::Keypair::generate());
  const std::uint8_t not_watch_only[] = {1};  // the rig signs with hodl_ itself
  QTW_TRY(rig->store_->add_hodl(rig->hodl_->pubkey(), not_watch_only, "rig hodl"));
  for (std::uint32_t i = 0; i < options.banks; ++i) {
    QTW_ASSIGN_OR_RETURN(auto kp, rig->hot_->bank_keypair(i));
    QTW_TRY(rig->store_->add_bank(i, kp.pubkey()));
  }
  QTW_ASSIGN_OR_RETURN(rig->check_rpc_, rpc::RpcClient::connect(rig->node_->url()));
  QTW_ASSIGN_OR_RETURN(auto sig, rig->check_rpc_->request_airdrop(rig->hodl_->pubkey(),
                                                                  options.hodl_lamports));
  (void)sig;
  for (int i = 0; i < 500; ++i) {
    QTW_ASSIGN_OR_RETURN(auto bal, rig->check_rpc_->get_balance(rig->hodl_->pubkey()));
    if (bal >= options.hodl_lamports) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(options.slot_ms));
  }
  options.rpc.observer = &rig->counter_;
  QTW_ASSIGN_OR_RETURN(rig->rpc_, rpc::RpcClient::connect(rig->node_->url(), options.rpc));
  rig->signer_ = std::make_unique<Signer>(*rig);
  rig->balancer_ = std::make_unique<wallet::Balancer>(*rig->store_, *rig->rpc_, *rig->signer_,
                                                      options.balancer);
  return rig;
}

WalletRig::~WalletRig() {
  balancer_.reset();
  store_.reset();
  node_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

Result<std::size_t> WalletRig::use_explorers(std::size_t n, bool system_only) {
  store::KeyFilter f;
  f.tier = store::KeyTier::Explorer;
  f.state = store::KeyState::kAvailable;
  QTW_ASSIGN_OR_RETURN(auto available, store_->list_keys(f));
  std::vector<solana::Pubkey> keys;
  for (std::size_t i = 0; i < available.size() && i < n; ++i) keys.push_back(available[i].pubkey);
  if (!keys.empty()) {
    QTW_TRY(store_->transition_many(keys, store::KeyState::kAvailable, store::KeyState::kUsed,
                                    "rig: used by a pretend Lander"));
  }
  if (system_only) {
    for (const auto& k : keys) balancer_->note_signed_without_token_programs(k);
  }
  return keys.size();
}

}  // namespace qtw::test
