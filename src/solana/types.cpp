#include "qtw/solana/types.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "qtw/solana/encoding.h"

namespace qtw::solana {

Result<Pubkey> Pubkey::from_base58(std::string_view text) {
  // solana-sdk address/src/lib.rs: at most 44 characters, exactly 32 bytes.
  if (text.size() > kMaxBase58PubkeyLen) {
    return make_error(ErrorCode::kInvalidArgument, "pubkey '" + std::string(text.substr(0, 50)) +
                                                       "' is longer than 44 characters");
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

std::string Pubkey::to_base58() const {
  return base58_encode(bytes);
}

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

std::string Signature::to_base58() const {
  return base58_encode(bytes);
}

bool Signature::is_zero() const noexcept {
  return std::all_of(bytes.begin(), bytes.end(), [](auto b) { return b == 0; });
}

Result<Hash> Hash::from_base58(std::string_view text) {
  Hash h;
  auto st = base58_decode_exact(text, h.bytes);
  if (!st) return make_error(ErrorCode::kInvalidArgument, "invalid hash: " + st.error().message);
  return h;
}

std::string Hash::to_base58() const {
  return base58_encode(bytes);
}

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
    return make_error(ErrorCode::kInvalidArgument, "a keypair is 64 bytes (seed || pubkey), got " +
                                                       std::to_string(bytes.size()));
  }
  QTW_ASSIGN_OR_RETURN(Keypair kp, from_seed(bytes.first(kSeedSize)));
  // solana-sdk keypair/src/lib.rs: reject bytes whose pubkey half does not
  // match the seed (constant-time compare).
  if (sodium_memcmp(kp.pubkey_.bytes.data(), bytes.data() + kSeedSize, kPubkeySize) != 0) {
    return make_error(
        ErrorCode::kParse,
        "keypair bytes do not specify the same pubkey as derived from their secret key");
  }
  return kp;
}

Signature Keypair::sign(std::span<const std::uint8_t> message) const {
  Signature sig;
  crypto_sign_detached(sig.bytes.data(), nullptr, message.data(), message.size(), secret_.data());
  return sig;
}

std::span<const std::uint8_t> Keypair::seed() const noexcept {
  return secret_.span().first(kSeedSize);
}

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

namespace {

// Arithmetic modulo p = 2^255 - 19 on eight 32-bit limbs (little-endian),
// just enough to test whether a compressed Edwards y has an x. Not constant
// time: it only ever sees public keys.
using Fe = std::array<std::uint32_t, 8>;

Fe fe_reduce_once(const Fe& a) {
  // Subtract p if a >= p (a < 2^256 here and p > 2^255, so once may not be
  // enough; callers fold the top bit first so a < 2^255 + small).
  static constexpr Fe kP = {0xffffffed, 0xffffffff, 0xffffffff, 0xffffffff,
                            0xffffffff, 0xffffffff, 0xffffffff, 0x7fffffff};
  Fe r{};
  std::int64_t borrow = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const std::int64_t d = static_cast<std::int64_t>(a[i]) - kP[i] - borrow;
    r[i] = static_cast<std::uint32_t>(d);
    borrow = d < 0 ? 1 : 0;
  }
  return borrow != 0 ? a : r;
}

// Folds a 512-bit product (16 limbs) into a canonical element: 2^256 = 38 mod p.
Fe fe_fold(const std::array<std::uint64_t, 16>& wide) {
  std::array<std::uint64_t, 9> t{};
  std::uint64_t carry = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const std::uint64_t v = wide[i] + wide[i + 8] * 38 + carry;  // < 2^32 * 39 + 2^38
    t[i] = v & 0xffffffff;
    carry = v >> 32;
  }
  // carry * 2^256 = carry * 38
  std::uint64_t top = carry * 38;
  for (std::size_t i = 0; i < 8 && top != 0; ++i) {
    const std::uint64_t v = t[i] + top;
    t[i] = v & 0xffffffff;
    top = v >> 32;
  }
  if (top != 0) {  // at most once more, tiny
    std::uint64_t c = top * 38;
    for (std::size_t i = 0; i < 8 && c != 0; ++i) {
      const std::uint64_t v = t[i] + c;
      t[i] = v & 0xffffffff;
      c = v >> 32;
    }
  }
  Fe r{};
  for (std::size_t i = 0; i < 8; ++i) r[i] = static_cast<std::uint32_t>(t[i]);
  // Fold bit 255: 2^255 = 19 mod p.
  const std::uint32_t hi = r[7] >> 31;
  r[7] &= 0x7fffffff;
  std::uint64_t c = static_cast<std::uint64_t>(hi) * 19;
  for (std::size_t i = 0; i < 8 && c != 0; ++i) {
    const std::uint64_t v = r[i] + c;
    r[i] = static_cast<std::uint32_t>(v);
    c = v >> 32;
  }
  return fe_reduce_once(r);
}

Fe fe_mul(const Fe& a, const Fe& b) {
  std::array<std::uint64_t, 16> wide{};
  for (std::size_t i = 0; i < 8; ++i) {
    std::uint64_t carry = 0;
    for (std::size_t j = 0; j < 8; ++j) {
      const std::uint64_t v = static_cast<std::uint64_t>(a[i]) * b[j] + wide[i + j] + carry;
      wide[i + j] = v & 0xffffffff;
      carry = v >> 32;
    }
    wide[i + 8] += carry;
  }
  return fe_fold(wide);
}

Fe fe_add(const Fe& a, const Fe& b) {
  std::array<std::uint64_t, 16> wide{};
  std::uint64_t carry = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const std::uint64_t v = static_cast<std::uint64_t>(a[i]) + b[i] + carry;
    wide[i] = v & 0xffffffff;
    carry = v >> 32;
  }
  wide[8] = carry;
  return fe_fold(wide);
}

Fe fe_sub(const Fe& a, const Fe& b) {
  // a - b = a + (p - b) for canonical b.
  static constexpr Fe kP = {0xffffffed, 0xffffffff, 0xffffffff, 0xffffffff,
                            0xffffffff, 0xffffffff, 0xffffffff, 0x7fffffff};
  Fe nb{};
  std::int64_t borrow = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const std::int64_t d = static_cast<std::int64_t>(kP[i]) - b[i] - borrow;
    nb[i] = static_cast<std::uint32_t>(d);
    borrow = d < 0 ? 1 : 0;
  }
  return fe_add(a, nb);
}

bool fe_is_zero(const Fe& a) {
  return std::all_of(a.begin(), a.end(), [](std::uint32_t x) { return x == 0; });
}

Fe fe_from_bytes(const std::uint8_t* b) {
  // Bit 255 is the sign of x, not part of y. Like curve25519-dalek's
  // FieldElement::from_bytes, a non-canonical y (>= p) is reduced, not refused.
  Fe r{};
  for (std::size_t i = 0; i < 8; ++i) {
    r[i] = static_cast<std::uint32_t>(b[4 * i]) | static_cast<std::uint32_t>(b[4 * i + 1]) << 8 |
           static_cast<std::uint32_t>(b[4 * i + 2]) << 16 |
           static_cast<std::uint32_t>(b[4 * i + 3]) << 24;
  }
  r[7] &= 0x7fffffff;
  return fe_reduce_once(r);
}

}  // namespace

bool is_on_curve(const Pubkey& pubkey) noexcept {
  // RFC 8032 §5.1.3 decoding: x^2 = (y^2 - 1) / (d y^2 + 1); the point exists
  // iff that ratio is a square mod p. v = d y^2 + 1 is never 0 (-1/d is not a
  // square), so test u*v with Euler's criterion: (u v)^((p-1)/2) is 1 or 0.
  // This is curve25519-dalek's CompressedEdwardsY::decompress test, which
  // solana-sdk's is_on_curve (and so every PDA search) uses; libsodium's
  // crypto_core_ed25519_is_valid_point is stricter (main subgroup only) and
  // would call 7/8 of curve points "off curve".
  // d = -121665/121666 (RFC 8032 §5.1), little-endian limbs.
  static constexpr Fe kD = {0x135978a3, 0x75eb4dca, 0x4141d8ab, 0x00700a4d,
                            0x7779e898, 0x8cc74079, 0x2b6ffe73, 0x52036cee};
  const Fe one = {1, 0, 0, 0, 0, 0, 0, 0};
  const Fe y = fe_from_bytes(pubkey.bytes.data());
  const Fe y2 = fe_mul(y, y);
  const Fe u = fe_sub(y2, one);
  const Fe v = fe_add(fe_mul(kD, y2), one);
  const Fe w = fe_mul(u, v);
  if (fe_is_zero(w)) return true;
  // (p-1)/2 = 2^254 - 10 = 0b1...11110110: bits 253..0 all set except 3 and 0.
  Fe acc = one;
  for (int bit = 253; bit >= 0; --bit) {
    acc = fe_mul(acc, acc);
    const bool set = !(bit == 0 || bit == 3);
    if (set) acc = fe_mul(acc, w);
  }
  return acc == one;
}

}  // namespace qtw::solana
