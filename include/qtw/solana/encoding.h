#pragma once
// Text encodings used on the wire: base58 (Bitcoin alphabet) and base64.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qtw/result.h"

namespace qtw::solana {

// Base58 (Bitcoin alphabet, leading 0x00 bytes <-> leading '1').
[[nodiscard]] std::string base58_encode(std::span<const std::uint8_t> bytes);
// Rejects characters outside the alphabet and inputs longer than
// `max_input_len` characters (kInvalidArgument / kParse, naming the bad char).
[[nodiscard]] Result<std::vector<std::uint8_t>> base58_decode(std::string_view text,
                                                              std::size_t max_input_len = 128);
// Decodes into exactly out.size() bytes; anything else is an error saying the
// length found and the length wanted.
[[nodiscard]] Status base58_decode_exact(std::string_view text, std::span<std::uint8_t> out);

// Standard base64 with padding (RFC 4648 §4), as Solana RPC uses.
[[nodiscard]] std::string base64_encode(std::span<const std::uint8_t> bytes);
[[nodiscard]] Result<std::vector<std::uint8_t>> base64_decode(std::string_view text);

// Lower-case hex, for logs and test vectors.
[[nodiscard]] std::string hex_encode(std::span<const std::uint8_t> bytes);
[[nodiscard]] Result<std::vector<std::uint8_t>> hex_decode(std::string_view text);

}  // namespace qtw::solana
