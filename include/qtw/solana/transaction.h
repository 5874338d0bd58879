#pragma once
// Legacy transactions: signatures + message (solana-sdk transaction/src/lib.rs).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "qtw/result.h"
#include "qtw/solana/message.h"
#include "qtw/solana/types.h"

namespace qtw::solana {

struct Transaction {
  std::vector<Signature> signatures;  // one per required signer, zero = unsigned
  Message message;

  // An unsigned transaction with num_required_signatures zero signatures.
  [[nodiscard]] static Transaction from_message(Message message);

  // Signs the message with each keypair into the slot of its pubkey.
  // Errors (kInvalidArgument): a keypair that is not a required signer.
  // Partial signing is allowed; call is_fully_signed() before sending.
  [[nodiscard]] Status sign(std::span<const Keypair* const> signers);
  [[nodiscard]] bool is_fully_signed() const noexcept;
  // Verifies every signature against the message (kCrypto naming the signer).
  [[nodiscard]] Status verify() const;

  // Wire bytes. Error kTooLarge if over kPacketDataSize (1,232) bytes.
  [[nodiscard]] Result<std::vector<std::uint8_t>> serialize() const;
  // Size of the wire form without building it.
  [[nodiscard]] std::size_t serialized_size() const;
  // Strict parse: signature count must equal num_required_signatures, no
  // trailing bytes, at most 1,232 bytes, v0 (0x80 prefix) rejected with a
  // clear "versioned transactions not supported".
  [[nodiscard]] static Result<Transaction> deserialize(std::span<const std::uint8_t> bytes);

  // The transaction id: the first signature.
  [[nodiscard]] const Signature& id() const { return signatures.at(0); }
  bool operator==(const Transaction&) const = default;
};

}  // namespace qtw::solana
