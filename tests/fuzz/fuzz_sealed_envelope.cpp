// libFuzzer target: sealed-secret envelopes (src/vault/vault.cpp), the bytes
// stored for the master seed and each HODL key. A damaged or hostile store
// can hold anything.
// Properties: inspect() and open() never crash, read out of bounds, leak or
// throw; open() fails with kCorrupt whenever inspect() does; an envelope
// that opens re-seals (same passphrase, purpose, parameters) to one that
// opens to the same secret. open() runs Argon2id with the envelope's own
// parameters, so only cheap ones (1 pass, <= 64 KiB) are opened here; the
// rest must still be inspected cleanly (the real limits are unit-tested).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "qtw/vault/vault.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qtw;
  const std::span<const std::uint8_t> envelope(data, size);
  auto info = vault::inspect(envelope);
  if (!info) {
    if (info.error().message.empty()) std::abort();
    if (info.error().code != ErrorCode::kCorrupt) std::abort();
  }
  if (info && (info->opslimit > 1 || info->memlimit_bytes > 64 * 1024)) return 0;
  // The seeds were sealed with this passphrase and purpose.
  static const char kPass[] = "fuzz passphrase";
  const auto passphrase = SecureBytes::copy_of(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(kPass), sizeof kPass - 1));
  auto opened = vault::open(envelope, passphrase, vault::kPurposeMasterSeed);
  if (!info) {
    if (opened || opened.error().code != ErrorCode::kCorrupt) std::abort();
    return 0;
  }
  if (!opened) {
    if (opened.error().code != ErrorCode::kCorrupt && opened.error().code != ErrorCode::kCrypto) {
      std::abort();
    }
    return 0;
  }
  if (opened->size() != info->secret_size) std::abort();
  vault::SealOptions options;
  options.opslimit = info->opslimit;
  options.memlimit_bytes = info->memlimit_bytes;
  auto resealed = vault::seal(opened->span(), passphrase, vault::kPurposeMasterSeed, options);
  if (!resealed) std::abort();
  auto back = vault::open(*resealed, passphrase, vault::kPurposeMasterSeed);
  if (!back || back->size() != opened->size() ||
      std::memcmp(back->data(), opened->data(), opened->size()) != 0) {
    std::abort();
  }
  return 0;
}
