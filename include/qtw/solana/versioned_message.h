#pragma once
// Versioned messages: legacy and v0 (address table lookups), parsed strictly
// from untrusted bytes (solana-sdk message/src/versions/mod.rs,
// versions/v0/mod.rs; firedancer fd_txn_parse.c style: size constants, a
// bounds check before every read, a named reason for every rejection).
//
// Wire format (v0): one prefix byte 0x80 | version (only version 0), then a
// legacy-shaped body (header, static account keys, recent blockhash,
// instructions) followed by
//   short_vec<MessageAddressTableLookup>, each
//     account_key [32] | short_vec<u8> writable_indexes | short_vec<u8> readonly_indexes
// A legacy message has no prefix: its first byte is num_required_signatures,
// which is < 0x80.
//
// Account order of a v0 message as the runtime loads it (v0/loaded.rs):
// static keys, then every table's writable addresses (tables in order), then
// every table's readonly addresses. Signers are always static keys.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "qtw/result.h"
#include "qtw/solana/message.h"
#include "qtw/solana/types.h"

namespace qtw::solana {

// solana-sdk message/src/versions/mod.rs MESSAGE_VERSION_PREFIX.
inline constexpr std::uint8_t kMessageVersionPrefix = 0x80;
// At most 256 accounts in total (u8 indexes; runtime MAX_TX_ACCOUNT_LOCKS is
// lower, 128 or 256 by feature, and enforced by the node).
inline constexpr std::size_t kMaxMessageAccounts = 256;
// Bytes of a serialized lookup with no indexes: key + two empty short_vecs.
inline constexpr std::size_t kMinLookupSize = 32 + 1 + 1;
// Bytes of the smallest instruction: program index + two empty short_vecs.
inline constexpr std::size_t kMinInstructionSize = 3;

// Why a message was refused; stable names for logs and counters.
enum class MessageParseError : std::uint8_t {
  kTruncated,             // input ended inside a field
  kBadShortVec,           // a short_vec length is not canonical or too long
  kUnknownVersion,        // prefix 0x80 | v with v != 0
  kNoWritableSigner,      // num_required_signatures == 0 or all signers readonly
  kHeaderCounts,          // header counts exceed the static keys
  kTooManyAccounts,       // static + loaded accounts > 256
  kDuplicateKey,          // a static account key listed twice
  kProgramIndex,          // program id index 0 (the fee payer), out of range, or loaded
  kAccountIndex,          // instruction account index beyond every account
  kEmptyLookup,           // a table lookup that loads nothing
  kTrailingBytes,         // bytes after the message
};
[[nodiscard]] std::string_view message_parse_error_name(MessageParseError e) noexcept;

struct MessageAddressTableLookup {
  Pubkey account_key;                     // the lookup table account
  std::vector<std::uint8_t> writable_indexes;
  std::vector<std::uint8_t> readonly_indexes;
  bool operator==(const MessageAddressTableLookup&) const = default;
};

struct VersionedMessage {
  enum class Version : std::uint8_t { kLegacy, kV0 };
  Version version = Version::kLegacy;
  MessageHeader header;
  std::vector<Pubkey> static_keys;
  Hash recent_blockhash;
  std::vector<CompiledInstruction> instructions;
  std::vector<MessageAddressTableLookup> lookups;  // v0 only

  // Strict parse of the whole input (trailing bytes are refused). On error,
  // kParse with a message naming the reason; `reason` (if given) gets it.
  [[nodiscard]] static Result<VersionedMessage> deserialize(std::span<const std::uint8_t> bytes,
                                                            MessageParseError* reason = nullptr);
  // A legacy Message as a VersionedMessage (no copy of semantics lost).
  [[nodiscard]] static VersionedMessage from_legacy(Message message);
  [[nodiscard]] std::vector<std::uint8_t> serialize() const;

  [[nodiscard]] std::size_t num_loaded_writable() const noexcept;
  [[nodiscard]] std::size_t num_loaded_readonly() const noexcept;
  // Static plus loaded accounts: the range of instruction account indexes.
  [[nodiscard]] std::size_t num_accounts() const noexcept;
  [[nodiscard]] bool is_static(std::size_t index) const noexcept {
    return index < static_keys.size();
  }
  [[nodiscard]] bool is_signer(std::size_t index) const noexcept {
    return index < header.num_required_signatures;
  }
  // As the runtime sees it before its demotions (reserved ids, programs).
  [[nodiscard]] bool is_writable(std::size_t index) const noexcept;
  // The static key at `index`; nullptr for an account loaded from a table.
  [[nodiscard]] const Pubkey* static_key(std::size_t index) const noexcept {
    return index < static_keys.size() ? &static_keys[index] : nullptr;
  }
  bool operator==(const VersionedMessage&) const = default;
};

}  // namespace qtw::solana
