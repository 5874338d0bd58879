#include "qtw/vault/hot_keys.h"

#include <sodium.h>

#include <array>

namespace qtw::vault {
namespace {

constexpr std::uint32_t h(std::uint32_t i) { return i | solana::kHardenedOffset; }

Status check_index(std::uint32_t i, const char* what) {
  if (i > kMaxIndex) {
    return make_error(ErrorCode::kInvalidArgument, std::string(what) + " index " +
                                                       std::to_string(i) + " exceeds 2^31-1");
  }
  return {};
}

}  // namespace

SecureBytes generate_master_seed() {
  SecureBytes seed(kMasterSeedSize);
  randombytes_buf(seed.data(), seed.size());
  return seed;
}

Result<std::vector<std::uint32_t>> bank_path(std::uint32_t bank_index) {
  QTW_TRY(check_index(bank_index, "bank"));
  return std::vector<std::uint32_t>{h(kPurposeBip44), h(kCoinSolana), h(kBankAccount),
                                    h(bank_index), h(0)};
}

Result<std::vector<std::uint32_t>> explorer_path(std::uint32_t bank_index,
                                                 std::uint32_t explorer_index) {
  QTW_TRY(check_index(bank_index, "bank"));
  QTW_TRY(check_index(explorer_index, "explorer"));
  return std::vector<std::uint32_t>{h(kPurposeBip44), h(kCoinSolana), h(kExplorerAccount),
                                    h(bank_index), h(explorer_index)};
}

std::string bank_path_string(std::uint32_t bank_index) {
  return "m/44'/501'/1000'/" + std::to_string(bank_index) + "'/0'";
}

std::string explorer_path_string(std::uint32_t bank_index, std::uint32_t explorer_index) {
  return "m/44'/501'/1001'/" + std::to_string(bank_index) + "'/" +
         std::to_string(explorer_index) + "'";
}

Result<std::unique_ptr<HotKeys>> HotKeys::create(SecureBytes master_seed) {
  if (master_seed.size() != kMasterSeedSize) {
    return make_error(ErrorCode::kInvalidArgument,
                      "master seed must be 32 bytes, got " + std::to_string(master_seed.size()));
  }
  return std::unique_ptr<HotKeys>(new HotKeys(std::move(master_seed)));
}

Result<solana::Keypair> HotKeys::bank_keypair(std::uint32_t bank_index) const {
  QTW_ASSIGN_OR_RETURN(auto path, bank_path(bank_index));
  QTW_ASSIGN_OR_RETURN(solana::ExtendedKey node, solana::slip10_derive(seed_.span(), path));
  return solana::Keypair::from_seed(node.key.span());
}

Result<std::shared_ptr<const solana::ExtendedKey>> HotKeys::explorer_parent(
    std::uint32_t bank_index) const {
  QTW_TRY(check_index(bank_index, "bank"));
  std::lock_guard lock(mu_);
  if (auto it = explorer_parents_.find(bank_index); it != explorer_parents_.end()) {
    return it->second;
  }
  const std::array<std::uint32_t, 4> path = {h(kPurposeBip44), h(kCoinSolana),
                                             h(kExplorerAccount), h(bank_index)};
  QTW_ASSIGN_OR_RETURN(solana::ExtendedKey node, solana::slip10_derive(seed_.span(), path));
  auto shared = std::make_shared<const solana::ExtendedKey>(std::move(node));
  explorer_parents_.emplace(bank_index, shared);
  return shared;
}

Result<solana::Keypair> HotKeys::explorer_keypair(std::uint32_t bank_index,
                                                  std::uint32_t explorer_index) const {
  QTW_TRY(check_index(explorer_index, "explorer"));
  QTW_ASSIGN_OR_RETURN(auto parent, explorer_parent(bank_index));
  return solana::slip10_child_keypair(*parent, h(explorer_index));
}

Result<solana::Pubkey> HotKeys::explorer_pubkey(std::uint32_t bank_index,
                                                std::uint32_t explorer_index) const {
  QTW_TRY(check_index(explorer_index, "explorer"));
  QTW_ASSIGN_OR_RETURN(auto parent, explorer_parent(bank_index));
  return solana::slip10_child_pubkey(*parent, h(explorer_index));
}

}  // namespace qtw::vault
