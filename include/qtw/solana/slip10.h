#pragma once
// SLIP-0010 hierarchical derivation for Ed25519 (hardened only), as in
// satoshilabs/slips slip-0010.md and solana-sdk keypair/src/seed_derivable.rs.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "qtw/result.h"
#include "qtw/secure_bytes.h"
#include "qtw/solana/types.h"

namespace qtw::solana {

inline constexpr std::uint32_t kHardenedOffset = 0x8000'0000u;

struct ExtendedKey {
  SecureBytes key;         // 32 bytes: the Ed25519 seed of this node
  SecureBytes chain_code;  // 32 bytes
};

// I = HMAC-SHA512(Key = "ed25519 seed", Data = seed). Seed is 16..64 bytes.
[[nodiscard]] Result<ExtendedKey> slip10_master(std::span<const std::uint8_t> seed);
// Hardened child; `index` must have the hardened bit set (kInvalidArgument
// otherwise: ed25519 has no public derivation).
[[nodiscard]] Result<ExtendedKey> slip10_child(const ExtendedKey& parent, std::uint32_t index);
// The public key of hardened child `index` only: the child's secret exists
// on this call's stack for the few microseconds it takes and is wiped before
// returning, so no guarded (mmap/mlock) allocation is made per key. For
// deriving many pubkeys to persist (I1) before anything is signed.
[[nodiscard]] Result<Pubkey> slip10_child_pubkey(const ExtendedKey& parent, std::uint32_t index);
// The keypair of hardened child `index`: the same key as
// Keypair::from_seed(slip10_child(parent, index)->key), with the child's
// seed and chain code on this call's stack (wiped) instead of two guarded
// allocations: one guarded allocation per key (the Keypair's) instead of
// three, each an mmap/mlock/mprotect and an munmap with TLB shootdowns.
[[nodiscard]] Result<Keypair> slip10_child_keypair(const ExtendedKey& parent, std::uint32_t index);
// Parses "m/44'/501'/0'/0'" (every component must be hardened: ' or h).
[[nodiscard]] Result<std::vector<std::uint32_t>> parse_derivation_path(std::string_view path);
// Master then each index of `path` in turn.
[[nodiscard]] Result<ExtendedKey> slip10_derive(std::span<const std::uint8_t> seed,
                                                std::span<const std::uint32_t> path);

}  // namespace qtw::solana
