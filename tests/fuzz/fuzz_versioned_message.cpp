// libFuzzer target: VersionedMessage::deserialize (legacy and v0) and the
// instruction decoders the signing policy runs on every instruction.
// Properties:
//  - strict bounds checks: no out-of-bounds read (ASan), no UB (UBSan);
//  - every rejection is named;
//  - an accepted message re-serializes to exactly the input bytes (one
//    canonical encoding), its indexes are in range, and a legacy one parses
//    the same through Message::deserialize;
//  - the decoders are safe on any instruction data.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "qtw/solana/instruction_decode.h"
#include "qtw/solana/versioned_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qtw::solana;
  const std::span<const std::uint8_t> in(data, size);
  auto m = VersionedMessage::deserialize(in);
  if (!m) {
    if (m.error().message.empty()) std::abort();
    return 0;
  }
  const auto out = m->serialize();
  if (out.size() != size) std::abort();
  for (std::size_t i = 0; i < size; ++i) {
    if (out[i] != data[i]) std::abort();
  }
  if (m->num_accounts() > kMaxMessageAccounts) std::abort();
  if (!m->is_signer(0) || !m->is_writable(0)) std::abort();  // fee payer
  for (const auto& ix : m->instructions) {
    if (ix.program_id_index == 0 || ix.program_id_index >= m->static_keys.size()) std::abort();
    for (auto a : ix.accounts) {
      if (a >= m->num_accounts()) std::abort();
    }
    (void)system_ix::decode(ix.data);
    (void)compute_budget_ix::decode(ix.data);
    (void)token_ix::tag(ix.data);
    (void)loader_v3_ix::authorities(ix.data);
    (void)loader_v4_ix::authorities(ix.data);
    (void)lookup_table_ix::variant(ix.data);
  }
  if (m->version == VersionedMessage::Version::kLegacy) {
    auto legacy = Message::deserialize(in);
    if (!legacy || VersionedMessage::from_legacy(*legacy) != *m) std::abort();
  }
  return 0;
}
