// libFuzzer target: parse_keypair_json (Solana CLI keypair file text).
// Properties: no out-of-bounds read or UB on any text; an accepted keypair's
// pubkey is the one derived from its seed, and writing it in the canonical
// form ("[b0,...,b63]") parses back to the same key.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "qtw/solana/keypair_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qtw::solana;
  auto kp = parse_keypair_json(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!kp) {
    if (kp.error().message.empty()) std::abort();
    return 0;
  }
  auto again = Keypair::from_seed(kp->seed());
  if (!again || again->pubkey() != kp->pubkey()) std::abort();
  const auto bytes = kp->to_bytes();
  std::string canonical = "[";
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0) canonical += ',';
    canonical += std::to_string(bytes.data()[i]);
  }
  canonical += ']';
  auto back = parse_keypair_json(canonical);
  if (!back || back->pubkey() != kp->pubkey()) std::abort();
  return 0;
}
