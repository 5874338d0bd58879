#include "qtw/solana/versioned_message.h"

#include <algorithm>
#include <string>

#include "qtw/solana/short_vec.h"

namespace qtw::solana {
namespace {

// A cursor over untrusted bytes: every read checks the bounds first and
// every failure carries its reason (fd_txn_parse.c: CHECK_LEFT before READ).
class Cursor {
 public:
  explicit Cursor(std::span<const std::uint8_t> in) : in_(in) {}

  bool u8(std::uint8_t& out) {
    if (pos_ >= in_.size()) return fail(MessageParseError::kTruncated);
    out = in_[pos_++];
    return true;
  }
  bool len(std::uint16_t& out) {
    if (pos_ >= in_.size()) return fail(MessageParseError::kTruncated);
    auto d = short_vec_decode(in_.subspan(pos_));
    if (!d) {
      // short_vec_decode refuses truncation and non-canonical forms alike;
      // tell them apart for the reason.
      const std::size_t left = in_.size() - pos_;
      const bool cut = left < kMaxShortVecBytes && (in_[in_.size() - 1] & 0x80) != 0;
      return fail(cut ? MessageParseError::kTruncated : MessageParseError::kBadShortVec);
    }
    out = d->value;
    pos_ += d->bytes_read;
    return true;
  }
  bool bytes(std::uint8_t* out, std::size_t n) {
    if (in_.size() - pos_ < n) return fail(MessageParseError::kTruncated);
    std::copy_n(in_.begin() + static_cast<std::ptrdiff_t>(pos_), n, out);
    pos_ += n;
    return true;
  }
  bool vec(std::vector<std::uint8_t>& out, std::size_t n) {
    if (in_.size() - pos_ < n) return fail(MessageParseError::kTruncated);
    out.assign(in_.begin() + static_cast<std::ptrdiff_t>(pos_),
               in_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
    return true;
  }
  // The rest must hold at least `n` bytes (before allocating for a count).
  bool need(std::size_t n) {
    if (in_.size() - pos_ < n) return fail(MessageParseError::kTruncated);
    return true;
  }
  bool fail(MessageParseError e) {
    error_ = e;
    return false;
  }
  [[nodiscard]] std::size_t remaining() const { return in_.size() - pos_; }
  [[nodiscard]] MessageParseError error() const { return error_; }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  MessageParseError error_ = MessageParseError::kTruncated;
};

tl::unexpected<Error> refuse(MessageParseError e, MessageParseError* reason,
                             const std::string& detail = {}) {
  if (reason != nullptr) *reason = e;
  std::string msg = "message refused: " + std::string(message_parse_error_name(e));
  if (!detail.empty()) msg += " (" + detail + ")";
  return make_error(ErrorCode::kParse, std::move(msg));
}

}  // namespace

std::string_view message_parse_error_name(MessageParseError e) noexcept {
  switch (e) {
    case MessageParseError::kTruncated: return "truncated";
    case MessageParseError::kBadShortVec: return "bad_short_vec";
    case MessageParseError::kUnknownVersion: return "unknown_version";
    case MessageParseError::kNoWritableSigner: return "no_writable_signer";
    case MessageParseError::kHeaderCounts: return "header_counts";
    case MessageParseError::kTooManyAccounts: return "too_many_accounts";
    case MessageParseError::kDuplicateKey: return "duplicate_key";
    case MessageParseError::kProgramIndex: return "program_index";
    case MessageParseError::kAccountIndex: return "account_index";
    case MessageParseError::kEmptyLookup: return "empty_lookup";
    case MessageParseError::kTrailingBytes: return "trailing_bytes";
  }
  return "unknown";
}

Result<VersionedMessage> VersionedMessage::deserialize(std::span<const std::uint8_t> bytes,
                                                       MessageParseError* reason) {
  Cursor c(bytes);
  VersionedMessage m;
  std::uint8_t first = 0;
  if (!c.u8(first)) return refuse(c.error(), reason, "empty");
  if ((first & kMessageVersionPrefix) != 0) {
    // versions/mod.rs: the low 7 bits are the version; only 0 exists.
    if ((first & 0x7f) != 0) {
      return refuse(MessageParseError::kUnknownVersion, reason,
                    "version " + std::to_string(first & 0x7f));
    }
    m.version = Version::kV0;
    if (!c.u8(m.header.num_required_signatures)) return refuse(c.error(), reason, "header");
  } else {
    m.header.num_required_signatures = first;
  }
  if (!c.u8(m.header.num_readonly_signed_accounts) ||
      !c.u8(m.header.num_readonly_unsigned_accounts)) {
    return refuse(c.error(), reason, "header");
  }
  std::uint16_t nkeys = 0;
  if (!c.len(nkeys)) return refuse(c.error(), reason, "account key count");
  if (nkeys > kMaxMessageAccounts) {
    return refuse(MessageParseError::kTooManyAccounts, reason, std::to_string(nkeys) + " static keys");
  }
  if (!c.need(static_cast<std::size_t>(nkeys) * kPubkeySize)) {
    return refuse(c.error(), reason, "account keys");
  }
  m.static_keys.resize(nkeys);
  for (auto& k : m.static_keys) {
    if (!c.bytes(k.bytes.data(), kPubkeySize)) return refuse(c.error(), reason, "account keys");
  }
  if (!c.bytes(m.recent_blockhash.bytes.data(), kHashSize)) {
    return refuse(c.error(), reason, "recent blockhash");
  }
  std::uint16_t nix = 0;
  if (!c.len(nix)) return refuse(c.error(), reason, "instruction count");
  if (!c.need(static_cast<std::size_t>(nix) * kMinInstructionSize)) {
    return refuse(c.error(), reason, std::to_string(nix) + " instructions declared");
  }
  m.instructions.resize(nix);
  for (auto& ix : m.instructions) {
    std::uint16_t na = 0;
    std::uint16_t nd = 0;
    if (!c.u8(ix.program_id_index) || !c.len(na) || !c.vec(ix.accounts, na) || !c.len(nd) ||
        !c.vec(ix.data, nd)) {
      return refuse(c.error(), reason, "instruction");
    }
  }
  if (m.version == Version::kV0) {
    std::uint16_t nl = 0;
    if (!c.len(nl)) return refuse(c.error(), reason, "lookup count");
    if (!c.need(static_cast<std::size_t>(nl) * kMinLookupSize)) {
      return refuse(c.error(), reason, std::to_string(nl) + " lookups declared");
    }
    m.lookups.resize(nl);
    for (auto& l : m.lookups) {
      std::uint16_t nw = 0;
      std::uint16_t nr = 0;
      if (!c.bytes(l.account_key.bytes.data(), kPubkeySize) || !c.len(nw) ||
          !c.vec(l.writable_indexes, nw) || !c.len(nr) || !c.vec(l.readonly_indexes, nr)) {
        return refuse(c.error(), reason, "address table lookup");
      }
    }
  }
  if (c.remaining() != 0) {
    return refuse(MessageParseError::kTrailingBytes, reason,
                  std::to_string(c.remaining()) + " bytes after the message");
  }

  // Sanitize as solana-sdk legacy.rs / v0/mod.rs do.
  const auto& h = m.header;
  if (h.num_required_signatures == 0 ||
      h.num_readonly_signed_accounts >= h.num_required_signatures) {
    return refuse(MessageParseError::kNoWritableSigner, reason);
  }
  if (static_cast<std::size_t>(h.num_required_signatures) + h.num_readonly_unsigned_accounts >
      nkeys) {
    return refuse(MessageParseError::kHeaderCounts, reason);
  }
  for (const auto& l : m.lookups) {
    // v0/mod.rs: "each lookup table must be used to load at least one account".
    if (l.writable_indexes.empty() && l.readonly_indexes.empty()) {
      return refuse(MessageParseError::kEmptyLookup, reason, l.account_key.to_base58());
    }
  }
  const std::size_t total = m.num_accounts();
  if (total > kMaxMessageAccounts) {
    return refuse(MessageParseError::kTooManyAccounts, reason, std::to_string(total) + " accounts");
  }
  {
    // Not in Sanitize: the runtime refuses it later (AccountLoadedTwice);
    // we never sign such a message.
    std::vector<Pubkey> sorted = m.static_keys;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
      return refuse(MessageParseError::kDuplicateKey, reason);
    }
  }
  for (const auto& ix : m.instructions) {
    // v0/mod.rs: program ids may not be loaded from tables, nor be the payer.
    if (ix.program_id_index == 0 || ix.program_id_index >= nkeys) {
      return refuse(MessageParseError::kProgramIndex, reason,
                    "index " + std::to_string(ix.program_id_index));
    }
    for (auto a : ix.accounts) {
      if (a >= total) {
        return refuse(MessageParseError::kAccountIndex, reason, "index " + std::to_string(a));
      }
    }
  }
  return m;
}

VersionedMessage VersionedMessage::from_legacy(Message message) {
  VersionedMessage m;
  m.header = message.header;
  m.static_keys = std::move(message.account_keys);
  m.recent_blockhash = message.recent_blockhash;
  m.instructions = std::move(message.instructions);
  return m;
}

std::vector<std::uint8_t> VersionedMessage::serialize() const {
  // v0/mod.rs: after the prefix, the body is encoded as a legacy message is.
  const Message body{header, static_keys, recent_blockhash, instructions};
  std::vector<std::uint8_t> out;
  if (version == Version::kV0) out.push_back(kMessageVersionPrefix);
  const auto legacy = body.serialize();
  out.insert(out.end(), legacy.begin(), legacy.end());
  if (version == Version::kV0) {
    short_vec_encode(static_cast<std::uint16_t>(lookups.size()), out);
    for (const auto& l : lookups) {
      out.insert(out.end(), l.account_key.bytes.begin(), l.account_key.bytes.end());
      short_vec_encode(static_cast<std::uint16_t>(l.writable_indexes.size()), out);
      out.insert(out.end(), l.writable_indexes.begin(), l.writable_indexes.end());
      short_vec_encode(static_cast<std::uint16_t>(l.readonly_indexes.size()), out);
      out.insert(out.end(), l.readonly_indexes.begin(), l.readonly_indexes.end());
    }
  }
  return out;
}

std::size_t VersionedMessage::num_loaded_writable() const noexcept {
  std::size_t n = 0;
  for (const auto& l : lookups) n += l.writable_indexes.size();
  return n;
}

std::size_t VersionedMessage::num_loaded_readonly() const noexcept {
  std::size_t n = 0;
  for (const auto& l : lookups) n += l.readonly_indexes.size();
  return n;
}

std::size_t VersionedMessage::num_accounts() const noexcept {
  return static_keys.size() + num_loaded_writable() + num_loaded_readonly();
}

bool VersionedMessage::is_writable(std::size_t index) const noexcept {
  const std::size_t nsig = header.num_required_signatures;
  const std::size_t nstatic = static_keys.size();
  if (index < nsig) return index < nsig - header.num_readonly_signed_accounts;
  if (index < nstatic) return index < nstatic - header.num_readonly_unsigned_accounts;
  return index < nstatic + num_loaded_writable();
}

}  // namespace qtw::solana
