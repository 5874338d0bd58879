#include "qtw/solana/slip10.h"

#include <sodium.h>

#include <charconv>
#include <string>

namespace qtw::solana {
namespace {

ExtendedKey split(const unsigned char (&i64)[64]) {
  ExtendedKey k{SecureBytes::copy_of(std::span(i64, 32)),
                SecureBytes::copy_of(std::span(i64 + 32, 32))};
  return k;
}

}  // namespace

Result<ExtendedKey> slip10_master(std::span<const std::uint8_t> seed) {
  ensure_sodium_initialized();
  if (seed.size() < 16 || seed.size() > 64) {
    return make_error(ErrorCode::kInvalidArgument, "SLIP-0010 seed must be 16..64 bytes");
  }
  // slip-0010.md: I = HMAC-SHA512(Key = "ed25519 seed", Data = S).
  static constexpr unsigned char kCurve[] = "ed25519 seed";
  crypto_auth_hmacsha512_state st;
  unsigned char out[64];
  crypto_auth_hmacsha512_init(&st, kCurve, sizeof(kCurve) - 1);
  crypto_auth_hmacsha512_update(&st, seed.data(), seed.size());
  crypto_auth_hmacsha512_final(&st, out);
  auto k = split(out);
  sodium_memzero(out, sizeof(out));
  sodium_memzero(&st, sizeof(st));
  return k;
}

namespace {

// I = HMAC-SHA512(Key = c_par, Data = 0x00 || ser256(k_par) || ser32(i)),
// ser32 big-endian, into `out` (the caller wipes it). kInvalidArgument for a
// non-hardened index: ed25519 has no public derivation.
Status child_hmac(const ExtendedKey& parent, std::uint32_t index, unsigned char (&out)[64]) {
  if ((index & kHardenedOffset) == 0) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "ed25519 supports hardened derivation only (index " + std::to_string(index) + ")");
  }
  unsigned char data[1 + 32 + 4];
  data[0] = 0;
  std::copy_n(parent.key.data(), 32, data + 1);
  data[33] = static_cast<unsigned char>(index >> 24);
  data[34] = static_cast<unsigned char>(index >> 16);
  data[35] = static_cast<unsigned char>(index >> 8);
  data[36] = static_cast<unsigned char>(index);
  crypto_auth_hmacsha512_state st;
  crypto_auth_hmacsha512_init(&st, parent.chain_code.data(), parent.chain_code.size());
  crypto_auth_hmacsha512_update(&st, data, sizeof(data));
  crypto_auth_hmacsha512_final(&st, out);
  sodium_memzero(data, sizeof(data));
  sodium_memzero(&st, sizeof(st));
  return {};
}

}  // namespace

Result<ExtendedKey> slip10_child(const ExtendedKey& parent, std::uint32_t index) {
  unsigned char out[64];
  QTW_TRY(child_hmac(parent, index, out));
  auto k = split(out);
  sodium_memzero(out, sizeof(out));
  return k;
}

Result<Pubkey> slip10_child_pubkey(const ExtendedKey& parent, std::uint32_t index) {
  unsigned char out[64];
  QTW_TRY(child_hmac(parent, index, out));
  // IL (out[0..32]) is the child's Ed25519 seed.
  Pubkey pk;
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk.bytes.data(), sk, out);
  sodium_memzero(sk, sizeof(sk));
  sodium_memzero(out, sizeof(out));
  return pk;
}

Result<Keypair> slip10_child_keypair(const ExtendedKey& parent, std::uint32_t index) {
  unsigned char out[64];
  QTW_TRY(child_hmac(parent, index, out));
  // IL (out[0..32]) is the child's Ed25519 seed; from_seed copies it into
  // the Keypair's guarded memory.
  auto kp = Keypair::from_seed(std::span<const std::uint8_t>(out, 32));
  sodium_memzero(out, sizeof(out));
  return kp;
}

Result<std::vector<std::uint32_t>> parse_derivation_path(std::string_view path) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument,
                      "derivation path '" + std::string(path) + "': " + why);
  };
  if (path.empty() || path[0] != 'm') return bad("must start with m");
  std::vector<std::uint32_t> out;
  std::size_t pos = 1;
  while (pos < path.size()) {
    if (path[pos] != '/') return bad("expected '/'");
    ++pos;
    std::size_t end = pos;
    while (end < path.size() && path[end] >= '0' && path[end] <= '9') ++end;
    if (end == pos) return bad("expected a number");
    std::uint32_t v = 0;
    auto [p, ec] = std::from_chars(path.data() + pos, path.data() + end, v);
    if (ec != std::errc() || p != path.data() + end || v >= kHardenedOffset)
      return bad("index out of range");
    if (end >= path.size() || (path[end] != '\'' && path[end] != 'h')) {
      return bad("every component must be hardened (')");
    }
    out.push_back(v | kHardenedOffset);
    pos = end + 1;
  }
  return out;
}

Result<ExtendedKey> slip10_derive(std::span<const std::uint8_t> seed,
                                  std::span<const std::uint32_t> path) {
  QTW_ASSIGN_OR_RETURN(ExtendedKey k, slip10_master(seed));
  for (auto index : path) {
    QTW_ASSIGN_OR_RETURN(k, slip10_child(k, index));
  }
  return k;
}

}  // namespace qtw::solana
