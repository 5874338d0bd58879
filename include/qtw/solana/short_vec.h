#pragma once
// compact-u16 ("short_vec") length prefix (solana-sdk short-vec/src/lib.rs):
// 7 bits per byte, little-endian groups, high bit = continuation, 1..3 bytes,
// canonical only.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "qtw/result.h"

namespace qtw::solana {

inline constexpr std::size_t kMaxShortVecBytes = 3;

void short_vec_encode(std::uint16_t value, std::vector<std::uint8_t>& out);
[[nodiscard]] std::size_t short_vec_encoded_size(std::uint16_t value) noexcept;

struct ShortVecDecoded {
  std::uint16_t value = 0;
  std::size_t bytes_read = 0;
};
// Strict decoder: rejects truncation, aliases (a trailing 0x00 byte), a
// continuation bit on byte 3, and values above 0xffff (kParse).
[[nodiscard]] Result<ShortVecDecoded> short_vec_decode(std::span<const std::uint8_t> in);

}  // namespace qtw::solana
