#include "qtw/solana/encoding.h"

#include <sodium.h>

#include <array>
#include <string>

#include "qtw/secure_bytes.h"

namespace qtw::solana {
namespace {

// Bitcoin alphabet (bitcoin/bitcoin src/base58.cpp): no 0, I, O, l.
constexpr char kAlphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

constexpr std::array<std::int8_t, 256> make_index() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 58; ++i)
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kIndex = make_index();

}  // namespace

std::string base58_encode(std::span<const std::uint8_t> bytes) {
  // Big-endian base-256 -> base-58 (as EncodeBase58): count leading zeros,
  // then repeated multiply-add into a base-58 digit buffer.
  std::size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == 0) ++zeros;
  // log(256)/log(58) ~= 1.365
  std::vector<std::uint8_t> digits((bytes.size() - zeros) * 138 / 100 + 1);
  std::size_t length = 0;
  for (std::size_t i = zeros; i < bytes.size(); ++i) {
    int carry = bytes[i];
    std::size_t j = 0;
    for (auto it = digits.rbegin(); (carry != 0 || j < length) && it != digits.rend(); ++it, ++j) {
      carry += 256 * (*it);
      *it = static_cast<std::uint8_t>(carry % 58);
      carry /= 58;
    }
    length = j;
  }
  auto it = digits.begin() + static_cast<std::ptrdiff_t>(digits.size() - length);
  while (it != digits.end() && *it == 0) ++it;
  std::string out(zeros, '1');
  out.reserve(zeros + static_cast<std::size_t>(digits.end() - it));
  for (; it != digits.end(); ++it) out.push_back(kAlphabet[*it]);
  return out;
}

Result<std::vector<std::uint8_t>> base58_decode(std::string_view text, std::size_t max_input_len) {
  if (text.size() > max_input_len) {
    return make_error(ErrorCode::kInvalidArgument, "base58 text is " + std::to_string(text.size()) +
                                                       " characters, over the limit of " +
                                                       std::to_string(max_input_len));
  }
  std::size_t ones = 0;
  while (ones < text.size() && text[ones] == '1') ++ones;
  // log(58)/log(256) ~= 0.733
  std::vector<std::uint8_t> b256((text.size() - ones) * 733 / 1000 + 1);
  std::size_t length = 0;
  for (std::size_t i = ones; i < text.size(); ++i) {
    const int digit = kIndex[static_cast<unsigned char>(text[i])];
    if (digit < 0) {
      const auto c = static_cast<unsigned char>(text[i]);
      std::string shown =
          (c >= 0x21 && c < 0x7f) ? std::string(1, text[i]) : "\\x" + hex_encode(std::span(&c, 1));
      return make_error(ErrorCode::kParse, "invalid base58 character '" + shown + "' at position " +
                                               std::to_string(i));
    }
    int carry = digit;
    std::size_t j = 0;
    for (auto it = b256.rbegin(); (carry != 0 || j < length) && it != b256.rend(); ++it, ++j) {
      carry += 58 * (*it);
      *it = static_cast<std::uint8_t>(carry % 256);
      carry /= 256;
    }
    length = j;
  }
  auto it = b256.begin() + static_cast<std::ptrdiff_t>(b256.size() - length);
  while (it != b256.end() && *it == 0) ++it;
  std::vector<std::uint8_t> out(ones, 0);
  out.insert(out.end(), it, b256.end());
  return out;
}

Status base58_decode_exact(std::string_view text, std::span<std::uint8_t> out) {
  // A 32-byte value is at most 44 characters, 64 bytes at most 88.
  const std::size_t max_len = out.size() * 138 / 100 + 1;
  if (text.empty()) return make_error(ErrorCode::kParse, "empty base58 string");
  QTW_ASSIGN_OR_RETURN(auto bytes, base58_decode(text, max_len));
  if (bytes.size() != out.size()) {
    return make_error(ErrorCode::kParse, "base58 value decodes to " + std::to_string(bytes.size()) +
                                             " bytes, expected " + std::to_string(out.size()));
  }
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return {};
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  ensure_sodium_initialized();
  const std::size_t len = sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(len, '\0');
  sodium_bin2base64(out.data(), len, bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(len - 1);  // drop the NUL terminator
  return out;
}

Result<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  ensure_sodium_initialized();
  std::vector<std::uint8_t> out(text.size() / 4 * 3 + 3);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return make_error(ErrorCode::kParse, "invalid base64");
  }
  out.resize(len);
  return out;
}

std::string hex_encode(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

Result<std::vector<std::uint8_t>> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return make_error(ErrorCode::kParse, "hex string has odd length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<std::uint8_t> out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(text[2 * i]);
    const int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return make_error(ErrorCode::kParse, "invalid hex digit");
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace qtw::solana
