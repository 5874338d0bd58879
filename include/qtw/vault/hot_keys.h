#pragma once
// The wallet master seed and the hot-tier keys derived from it (docs/KEYS.md).
//
// Paths (SLIP-0010 ed25519, every component hardened; docs/KEYS.md):
//   Bank i                 m/44'/501'/1000'/i'/0'
//   Explorer j of Bank i   m/44'/501'/1001'/i'/j'
// Account numbers 1000' and 1001' keep qtw's keys apart from the ordinary
// wallet accounts m/44'/501'/a'/0' (a = 0, 1, ...) that other wallets derive
// from the same seed. i and j are 0 .. 2^31-1.
//
// Thread safety: HotKeys is safe to use from several threads (an internal
// mutex guards the per-Bank cache).
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "qtw/result.h"
#include "qtw/secure_bytes.h"
#include "qtw/solana/slip10.h"
#include "qtw/solana/types.h"

namespace qtw::vault {

inline constexpr std::size_t kMasterSeedSize = 32;
inline constexpr std::uint32_t kPurposeBip44 = 44;
inline constexpr std::uint32_t kCoinSolana = 501;
inline constexpr std::uint32_t kBankAccount = 1000;
inline constexpr std::uint32_t kExplorerAccount = 1001;
inline constexpr std::uint32_t kMaxIndex = 0x7fff'ffffu;  // hardened index range

// 32 bytes from the OS CSPRNG (randombytes_buf).
[[nodiscard]] SecureBytes generate_master_seed();

// Hardened index vectors (bit 31 set) and their text form ("m/44'/501'/...").
// kInvalidArgument if an index exceeds kMaxIndex.
[[nodiscard]] Result<std::vector<std::uint32_t>> bank_path(std::uint32_t bank_index);
[[nodiscard]] Result<std::vector<std::uint32_t>> explorer_path(std::uint32_t bank_index,
                                                               std::uint32_t explorer_index);
[[nodiscard]] std::string bank_path_string(std::uint32_t bank_index);
[[nodiscard]] std::string explorer_path_string(std::uint32_t bank_index,
                                               std::uint32_t explorer_index);

class HotKeys {
 public:
  // Takes ownership of the seed. kInvalidArgument unless it is 32 bytes.
  [[nodiscard]] static Result<std::unique_ptr<HotKeys>> create(SecureBytes master_seed);

  HotKeys(const HotKeys&) = delete;
  HotKeys& operator=(const HotKeys&) = delete;

  [[nodiscard]] Result<solana::Keypair> bank_keypair(std::uint32_t bank_index) const;
  [[nodiscard]] Result<solana::Keypair> explorer_keypair(std::uint32_t bank_index,
                                                         std::uint32_t explorer_index) const;
  [[nodiscard]] const SecureBytes& master_seed() const noexcept { return seed_; }

 private:
  explicit HotKeys(SecureBytes seed) : seed_(std::move(seed)) {}
  // m/44'/501'/1001'/i': derived once per Bank, then one step per Explorer.
  Result<std::shared_ptr<const solana::ExtendedKey>> explorer_parent(std::uint32_t bank_index) const;

  SecureBytes seed_;
  mutable std::mutex mu_;  // guards explorer_parents_
  mutable std::map<std::uint32_t, std::shared_ptr<const solana::ExtendedKey>> explorer_parents_;
};

}  // namespace qtw::vault
