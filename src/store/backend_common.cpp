#include "store/backend_common.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>

namespace qtw::store {

std::string owner_string(const LeaseOwner& o) {
  return o.host + ":" + std::to_string(o.pid) + ":" + o.instance;
}

std::string explorer_name(const solana::Pubkey& pk) {
  return "Explorer " + pk.to_base58();
}

std::string default_actor() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "unknown");
  return std::string(host) + ":" + std::to_string(::getpid());
}

std::int64_t system_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status check_i64(std::uint64_t v, std::string_view what) {
  if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return make_error(ErrorCode::kInvalidArgument, std::string(what) + " exceeds 2^63-1");
  }
  return {};
}

Status check_owner(const LeaseOwner& owner) {
  if (owner.host.empty() || owner.instance.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "lease owner needs host and instance");
  }
  return {};
}

Status check_release(const KeyRecord& r, bool retire) {
  if (r.tier != KeyTier::Explorer) {
    return make_error(ErrorCode::kInvalidArgument, explorer_name(r.pubkey) +
                                                       " is not an Explorer");
  }
  if (r.state != KeyState::kLeased || !r.lease) {
    return make_error(ErrorCode::kConflict,
                      explorer_name(r.pubkey) + " is " + std::string(key_state_name(r.state)) +
                          ", not leased (an expired lease counts as used)");
  }
  if (!retire && r.sign_count > 0) {
    return make_error(ErrorCode::kConflict, explorer_name(r.pubkey) +
                                                " signed once: it cannot be returned for "
                                                "reuse, only retired (single use, I2)");
  }
  return {};
}

Status check_batch_transition(KeyState from, KeyState to) {
  if (from == KeyState::kLeased || to == KeyState::kLeased) {
    return make_error(ErrorCode::kInvalidArgument,
                      "leases change only through claim_explorers / release_explorer / "
                      "expire_leases");
  }
  return check_transition(from, to);
}

Status check_move_row(const solana::Pubkey& pk, std::int64_t tier, KeyState cur, KeyState from,
                      KeyState to) {
  if (tier != kTierExplorer) {
    return make_error(ErrorCode::kInvalidArgument, explorer_name(pk) + " is not an Explorer");
  }
  if (cur != from) {
    return make_error(ErrorCode::kIllegalTransition,
                      explorer_name(pk) + " is " + std::string(key_state_name(cur)) + ", not " +
                          std::string(key_state_name(from)) + " (wanted " +
                          std::string(key_state_name(from)) + " -> " +
                          std::string(key_state_name(to)) + ")");
  }
  return {};
}

Status check_new_intent(const IntentRecord& intent) {
  if (intent.status != IntentStatus::kPrepared) {
    return make_error(ErrorCode::kInvalidArgument, "a new intent must be `prepared`");
  }
  if (std::all_of(intent.signature.bytes.begin(), intent.signature.bytes.end(),
                  [](std::uint8_t b) { return b == 0; })) {
    return make_error(ErrorCode::kInvalidArgument, "intent has no signature");
  }
  QTW_TRY(check_i64(intent.last_valid_block_height, "last_valid_block_height"));
  for (const auto& t : intent.transfers) QTW_TRY(check_i64(t.lamports, "lamports"));
  return {};
}

AuditRecord audit_record(std::int64_t at_ms, const std::string& actor, std::string_view action,
                         const std::optional<solana::Pubkey>& pubkey,
                         std::optional<std::int64_t> intent_id, std::string_view detail) {
  AuditRecord rec;
  rec.at_ms = at_ms;
  rec.actor = actor;
  rec.action = std::string(action);
  rec.pubkey = pubkey;
  rec.intent_id = intent_id;
  rec.detail = std::string(detail);
  return rec;
}

}  // namespace qtw::store
