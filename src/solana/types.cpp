#include "qtw/solana/types.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "qtw/solana/encoding.h"

namespace qtw::solana {

Result<Pubkey> Pubkey::from_base58(std::string_view text) {
  // solana-sdk address/src/lib.rs: at most 44 characters, exactly 32 bytes.
  if (text.size() > kMaxBase58PubkeyLen) {
    return make_error(ErrorCode::kInvalidArgument,
                      "pubkey '" + std::string(text.substr(0, 50)) + "' is longer than 44 characters");
  }
  Pubkey k;
  auto st = base58_decode_exact(text, k.bytes);
  if (!st) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid pubkey '" + std::string(text) + "': " + st.error().message);
  }
  return k;
}

Pubkey Pubkey::from_bytes(std::span<const std::uint8_t, kPubkeySize> b) {
  Pubkey k;
  std::copy(b.begin(), b.end(), k.bytes.begin());
  return k;
}

std::string Pubkey::to_base58() const { return base58_encode(bytes); }

bool Pubkey::is_zero() const noexcept {
  return std::all_of(bytes.begin(), bytes.end(), [](auto b) { return b == 0; });
}

Result<Signature> Signature::from_base58(std::string_view text) {
  Signature s;
  auto st = base58_decode_exact(text, s.bytes);
  if (!st) {
    return make_error(ErrorCode::kInvalidArgument, "invalid signature: " + st.error().message);
  }
  return s;
}

std::string Signature::to_base58() const { return base58_encode(bytes); }

bool Signature::is_zero() const noexcept {
  return std::all_of(bytes.begin(), bytes.end(), [](auto b) { return b == 0; });
}

Result<Hash> Hash::from_base58(std::string_view text) {
  Hash h;
  auto st = base58_decode_exact(text, h.bytes);
  if (!st) return make_error(ErrorCode::kInvalidArgument, "invalid hash: " + st.error().message);
  return h;
}

std::string Hash::to_base58() const { return base58_encode(bytes); }

Keypair Keypair::generate() {
  ensure_sodium_initialized();
  SecureBytes seed(kSeedSize);
  randombytes_buf(seed.data(), seed.size());
  return *from_seed(seed.span());  // a 32-byte seed cannot fail
}

Result<Keypair> Keypair::from_seed(std::span<const std::uint8_t> seed) {
  ensure_sodium_initialized();
  if (seed.size() != kSeedSize) {
    return make_error(ErrorCode::kInvalidArgument,
                      "an Ed25519 seed is 32 bytes, got " + std::to_string(seed.size()));
  }
  Keypair kp;
  kp.secret_ = SecureBytes(crypto_sign_SECRETKEYBYTES);
  // RFC 8032 §5.1.5: the public key is derived from SHA-512(seed).
  crypto_sign_seed_keypair(kp.pubkey_.bytes.data(), kp.secret_.data(), seed.data());
  return kp;
}

Result<Keypair> Keypair::from_bytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != kKeypairBytesSize) {
    return make_error(ErrorCode::kInvalidArgument,
                      "a keypair is 64 bytes (seed || pubkey), got " + std::to_string(bytes.size()));
  }
  QTW_ASSIGN_OR_RETURN(Keypair kp, from_seed(bytes.first(kSeedSize)));
  // solana-sdk keypair/src/lib.rs: reject bytes whose pubkey half does not
  // match the seed (constant-time compare).
  if (sodium_memcmp(kp.pubkey_.bytes.data(), bytes.data() + kSeedSize, kPubkeySize) != 0) {
    return make_error(ErrorCode::kParse,
                      "keypair bytes do not specify the same pubkey as derived from their secret key");
  }
  return kp;
}

Signature Keypair::sign(std::span<const std::uint8_t> message) const {
  Signature sig;
  crypto_sign_detached(sig.bytes.data(), nullptr, message.data(), message.size(), secret_.data());
  return sig;
}

std::span<const std::uint8_t> Keypair::seed() const noexcept { return secret_.span().first(kSeedSize); }

SecureBytes Keypair::to_bytes() const {
  // libsodium's secret key is already seed || pubkey, the Solana layout.
  return secret_.clone();
}

Keypair Keypair::clone() const {
  Keypair kp;
  kp.secret_ = secret_.clone();
  kp.pubkey_ = pubkey_;
  return kp;
}

bool verify(const Pubkey& pubkey, std::span<const std::uint8_t> message,
            const Signature& signature) noexcept {
  ensure_sodium_initialized();
  return crypto_sign_verify_detached(signature.bytes.data(), message.data(), message.size(),
                                     pubkey.bytes.data()) == 0;
}

bool is_on_curve(const Pubkey& pubkey) noexcept {
  ensure_sodium_initialized();
  // Stricter than curve25519-dalek's decompress (it also rejects small-order
  // points), which only matters for addresses nobody could sign for anyway.
  return crypto_core_ed25519_is_valid_point(pubkey.bytes.data()) == 1;
}

}  // namespace qtw::solana
