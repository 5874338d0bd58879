#include "qtw/solana/message.h"

#include <algorithm>
#include <map>
#include <string>

#include "qtw/solana/short_vec.h"

namespace qtw::solana {
namespace {

struct KeyMeta {
  bool is_signer = false;
  bool is_writable = false;
};

// Reads from a byte span with a bounds check before every read
// (firedancer fd_txn_parse.c style): every rejection names its reason.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  Result<std::uint8_t> u8(const char* what) {
    if (pos_ >= in_.size()) return truncated(what);
    return in_[pos_++];
  }
  Result<std::uint16_t> short_len(const char* what) {
    auto d = short_vec_decode(in_.subspan(pos_));
    if (!d) return make_error(ErrorCode::kParse, std::string(what) + ": " + d.error().message);
    pos_ += d->bytes_read;
    return d->value;
  }
  Status bytes(std::span<std::uint8_t> out, const char* what) {
    if (in_.size() - pos_ < out.size()) return truncated(what);
    std::copy_n(in_.begin() + static_cast<std::ptrdiff_t>(pos_), out.size(), out.begin());
    pos_ += out.size();
    return {};
  }
  Result<std::vector<std::uint8_t>> vec(std::size_t n, const char* what) {
    if (in_.size() - pos_ < n) return truncated(what);
    std::vector<std::uint8_t> out(in_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                  in_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
    return out;
  }
  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  static tl::unexpected<Error> truncated(const char* what) {
    return make_error(ErrorCode::kParse, std::string("message truncated in ") + what);
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<Message> Message::compile(const Pubkey& fee_payer, std::span<const Instruction> instructions,
                                 const Hash& recent_blockhash) {
  // solana-sdk message/src/compiled_keys.rs: a BTreeMap of key -> role, the
  // payer a writable signer; program ids readonly unless used otherwise.
  std::map<Pubkey, KeyMeta> metas;
  metas[fee_payer] = KeyMeta{true, true};
  for (const auto& ix : instructions) {
    metas.try_emplace(ix.program_id);
    for (const auto& a : ix.accounts) {
      auto& m = metas[a.pubkey];
      m.is_signer = m.is_signer || a.is_signer;
      m.is_writable = m.is_writable || a.is_writable;
    }
  }
  if (metas.size() > 256) {
    return make_error(ErrorCode::kInvalidArgument,
                      "message references " + std::to_string(metas.size()) + " accounts, over 256");
  }
  std::vector<Pubkey> ws{fee_payer}, rs, wn, rn;
  for (const auto& [key, m] : metas) {
    if (key == fee_payer) continue;
    if (m.is_signer) {
      (m.is_writable ? ws : rs).push_back(key);
    } else {
      (m.is_writable ? wn : rn).push_back(key);
    }
  }
  Message msg;
  msg.header.num_required_signatures = static_cast<std::uint8_t>(ws.size() + rs.size());
  if (ws.size() + rs.size() > 255) {
    return make_error(ErrorCode::kInvalidArgument, "more than 255 signers");
  }
  msg.header.num_readonly_signed_accounts = static_cast<std::uint8_t>(rs.size());
  msg.header.num_readonly_unsigned_accounts = static_cast<std::uint8_t>(rn.size());
  for (auto* group : {&ws, &rs, &wn, &rn}) {
    msg.account_keys.insert(msg.account_keys.end(), group->begin(), group->end());
  }
  msg.recent_blockhash = recent_blockhash;
  auto index_of = [&](const Pubkey& k) {
    return static_cast<std::uint8_t>(
        std::find(msg.account_keys.begin(), msg.account_keys.end(), k) - msg.account_keys.begin());
  };
  for (const auto& ix : instructions) {
    if (ix.accounts.size() > 0xffff || ix.data.size() > 0xffff) {
      return make_error(ErrorCode::kInvalidArgument, "instruction too large for a short_vec");
    }
    CompiledInstruction ci;
    ci.program_id_index = index_of(ix.program_id);
    for (const auto& a : ix.accounts) ci.accounts.push_back(index_of(a.pubkey));
    ci.data = ix.data;
    msg.instructions.push_back(std::move(ci));
  }
  return msg;
}

std::vector<std::uint8_t> Message::serialize() const {
  std::vector<std::uint8_t> out;
  out.reserve(3 + 3 + account_keys.size() * 32 + 32 + 3 + instructions.size() * 20);
  out.push_back(header.num_required_signatures);
  out.push_back(header.num_readonly_signed_accounts);
  out.push_back(header.num_readonly_unsigned_accounts);
  short_vec_encode(static_cast<std::uint16_t>(account_keys.size()), out);
  for (const auto& k : account_keys) out.insert(out.end(), k.bytes.begin(), k.bytes.end());
  out.insert(out.end(), recent_blockhash.bytes.begin(), recent_blockhash.bytes.end());
  short_vec_encode(static_cast<std::uint16_t>(instructions.size()), out);
  for (const auto& ix : instructions) {
    out.push_back(ix.program_id_index);
    short_vec_encode(static_cast<std::uint16_t>(ix.accounts.size()), out);
    out.insert(out.end(), ix.accounts.begin(), ix.accounts.end());
    short_vec_encode(static_cast<std::uint16_t>(ix.data.size()), out);
    out.insert(out.end(), ix.data.begin(), ix.data.end());
  }
  return out;
}

Result<Message> Message::deserialize(std::span<const std::uint8_t> bytes, std::size_t* bytes_read) {
  Reader r(bytes);
  Message msg;
  QTW_ASSIGN_OR_RETURN(msg.header.num_required_signatures, r.u8("header"));
  if ((msg.header.num_required_signatures & 0x80) != 0) {
    return make_error(ErrorCode::kParse, "versioned (v0) messages are not supported");
  }
  QTW_ASSIGN_OR_RETURN(msg.header.num_readonly_signed_accounts, r.u8("header"));
  QTW_ASSIGN_OR_RETURN(msg.header.num_readonly_unsigned_accounts, r.u8("header"));
  QTW_ASSIGN_OR_RETURN(std::uint16_t nkeys, r.short_len("account key count"));
  if (nkeys > 256) return make_error(ErrorCode::kParse, "more than 256 account keys");
  msg.account_keys.resize(nkeys);
  for (auto& k : msg.account_keys) QTW_TRY(r.bytes(k.bytes, "account keys"));
  QTW_TRY(r.bytes(msg.recent_blockhash.bytes, "recent blockhash"));
  QTW_ASSIGN_OR_RETURN(std::uint16_t nix, r.short_len("instruction count"));
  // Each instruction takes at least 3 bytes: refuse a count the rest of the
  // input cannot hold before allocating for it.
  if (static_cast<std::size_t>(nix) * 3 > r.remaining()) {
    return make_error(ErrorCode::kParse, "message truncated in instructions (" +
                                             std::to_string(nix) + " declared, " +
                                             std::to_string(r.remaining()) + " bytes left)");
  }
  msg.instructions.resize(nix);
  for (auto& ix : msg.instructions) {
    QTW_ASSIGN_OR_RETURN(ix.program_id_index, r.u8("instruction program id"));
    QTW_ASSIGN_OR_RETURN(std::uint16_t na, r.short_len("instruction account count"));
    QTW_ASSIGN_OR_RETURN(ix.accounts, r.vec(na, "instruction accounts"));
    QTW_ASSIGN_OR_RETURN(std::uint16_t nd, r.short_len("instruction data length"));
    QTW_ASSIGN_OR_RETURN(ix.data, r.vec(nd, "instruction data"));
  }
  // Sanitize as solana-sdk legacy Message does.
  const auto& h = msg.header;
  if (h.num_required_signatures == 0 ||
      h.num_readonly_signed_accounts >= h.num_required_signatures) {
    return make_error(ErrorCode::kParse, "message has no writable signer (fee payer)");
  }
  if (h.num_required_signatures > nkeys ||
      h.num_readonly_unsigned_accounts > nkeys - h.num_required_signatures) {
    return make_error(ErrorCode::kParse, "message header counts exceed the account keys");
  }
  // Not part of solana-sdk's Sanitize (the runtime refuses it later with
  // AccountLoadedTwice), but no transaction we accept may list a key twice.
  {
    std::vector<Pubkey> sorted = msg.account_keys;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
      return make_error(ErrorCode::kParse, "message lists an account key twice");
    }
  }
  for (const auto& ix : msg.instructions) {
    if (ix.program_id_index == 0 || ix.program_id_index >= nkeys) {
      return make_error(ErrorCode::kParse, "instruction program id index out of range");
    }
    for (auto a : ix.accounts) {
      if (a >= nkeys)
        return make_error(ErrorCode::kParse, "instruction account index out of range");
    }
  }
  if (bytes_read != nullptr) *bytes_read = r.pos();
  return msg;
}

bool Message::is_signer(std::size_t index) const noexcept {
  return index < header.num_required_signatures;
}

bool Message::is_writable(std::size_t index) const noexcept {
  // solana-sdk message/src/lib.rs is_writable_index.
  const std::size_t nsig = header.num_required_signatures;
  if (index < nsig) return index < nsig - header.num_readonly_signed_accounts;
  return index < account_keys.size() - header.num_readonly_unsigned_accounts;
}

std::vector<Instruction> Message::decompile() const {
  std::vector<Instruction> out;
  out.reserve(instructions.size());
  for (const auto& ci : instructions) {
    Instruction ix;
    ix.program_id = account_keys.at(ci.program_id_index);
    for (auto a : ci.accounts) {
      ix.accounts.push_back(AccountMeta{account_keys.at(a), is_signer(a), is_writable(a)});
    }
    ix.data = ci.data;
    out.push_back(std::move(ix));
  }
  return out;
}

}  // namespace qtw::solana
