#pragma once
// Instructions and the legacy transaction message
// (solana-sdk message/src/legacy.rs, compiled_keys.rs).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "qtw/result.h"
#include "qtw/solana/types.h"

namespace qtw::solana {

struct AccountMeta {
  Pubkey pubkey;
  bool is_signer = false;
  bool is_writable = false;
  bool operator==(const AccountMeta&) const = default;
};

struct Instruction {
  Pubkey program_id;
  std::vector<AccountMeta> accounts;
  std::vector<std::uint8_t> data;
  bool operator==(const Instruction&) const = default;
};

struct MessageHeader {
  std::uint8_t num_required_signatures = 0;
  std::uint8_t num_readonly_signed_accounts = 0;
  std::uint8_t num_readonly_unsigned_accounts = 0;
  bool operator==(const MessageHeader&) const = default;
};

struct CompiledInstruction {
  std::uint8_t program_id_index = 0;
  std::vector<std::uint8_t> accounts;  // indexes into Message::account_keys
  std::vector<std::uint8_t> data;
  bool operator==(const CompiledInstruction&) const = default;
};

// A legacy message. Account keys are ordered: writable signers, readonly
// signers, writable non-signers, readonly non-signers; the fee payer first;
// within each group by raw 32-byte value, as solana-sdk's CompiledKeys
// (BTreeMap) orders them. A key listed more than once keeps its strongest
// role (signer if any use signs, writable if any use writes).
struct Message {
  MessageHeader header;
  std::vector<Pubkey> account_keys;
  Hash recent_blockhash;
  std::vector<CompiledInstruction> instructions;

  // Errors: more than 256 account keys or 255 signers, or data longer than a
  // short_vec can carry (kInvalidArgument).
  [[nodiscard]] static Result<Message> compile(const Pubkey& fee_payer,
                                               std::span<const Instruction> instructions,
                                               const Hash& recent_blockhash);

  [[nodiscard]] std::vector<std::uint8_t> serialize() const;
  // Strict parse of a legacy message (no 0x80 version prefix): bounds-checked,
  // header sanity as solana-sdk Sanitize (>= 1 writable signer, indexes in
  // range, program ids not the fee payer). `bytes_read` set to bytes consumed.
  [[nodiscard]] static Result<Message> deserialize(std::span<const std::uint8_t> bytes,
                                                   std::size_t* bytes_read = nullptr);

  [[nodiscard]] bool is_signer(std::size_t index) const noexcept;
  [[nodiscard]] bool is_writable(std::size_t index) const noexcept;
  [[nodiscard]] const Pubkey& fee_payer() const { return account_keys.at(0); }
  // Decompile back to Instructions (signer/writable flags from the header).
  [[nodiscard]] std::vector<Instruction> decompile() const;
  bool operator==(const Message&) const = default;
};

}  // namespace qtw::solana
