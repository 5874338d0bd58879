#include "qtw/solana/instruction_decode.h"

#include <string>

namespace qtw::solana {
namespace {

// Bounds-checked little-endian reads over instruction data.
class Data {
 public:
  Data(std::span<const std::uint8_t> in, const char* program) : in_(in), program_(program) {}
  Result<std::uint64_t> uint(std::size_t size, const char* field) {
    if (in_.size() - pos_ < size) return short_of(field);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < size; ++i) v |= static_cast<std::uint64_t>(in_[pos_ + i]) << (8 * i);
    pos_ += size;
    return v;
  }
  Result<Pubkey> key(const char* field) {
    if (in_.size() - pos_ < kPubkeySize) return short_of(field);
    Pubkey k;
    std::copy_n(in_.begin() + static_cast<std::ptrdiff_t>(pos_), kPubkeySize, k.bytes.begin());
    pos_ += kPubkeySize;
    return k;
  }
  // bincode String: u64 LE length then the bytes (skipped; only checked).
  Status skip_string(const char* field) {
    QTW_ASSIGN_OR_RETURN(std::uint64_t n, uint(8, field));
    if (in_.size() - pos_ < n) return short_of(field);
    pos_ += static_cast<std::size_t>(n);
    return {};
  }

 private:
  tl::unexpected<Error> short_of(const char* field) const {
    return make_error(ErrorCode::kParse,
                      std::string(program_) + " instruction data too short for " + field);
  }
  std::span<const std::uint8_t> in_;
  const char* program_;
  std::size_t pos_ = 0;
};

}  // namespace

namespace system_ix {

Result<Decoded> decode(std::span<const std::uint8_t> data) {
  Data d(data, "System");
  QTW_ASSIGN_OR_RETURN(std::uint64_t variant, d.uint(4, "the variant"));
  Decoded out;
  out.kind = static_cast<Kind>(variant);
  switch (out.kind) {
    case Kind::kCreateAccount: {
      QTW_ASSIGN_OR_RETURN(out.lamports, d.uint(8, "lamports"));
      QTW_ASSIGN_OR_RETURN(out.space, d.uint(8, "space"));
      QTW_ASSIGN_OR_RETURN(out.owner, d.key("owner"));
      break;
    }
    case Kind::kAssign: {
      QTW_ASSIGN_OR_RETURN(out.owner, d.key("owner"));
      break;
    }
    case Kind::kTransfer:
    case Kind::kWithdrawNonceAccount: {
      QTW_ASSIGN_OR_RETURN(out.lamports, d.uint(8, "lamports"));
      break;
    }
    case Kind::kCreateAccountWithSeed: {
      QTW_ASSIGN_OR_RETURN(out.base, d.key("base"));
      QTW_TRY(d.skip_string("seed"));
      QTW_ASSIGN_OR_RETURN(out.lamports, d.uint(8, "lamports"));
      QTW_ASSIGN_OR_RETURN(out.space, d.uint(8, "space"));
      QTW_ASSIGN_OR_RETURN(out.owner, d.key("owner"));
      break;
    }
    case Kind::kAdvanceNonceAccount:
    case Kind::kUpgradeNonceAccount:
      break;
    case Kind::kInitializeNonceAccount:
    case Kind::kAuthorizeNonceAccount: {
      QTW_ASSIGN_OR_RETURN(out.authority, d.key("authority"));
      break;
    }
    case Kind::kAllocate: {
      QTW_ASSIGN_OR_RETURN(out.space, d.uint(8, "space"));
      break;
    }
    case Kind::kAllocateWithSeed: {
      QTW_ASSIGN_OR_RETURN(out.base, d.key("base"));
      QTW_TRY(d.skip_string("seed"));
      QTW_ASSIGN_OR_RETURN(out.space, d.uint(8, "space"));
      QTW_ASSIGN_OR_RETURN(out.owner, d.key("owner"));
      break;
    }
    case Kind::kAssignWithSeed: {
      QTW_ASSIGN_OR_RETURN(out.base, d.key("base"));
      QTW_TRY(d.skip_string("seed"));
      QTW_ASSIGN_OR_RETURN(out.owner, d.key("owner"));
      break;
    }
    case Kind::kTransferWithSeed: {
      QTW_ASSIGN_OR_RETURN(out.lamports, d.uint(8, "lamports"));
      QTW_TRY(d.skip_string("from_seed"));
      QTW_ASSIGN_OR_RETURN(out.owner, d.key("from_owner"));
      break;
    }
    default:
      return make_error(ErrorCode::kParse,
                        "unknown System instruction variant " + std::to_string(variant));
  }
  return out;
}

bool is_nonce_instruction(Kind kind) noexcept {
  switch (kind) {
    case Kind::kAdvanceNonceAccount:
    case Kind::kWithdrawNonceAccount:
    case Kind::kInitializeNonceAccount:
    case Kind::kAuthorizeNonceAccount:
    case Kind::kUpgradeNonceAccount:
      return true;
    default:
      return false;
  }
}

std::string_view kind_name(Kind kind) noexcept {
  switch (kind) {
    case Kind::kCreateAccount: return "CreateAccount";
    case Kind::kAssign: return "Assign";
    case Kind::kTransfer: return "Transfer";
    case Kind::kCreateAccountWithSeed: return "CreateAccountWithSeed";
    case Kind::kAdvanceNonceAccount: return "AdvanceNonceAccount";
    case Kind::kWithdrawNonceAccount: return "WithdrawNonceAccount";
    case Kind::kInitializeNonceAccount: return "InitializeNonceAccount";
    case Kind::kAuthorizeNonceAccount: return "AuthorizeNonceAccount";
    case Kind::kAllocate: return "Allocate";
    case Kind::kAllocateWithSeed: return "AllocateWithSeed";
    case Kind::kAssignWithSeed: return "AssignWithSeed";
    case Kind::kTransferWithSeed: return "TransferWithSeed";
    case Kind::kUpgradeNonceAccount: return "UpgradeNonceAccount";
  }
  return "unknown";
}

}  // namespace system_ix

namespace compute_budget_ix {

Result<Decoded> decode(std::span<const std::uint8_t> data) {
  if (data.empty()) return make_error(ErrorCode::kParse, "empty ComputeBudget instruction");
  Decoded out;
  out.kind = static_cast<Kind>(data[0]);
  std::size_t size = 0;
  switch (out.kind) {
    case Kind::kRequestHeapFrame:
    case Kind::kSetComputeUnitLimit:
    case Kind::kSetLoadedAccountsDataSizeLimit:
      size = 4;
      break;
    case Kind::kSetComputeUnitPrice:
      size = 8;
      break;
    default:
      return make_error(ErrorCode::kParse, "ComputeBudget instruction " +
                                               std::to_string(data[0]) +
                                               " is deprecated or unknown");
  }
  // Borsh in the runtime (try_from_slice_unchecked) refuses short data; we
  // refuse trailing bytes too: nothing we sign is ambiguous.
  if (data.size() != 1 + size) {
    return make_error(ErrorCode::kParse, "ComputeBudget instruction " + std::to_string(data[0]) +
                                             " must be " + std::to_string(1 + size) + " bytes");
  }
  Data d(data.subspan(1), "ComputeBudget");
  QTW_ASSIGN_OR_RETURN(out.value, d.uint(size, "the value"));
  return out;
}

}  // namespace compute_budget_ix

namespace token_ix {

std::optional<std::size_t> authority_index(std::uint8_t t) noexcept {
  switch (t) {
    case kApprove: return 2;
    case kSetAuthority: return 1;
    case kCloseAccount: return 2;
    case kApproveChecked: return 3;
    default: return std::nullopt;
  }
}

Result<std::uint8_t> tag(std::span<const std::uint8_t> data) {
  if (data.empty()) return make_error(ErrorCode::kParse, "empty SPL Token instruction");
  return data[0];
}

}  // namespace token_ix

namespace loader_v3_ix {

Result<AuthorityIndexes> authorities(std::span<const std::uint8_t> data) {
  Data d(data, "BPF upgradeable loader");
  QTW_ASSIGN_OR_RETURN(std::uint64_t variant, d.uint(4, "the variant"));
  switch (variant) {
    case 0: return AuthorityIndexes{1, {1, 0}};  // InitializeBuffer
    case 1: return AuthorityIndexes{1, {1, 0}};  // Write
    case 2: return AuthorityIndexes{1, {7, 0}};  // DeployWithMaxDataLen
    case 3: return AuthorityIndexes{1, {6, 0}};  // Upgrade
    case 4: return AuthorityIndexes{2, {1, 2}};  // SetAuthority
    case 5: return AuthorityIndexes{1, {2, 0}};  // Close
    case 6: return AuthorityIndexes{0, {0, 0}};  // ExtendProgram
    case 7: return AuthorityIndexes{2, {1, 2}};  // SetAuthorityChecked
    case 8: return AuthorityIndexes{1, {2, 0}};  // Migrate
    case 9: return AuthorityIndexes{1, {2, 0}};  // ExtendProgramChecked
    default:
      return make_error(ErrorCode::kParse,
                        "unknown upgradeable loader instruction " + std::to_string(variant));
  }
}

}  // namespace loader_v3_ix

namespace loader_v4_ix {

Result<loader_v3_ix::AuthorityIndexes> authorities(std::span<const std::uint8_t> data) {
  Data d(data, "loader v4");
  QTW_ASSIGN_OR_RETURN(std::uint64_t variant, d.uint(4, "the variant"));
  if (variant > 6) {
    return make_error(ErrorCode::kParse, "unknown loader v4 instruction " + std::to_string(variant));
  }
  if (variant == 5) return loader_v3_ix::AuthorityIndexes{2, {1, 2}};  // TransferAuthority
  return loader_v3_ix::AuthorityIndexes{1, {1, 0}};
}

}  // namespace loader_v4_ix

namespace lookup_table_ix {

Result<std::uint32_t> variant(std::span<const std::uint8_t> data) {
  Data d(data, "address lookup table");
  QTW_ASSIGN_OR_RETURN(std::uint64_t v, d.uint(4, "the variant"));
  if (v > 4) {
    return make_error(ErrorCode::kParse, "unknown address lookup table instruction " + std::to_string(v));
  }
  return static_cast<std::uint32_t>(v);
}

}  // namespace lookup_table_ix

}  // namespace qtw::solana
