// libFuzzer target: short_vec_decode (compact-u16). Properties:
//  - never reads past the input (ASan);
//  - an accepted prefix is canonical: encoding the value gives back exactly
//    the bytes read (so aliases are always refused), 1..3 bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "qtw/solana/short_vec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qtw::solana;
  auto d = short_vec_decode(std::span(data, size));
  if (!d) return 0;
  if (d->bytes_read == 0 || d->bytes_read > kMaxShortVecBytes || d->bytes_read > size) std::abort();
  std::vector<std::uint8_t> again;
  short_vec_encode(d->value, again);
  if (again.size() != d->bytes_read || again.size() != short_vec_encoded_size(d->value))
    std::abort();
  for (std::size_t i = 0; i < again.size(); ++i) {
    if (again[i] != data[i]) std::abort();
  }
  return 0;
}
