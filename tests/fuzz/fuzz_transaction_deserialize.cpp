// libFuzzer target: Transaction::deserialize on arbitrary bytes. Properties:
//  - strict bounds checks: no out-of-bounds read (ASan), no UB (UBSan);
//  - an accepted transaction re-serializes to exactly the input bytes
//    (the parser accepts one canonical encoding only), fits the packet, and
//    its message header is consistent with is_signer/is_writable/decompile;
//  - verify() and serialized_size() are safe to call on anything accepted.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "qtw/solana/transaction.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qtw::solana;
  const std::span<const std::uint8_t> in(data, size);
  auto tx = Transaction::deserialize(in);
  if (!tx) {
    if (tx.error().message.empty()) std::abort();  // every rejection is named
    return 0;
  }
  auto wire = tx->serialize();
  if (!wire || wire->size() != size || tx->serialized_size() != size) std::abort();
  for (std::size_t i = 0; i < size; ++i) {
    if ((*wire)[i] != data[i]) std::abort();
  }
  const auto& m = tx->message;
  if (tx->signatures.size() != m.header.num_required_signatures) std::abort();
  if (!m.is_signer(0) || !m.is_writable(0)) std::abort();  // fee payer
  auto ixs = m.decompile();
  if (ixs.size() != m.instructions.size()) std::abort();
  (void)tx->verify();
  std::size_t used = 0;
  auto msg = Message::deserialize(in.subspan(size - m.serialize().size()), &used);
  if (!msg || *msg != m) std::abort();
  return 0;
}
