#pragma once
// Core Solana value types: Pubkey, Signature, Hash (blockhash) and Keypair.
// Keypair is Ed25519 on libsodium; its secret lives in SecureBytes.
// Thread safety: all types are immutable after construction except by
// assignment; const methods are safe to call concurrently.
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "qtw/result.h"
#include "qtw/secure_bytes.h"

namespace qtw::solana {

inline constexpr std::size_t kPubkeySize = 32;
inline constexpr std::size_t kSignatureSize = 64;
inline constexpr std::size_t kHashSize = 32;
inline constexpr std::size_t kSeedSize = 32;          // Ed25519 seed (RFC 8032 private key)
inline constexpr std::size_t kKeypairBytesSize = 64;  // seed || pubkey (Solana CLI format)
inline constexpr std::size_t kMaxBase58PubkeyLen = 44;
// PACKET_DATA_SIZE = 1280 - 40 - 8 (solana-sdk packet/src/lib.rs).
inline constexpr std::size_t kPacketDataSize = 1232;

struct Pubkey {
  std::array<std::uint8_t, kPubkeySize> bytes{};

  // Strict: base58 of exactly 32 bytes, at most 44 characters.
  [[nodiscard]] static Result<Pubkey> from_base58(std::string_view text);
  [[nodiscard]] static Pubkey from_bytes(std::span<const std::uint8_t, kPubkeySize> b);
  [[nodiscard]] std::string to_base58() const;
  [[nodiscard]] bool is_zero() const noexcept;
  auto operator<=>(const Pubkey&) const = default;
};

struct Signature {
  std::array<std::uint8_t, kSignatureSize> bytes{};

  [[nodiscard]] static Result<Signature> from_base58(std::string_view text);
  [[nodiscard]] std::string to_base58() const;
  [[nodiscard]] bool is_zero() const noexcept;
  auto operator<=>(const Signature&) const = default;
};

struct Hash {
  std::array<std::uint8_t, kHashSize> bytes{};

  [[nodiscard]] static Result<Hash> from_base58(std::string_view text);
  [[nodiscard]] std::string to_base58() const;
  auto operator<=>(const Hash&) const = default;
};
using Blockhash = Hash;

// An Ed25519 keypair. Move-only; the 32-byte seed and libsodium's 64-byte
// secret key are held in SecureBytes and wiped on destruction.
class Keypair {
 public:
  // Fresh keypair from the OS CSPRNG (randombytes_buf).
  [[nodiscard]] static Keypair generate();
  // From a 32-byte RFC 8032 seed (the first half of a Solana CLI keypair).
  [[nodiscard]] static Result<Keypair> from_seed(std::span<const std::uint8_t> seed);
  // From the 64-byte Solana form seed || pubkey; rejects a pubkey that does
  // not match the seed (constant-time compare), as solana-sdk does.
  [[nodiscard]] static Result<Keypair> from_bytes(std::span<const std::uint8_t> bytes);

  Keypair(Keypair&&) noexcept = default;
  Keypair& operator=(Keypair&&) noexcept = default;
  Keypair(const Keypair&) = delete;
  Keypair& operator=(const Keypair&) = delete;

  [[nodiscard]] const Pubkey& pubkey() const noexcept { return pubkey_; }
  // Deterministic Ed25519 signature over `message` (RFC 8032).
  [[nodiscard]] Signature sign(std::span<const std::uint8_t> message) const;
  // The 32-byte seed, still in secure memory.
  [[nodiscard]] std::span<const std::uint8_t> seed() const noexcept;
  // seed || pubkey (64 bytes) in a fresh secure buffer (for writing files).
  [[nodiscard]] SecureBytes to_bytes() const;
  [[nodiscard]] Keypair clone() const;

 private:
  Keypair() = default;
  SecureBytes secret_;  // libsodium secret key: seed(32) || pubkey(32)
  Pubkey pubkey_;
};

// Ed25519 verification (libsodium crypto_sign_verify_detached).
[[nodiscard]] bool verify(const Pubkey& pubkey, std::span<const std::uint8_t> message,
                          const Signature& signature) noexcept;

// True if the 32 bytes are a valid Ed25519 curve point (i.e. could have a
// private key). Program-derived addresses are off-curve.
[[nodiscard]] bool is_on_curve(const Pubkey& pubkey) noexcept;

}  // namespace qtw::solana

template <>
struct std::hash<qtw::solana::Pubkey> {
  std::size_t operator()(const qtw::solana::Pubkey& k) const noexcept {
    std::size_t h;
    static_assert(sizeof(h) <= qtw::solana::kPubkeySize);
    __builtin_memcpy(&h, k.bytes.data(), sizeof(h));  // keys are uniformly random
    return h;
  }
};
template <>
struct std::hash<qtw::solana::Signature> {
  std::size_t operator()(const qtw::solana::Signature& s) const noexcept {
    std::size_t h;
    __builtin_memcpy(&h, s.bytes.data(), sizeof(h));
    return h;
  }
};
