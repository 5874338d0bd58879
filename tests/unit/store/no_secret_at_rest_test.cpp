// I5 "no plaintext secret at rest": a wallet is initialised, a HODL keypair
// imported, 2 Banks and 100 Explorers derived; then every byte of the store
// file and its -wal/-shm (while open and after close) is scanned for the
// master seed and every derived or imported 32-byte seed and 64-byte secret
// key. None may appear. The sealed envelope must appear (proves the scan
// reads what was written).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "qtw/solana/types.h"
#include "qtw/store/sqlite_store.h"
#include "qtw/vault/hot_keys.h"
#include "qtw/vault/vault.h"

namespace qtw {
namespace {

std::vector<std::uint8_t> read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool contains(const std::vector<std::uint8_t>& hay, std::span<const std::uint8_t> needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

TEST(NoSecretAtRest, StoreFilesHoldNoSeedOrSecretKey) {
  char tmpl[] = "/tmp/qtw-secret-scan-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(tmpl);
  const auto db_path = dir / "qtw.db";
  const vault::SealOptions fast{vault::kOpslimitMin, vault::kMemlimitMinBytes};
  const auto passphrase = SecureBytes::copy_of(std::vector<std::uint8_t>{'p', 'w', '1', '2'});

  std::vector<SecureBytes> secrets;  // everything that must never hit the disk
  std::vector<std::uint8_t> sealed_seed;
  {
    store::SqliteStoreOptions options;
    options.create_if_missing = true;
    auto store = store::open_sqlite_store(db_path, options);
    ASSERT_TRUE(store.has_value()) << to_string(store.error());
    auto& s = **store;

    auto seed = vault::generate_master_seed();
    secrets.push_back(seed.clone());
    auto sealed = vault::seal(seed.span(), passphrase, vault::kPurposeMasterSeed, fast);
    ASSERT_TRUE(sealed.has_value());
    sealed_seed = *sealed;
    ASSERT_TRUE(s.create_wallet(*sealed));
    auto hot = vault::HotKeys::create(std::move(seed));
    ASSERT_TRUE(hot.has_value());

    auto hodl = solana::Keypair::generate();
    secrets.push_back(SecureBytes::copy_of(hodl.seed()));
    secrets.push_back(hodl.to_bytes());
    auto sealed_hodl = vault::seal(hodl.to_bytes().span(), passphrase,
                                   vault::hodl_purpose(hodl.pubkey().to_base58()), fast);
    ASSERT_TRUE(sealed_hodl.has_value());
    ASSERT_TRUE(s.add_hodl(hodl.pubkey(), *sealed_hodl, "imported"));

    for (std::uint32_t i = 0; i < 2; ++i) {
      auto bank_kp = (*hot)->bank_keypair(i);
      ASSERT_TRUE(bank_kp.has_value());
      secrets.push_back(SecureBytes::copy_of(bank_kp->seed()));
      secrets.push_back(bank_kp->to_bytes());
      auto bank = s.add_bank(i, bank_kp->pubkey());
      ASSERT_TRUE(bank.has_value());
      auto ex = s.reserve_explorers(
          bank->id, 50, [&, i](std::uint32_t j) -> Result<solana::Pubkey> {
            QTW_ASSIGN_OR_RETURN(auto kp, (*hot)->explorer_keypair(i, j));
            secrets.push_back(SecureBytes::copy_of(kp.seed()));
            secrets.push_back(kp.to_bytes());
            return kp.pubkey();
          });
      ASSERT_TRUE(ex.has_value()) << to_string(ex.error());
      ASSERT_EQ(ex->size(), 50u);
    }
    ASSERT_EQ(secrets.size(), 1u + 2u + 4u + 200u);

    // While open: the WAL holds the recent pages.
    const auto wal = read_all(db_path.string() + "-wal");
    ASSERT_FALSE(wal.empty());
    for (const auto& file : {read_all(db_path), wal, read_all(db_path.string() + "-shm")}) {
      for (const auto& secret : secrets) EXPECT_FALSE(contains(file, secret.span()));
      EXPECT_FALSE(contains(file, passphrase.span()));
    }
    EXPECT_TRUE(contains(wal, sealed_seed) || contains(read_all(db_path), sealed_seed));
  }
  // After close (checkpointed into the main file).
  std::size_t scanned = 0;
  for (const auto& name : {db_path.string(), db_path.string() + "-wal", db_path.string() + "-shm"}) {
    if (!std::filesystem::exists(name)) continue;
    const auto file = read_all(name);
    scanned += file.size();
    for (const auto& secret : secrets) EXPECT_FALSE(contains(file, secret.span())) << name;
  }
  const auto main_file = read_all(db_path);
  EXPECT_TRUE(contains(main_file, sealed_seed));
  EXPECT_GT(scanned, 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace qtw
