// libFuzzer target: base58_decode / base58_decode_exact / Pubkey::from_base58
// on arbitrary text. Properties checked (abort = finding):
//  - decode never reads out of bounds (ASan) or hits UB (UBSan);
//  - whatever decodes re-encodes to exactly the input (base58 has one
//    spelling per byte string, leading '1's included);
//  - a Pubkey that parses round-trips through to_base58.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "qtw/solana/encoding.h"
#include "qtw/solana/types.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qtw::solana;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto bytes = base58_decode(text, 256);
  if (bytes && base58_encode(*bytes) != text) std::abort();
  if (!bytes && size <= 256 && bytes.error().message.empty()) std::abort();
  auto key = Pubkey::from_base58(text);
  if (key && key->to_base58() != text) std::abort();
  std::uint8_t sig[64];
  if (base58_decode_exact(text, sig) && base58_encode(sig) != text) std::abort();
  return 0;
}
