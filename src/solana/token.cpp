#include "qtw/solana/token.h"

#include <sodium.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "qtw/solana/programs.h"

namespace qtw::solana {
namespace {

// Only called with the constant program ids below (valid base58).
Pubkey id_of(const char* base58) { return *Pubkey::from_base58(base58); }

void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// A bounds-checked little-endian reader over untrusted account data.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}
  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }
  [[nodiscard]] bool can(std::size_t n) const noexcept { return data_.size() - pos_ >= n; }
  Result<std::uint64_t> uint(std::size_t n, std::string_view field) {
    if (!can(n)) return truncated(field);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{data_[pos_ + i]} << (8 * i);
    pos_ += n;
    return v;
  }
  Result<Pubkey> key(std::string_view field) {
    if (!can(kPubkeySize)) return truncated(field);
    Pubkey pk;
    std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(pos_), kPubkeySize, pk.bytes.begin());
    pos_ += kPubkeySize;
    return pk;
  }
  // COption<Pubkey>: u32 tag (0 none, 1 some) then 32 bytes either way.
  Result<std::optional<Pubkey>> opt_key(std::string_view field) {
    QTW_ASSIGN_OR_RETURN(auto tag, uint(4, field));
    QTW_ASSIGN_OR_RETURN(auto pk, key(field));
    if (tag > 1) return bad_tag(field);
    return tag == 1 ? std::optional<Pubkey>(pk) : std::nullopt;
  }
  // COption<u64>: u32 tag then 8 bytes.
  Result<std::optional<std::uint64_t>> opt_u64(std::string_view field) {
    QTW_ASSIGN_OR_RETURN(auto tag, uint(4, field));
    QTW_ASSIGN_OR_RETURN(auto v, uint(8, field));
    if (tag > 1) return bad_tag(field);
    return tag == 1 ? std::optional<std::uint64_t>(v) : std::nullopt;
  }
  void seek(std::size_t pos) noexcept { pos_ = std::min(pos, data_.size()); }
  [[nodiscard]] std::span<const std::uint8_t> rest() const noexcept { return data_.subspan(pos_); }

 private:
  static tl::unexpected<Error> truncated(std::string_view field) {
    return make_error(ErrorCode::kParse, "token account data truncated in " + std::string(field));
  }
  static tl::unexpected<Error> bad_tag(std::string_view field) {
    return make_error(ErrorCode::kParse, "invalid option tag in " + std::string(field));
  }
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

// Token-2022 TLV area (extension/mod.rs): after the base layout padded to
// 165 bytes, one account-type byte (1 mint, 2 account), then entries of
// u16 type, u16 length, value. A zero type ends the list (padding).
struct Tlv {
  TokenExtension type;
  std::span<const std::uint8_t> value;
};

Result<std::vector<Tlv>> parse_tlv(std::span<const std::uint8_t> data, std::uint8_t want_type,
                                   std::string_view what) {
  std::vector<Tlv> out;
  if (data.size() <= kTokenAccountLen) return out;
  if (data[kTokenAccountLen] != want_type) {
    return make_error(ErrorCode::kParse, std::string(what) + " has account type " +
                                             std::to_string(data[kTokenAccountLen]) + ", not " +
                                             std::to_string(want_type));
  }
  Reader r(data);
  r.seek(kTokenAccountLen + 1);
  while (r.can(4)) {
    QTW_ASSIGN_OR_RETURN(auto type, r.uint(2, "extension type"));
    QTW_ASSIGN_OR_RETURN(auto len, r.uint(2, "extension length"));
    if (type == 0) break;
    if (!r.can(len)) {
      return make_error(ErrorCode::kParse, std::string(what) + " extension " +
                                               std::to_string(type) + " runs past the data (" +
                                               std::to_string(len) + " bytes declared)");
    }
    out.push_back(Tlv{static_cast<TokenExtension>(type), r.rest().first(len)});
    r.seek(r.pos() + len);
  }
  return out;
}

}  // namespace

const Pubkey& native_mint() noexcept {
  static const Pubkey id = id_of("So11111111111111111111111111111111111111112");
  return id;
}
bool is_token_program(const Pubkey& program) noexcept {
  return program == token_program_id() || program == token_2022_program_id();
}

Result<Pubkey> create_program_address(std::span<const std::span<const std::uint8_t>> seeds,
                                      const Pubkey& program) {
  if (seeds.size() > kMaxSeeds) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::to_string(seeds.size()) + " seeds, more than the 16 allowed");
  }
  // solana-sdk pubkey create_program_address: hashv(seeds, program_id,
  // PDA_MARKER), refused if the result is a valid curve point.
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  for (const auto& seed : seeds) {
    if (seed.size() > kMaxSeedLen) {
      return make_error(ErrorCode::kInvalidArgument,
                        "a seed of " + std::to_string(seed.size()) + " bytes, over 32");
    }
    crypto_hash_sha256_update(&st, seed.data(), seed.size());
  }
  static constexpr std::string_view kMarker = "ProgramDerivedAddress";
  crypto_hash_sha256_update(&st, program.bytes.data(), program.bytes.size());
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(kMarker.data()),
                            kMarker.size());
  Pubkey out;
  crypto_hash_sha256_final(&st, out.bytes.data());
  if (is_on_curve(out)) {
    return make_error(ErrorCode::kInvalidArgument, "seeds give a point on the curve");
  }
  return out;
}

Result<std::pair<Pubkey, std::uint8_t>> find_program_address(
    std::span<const std::span<const std::uint8_t>> seeds, const Pubkey& program) {
  if (seeds.size() + 1 > kMaxSeeds) {
    return make_error(ErrorCode::kInvalidArgument, "too many seeds for a bump seed");
  }
  std::vector<std::span<const std::uint8_t>> with_bump(seeds.begin(), seeds.end());
  std::uint8_t bump[1] = {255};
  with_bump.emplace_back(bump, 1);
  for (int b = 255; b >= 0; --b) {
    bump[0] = static_cast<std::uint8_t>(b);
    auto address = create_program_address(with_bump, program);
    if (address) return std::make_pair(*address, bump[0]);
    if (address.error().message.find("curve") == std::string::npos) {
      return tl::unexpected(address.error());
    }
  }
  return make_error(ErrorCode::kNotFound, "no bump seed gives an address off the curve");
}

Result<Pubkey> associated_token_address(const Pubkey& owner, const Pubkey& mint,
                                        const Pubkey& token_program) {
  if (!is_token_program(token_program)) {
    return make_error(ErrorCode::kInvalidArgument,
                      token_program.to_base58() + " is not a token program");
  }
  const std::span<const std::uint8_t> seeds[] = {owner.bytes, token_program.bytes, mint.bytes};
  QTW_ASSIGN_OR_RETURN(auto found, find_program_address(seeds, associated_token_program_id()));
  return found.first;
}

namespace token {

Instruction transfer_checked(const Pubkey& token_program, const Pubkey& source, const Pubkey& mint,
                             const Pubkey& destination, const Pubkey& owner, std::uint64_t amount,
                             std::uint8_t decimals) {
  Instruction ix;
  ix.program_id = token_program;
  ix.accounts = {AccountMeta{source, false, true}, AccountMeta{mint, false, false},
                 AccountMeta{destination, false, true}, AccountMeta{owner, true, false}};
  ix.data.push_back(kTransferChecked);
  put_u64(ix.data, amount);
  ix.data.push_back(decimals);
  return ix;
}

Instruction close_account(const Pubkey& token_program, const Pubkey& account,
                          const Pubkey& destination, const Pubkey& owner) {
  Instruction ix;
  ix.program_id = token_program;
  ix.accounts = {AccountMeta{account, false, true}, AccountMeta{destination, false, true},
                 AccountMeta{owner, true, false}};
  ix.data.push_back(kCloseAccount);
  return ix;
}

Instruction sync_native(const Pubkey& token_program, const Pubkey& account) {
  Instruction ix;
  ix.program_id = token_program;
  ix.accounts = {AccountMeta{account, false, true}};
  ix.data.push_back(kSyncNative);
  return ix;
}

}  // namespace token

namespace associated_token {

Result<Instruction> create_idempotent(const Pubkey& payer, const Pubkey& owner, const Pubkey& mint,
                                      const Pubkey& token_program) {
  QTW_ASSIGN_OR_RETURN(auto ata, associated_token_address(owner, mint, token_program));
  Instruction ix;
  ix.program_id = associated_token_program_id();
  ix.accounts = {AccountMeta{payer, true, true},  AccountMeta{ata, false, true},
                 AccountMeta{owner, false, false}, AccountMeta{mint, false, false},
                 AccountMeta{system_program_id(), false, false},
                 AccountMeta{token_program, false, false}};
  ix.data.push_back(1);  // AssociatedTokenAccountInstruction::CreateIdempotent
  return ix;
}

}  // namespace associated_token

bool TokenAccount::has(TokenExtension e) const noexcept {
  return std::find(extensions.begin(), extensions.end(), e) != extensions.end();
}
bool Mint::has(TokenExtension e) const noexcept {
  return std::find(extensions.begin(), extensions.end(), e) != extensions.end();
}

Result<TokenAccount> parse_token_account(std::span<const std::uint8_t> data) {
  if (data.size() < kTokenAccountLen) {
    return make_error(ErrorCode::kParse, "token account data is " + std::to_string(data.size()) +
                                             " bytes, less than 165");
  }
  Reader r(data);
  TokenAccount a;
  QTW_ASSIGN_OR_RETURN(a.mint, r.key("mint"));
  QTW_ASSIGN_OR_RETURN(a.owner, r.key("owner"));
  QTW_ASSIGN_OR_RETURN(a.amount, r.uint(8, "amount"));
  QTW_ASSIGN_OR_RETURN(a.delegate, r.opt_key("delegate"));
  QTW_ASSIGN_OR_RETURN(auto state, r.uint(1, "state"));
  if (state > 2) {
    return make_error(ErrorCode::kParse, "token account state " + std::to_string(state) +
                                             " is not 0, 1 or 2");
  }
  a.state = static_cast<TokenAccountState>(state);
  QTW_ASSIGN_OR_RETURN(a.native_rent_reserve, r.opt_u64("is_native"));
  QTW_ASSIGN_OR_RETURN(a.delegated_amount, r.uint(8, "delegated_amount"));
  QTW_ASSIGN_OR_RETURN(a.close_authority, r.opt_key("close_authority"));
  QTW_ASSIGN_OR_RETURN(auto tlv, parse_tlv(data, 2, "token account"));
  for (const auto& e : tlv) {
    a.extensions.push_back(e.type);
    if (e.type == TokenExtension::kTransferFeeAmount) {
      if (e.value.size() < 8) return make_error(ErrorCode::kParse, "TransferFeeAmount truncated");
      Reader v(e.value);
      QTW_ASSIGN_OR_RETURN(a.withheld_fee_amount, v.uint(8, "withheld_amount"));
    }
  }
  return a;
}

Result<Mint> parse_mint(std::span<const std::uint8_t> data) {
  if (data.size() < kMintLen) {
    return make_error(ErrorCode::kParse,
                      "mint data is " + std::to_string(data.size()) + " bytes, less than 82");
  }
  Reader r(data);
  Mint m;
  QTW_ASSIGN_OR_RETURN(m.mint_authority, r.opt_key("mint_authority"));
  QTW_ASSIGN_OR_RETURN(m.supply, r.uint(8, "supply"));
  QTW_ASSIGN_OR_RETURN(auto decimals, r.uint(1, "decimals"));
  m.decimals = static_cast<std::uint8_t>(decimals);
  QTW_ASSIGN_OR_RETURN(auto init, r.uint(1, "is_initialized"));
  if (init > 1) return make_error(ErrorCode::kParse, "mint is_initialized is not a bool");
  m.initialized = init == 1;
  QTW_ASSIGN_OR_RETURN(m.freeze_authority, r.opt_key("freeze_authority"));
  if (data.size() > kMintLen && data.size() <= kTokenAccountLen) {
    return make_error(ErrorCode::kParse, "mint data of " + std::to_string(data.size()) +
                                             " bytes has no room for an account type");
  }
  QTW_ASSIGN_OR_RETURN(auto tlv, parse_tlv(data, 1, "mint"));
  for (const auto& e : tlv) m.extensions.push_back(e.type);
  return m;
}

}  // namespace qtw::solana
