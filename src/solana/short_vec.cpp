#include "qtw/solana/short_vec.h"

#include <string>

namespace qtw::solana {

void short_vec_encode(std::uint16_t value, std::vector<std::uint8_t>& out) {
  // solana-sdk short-vec/src/lib.rs: 7 bits per byte, low bits first.
  std::uint32_t rem = value;
  while (true) {
    std::uint8_t elem = rem & 0x7f;
    rem >>= 7;
    if (rem == 0) {
      out.push_back(elem);
      return;
    }
    out.push_back(elem | 0x80);
  }
}

std::size_t short_vec_encoded_size(std::uint16_t value) noexcept {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  return 3;
}

Result<ShortVecDecoded> short_vec_decode(std::span<const std::uint8_t> in) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < kMaxShortVecBytes; ++i) {
    if (i >= in.size()) return make_error(ErrorCode::kParse, "short_vec: truncated length prefix");
    const std::uint8_t byte = in[i];
    // A non-first 0x00 byte is an alias of a shorter encoding (VisitError::Alias).
    if (i > 0 && byte == 0)
      return make_error(ErrorCode::kParse, "short_vec: non-canonical (alias) encoding");
    if (i == 2 && (byte & 0x80) != 0) {
      return make_error(ErrorCode::kParse, "short_vec: continuation bit on the third byte");
    }
    value |= static_cast<std::uint32_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      if (value > 0xffff) return make_error(ErrorCode::kParse, "short_vec: value over 65535");
      return ShortVecDecoded{static_cast<std::uint16_t>(value), i + 1};
    }
  }
  return make_error(ErrorCode::kParse, "short_vec: more than 3 bytes");
}

}  // namespace qtw::solana
