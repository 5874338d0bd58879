#include "qtw/solana/transaction.h"

#include <string>

#include "qtw/solana/short_vec.h"

namespace qtw::solana {

Transaction Transaction::from_message(Message message) {
  Transaction tx;
  tx.signatures.resize(message.header.num_required_signatures);
  tx.message = std::move(message);
  return tx;
}

Status Transaction::sign(std::span<const Keypair* const> signers) {
  const std::size_t nsig = message.header.num_required_signatures;
  if (message.account_keys.size() < nsig) {
    return make_error(ErrorCode::kInvalidArgument,
                      "message header requires more signers than it has keys");
  }
  if (signatures.size() != nsig) signatures.resize(nsig);
  const auto bytes = message.serialize();
  for (const Keypair* kp : signers) {
    if (kp == nullptr) return make_error(ErrorCode::kInvalidArgument, "null signer");
    std::size_t slot = nsig;
    for (std::size_t i = 0; i < nsig; ++i) {
      if (message.account_keys[i] == kp->pubkey()) {
        slot = i;
        break;
      }
    }
    if (slot == nsig) {
      return make_error(ErrorCode::kInvalidArgument,
                        kp->pubkey().to_base58() + " is not a required signer of this message");
    }
    signatures[slot] = kp->sign(bytes);
  }
  return {};
}

bool Transaction::is_fully_signed() const noexcept {
  if (signatures.size() != message.header.num_required_signatures) return false;
  for (const auto& s : signatures) {
    if (s.is_zero()) return false;
  }
  return true;
}

Status Transaction::verify() const {
  if (signatures.size() != message.header.num_required_signatures) {
    return make_error(ErrorCode::kCrypto, "signature count does not match the message header");
  }
  if (message.account_keys.size() < signatures.size()) {
    return make_error(ErrorCode::kCrypto, "message has fewer account keys than signatures");
  }
  const auto bytes = message.serialize();
  for (std::size_t i = 0; i < signatures.size(); ++i) {
    if (!solana::verify(message.account_keys[i], bytes, signatures[i])) {
      return make_error(ErrorCode::kCrypto, "signature " + std::to_string(i) + " by " +
                                                message.account_keys[i].to_base58() +
                                                " does not verify");
    }
  }
  return {};
}

std::size_t Transaction::serialized_size() const {
  return short_vec_encoded_size(static_cast<std::uint16_t>(signatures.size())) +
         signatures.size() * kSignatureSize + message.serialize().size();
}

Result<std::vector<std::uint8_t>> Transaction::serialize() const {
  std::vector<std::uint8_t> out;
  short_vec_encode(static_cast<std::uint16_t>(signatures.size()), out);
  for (const auto& s : signatures) out.insert(out.end(), s.bytes.begin(), s.bytes.end());
  const auto msg = message.serialize();
  out.insert(out.end(), msg.begin(), msg.end());
  if (out.size() > kPacketDataSize) {
    return make_error(ErrorCode::kTooLarge, "transaction is " + std::to_string(out.size()) +
                                                " bytes, over the 1232-byte packet limit");
  }
  return out;
}

Result<Transaction> Transaction::deserialize(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kPacketDataSize) {
    return make_error(ErrorCode::kTooLarge, "transaction is " + std::to_string(bytes.size()) +
                                                " bytes, over the 1232-byte packet limit");
  }
  QTW_ASSIGN_OR_RETURN(auto count, short_vec_decode(bytes));
  std::size_t pos = count.bytes_read;
  // 12 signatures is the most a 1,232-byte packet can carry.
  if (count.value > kPacketDataSize / (kSignatureSize + kPubkeySize)) {
    return make_error(ErrorCode::kParse, "too many signatures for one packet");
  }
  if (bytes.size() - pos < count.value * kSignatureSize) {
    return make_error(ErrorCode::kParse, "transaction truncated in signatures");
  }
  Transaction tx;
  tx.signatures.resize(count.value);
  for (auto& s : tx.signatures) {
    std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(pos), kSignatureSize, s.bytes.begin());
    pos += kSignatureSize;
  }
  if (pos < bytes.size() && (bytes[pos] & 0x80) != 0) {
    return make_error(ErrorCode::kParse, "versioned transactions are not supported");
  }
  std::size_t used = 0;
  QTW_ASSIGN_OR_RETURN(tx.message, Message::deserialize(bytes.subspan(pos), &used));
  if (pos + used != bytes.size()) {
    return make_error(ErrorCode::kParse, "trailing bytes after the message");
  }
  if (tx.signatures.size() != tx.message.header.num_required_signatures) {
    return make_error(ErrorCode::kParse,
                      "signature count " + std::to_string(tx.signatures.size()) +
                          " does not equal num_required_signatures " +
                          std::to_string(tx.message.header.num_required_signatures));
  }
  return tx;
}

}  // namespace qtw::solana
