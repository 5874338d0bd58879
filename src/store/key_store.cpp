#include "qtw/store/key_store.h"

#include <array>
#include <cstdint>
#include <string>
#include <utility>

namespace qtw::store {
namespace {

constexpr std::array<std::string_view, 3> kTierNames = {"hodl", "bank", "explorer"};
constexpr std::array<std::string_view, 9> kStateNames = {
    "pending", "available", "leased", "used",    "draining",
    "retired", "dropped",   "active", "stranded"};
constexpr std::array<std::string_view, 6> kKindNames = {
    "fund_bank", "fund_explorers", "recover", "sweep", "lander", "transfer"};
constexpr std::array<std::string_view, 6> kStatusNames = {
    "prepared", "sent", "confirmed", "failed", "expired", "abandoned"};

template <class E, std::size_t N>
Result<E> parse_name(const std::array<std::string_view, N>& names, std::string_view text,
                     std::string_view what) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<E>(i);
  }
  std::string choices;
  for (auto n : names) {
    if (!choices.empty()) choices += ", ";
    choices += n;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown " + std::string(what) + " '" + std::string(text) +
                        "' (expected one of: " + choices + ")");
}

template <std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, std::size_t i) noexcept {
  return i < N ? names[i] : std::string_view("unknown");
}

}  // namespace

std::string_view key_tier_name(KeyTier tier) noexcept {
  return name_of(kTierNames, static_cast<std::size_t>(tier));
}
std::string_view key_state_name(KeyState state) noexcept {
  return name_of(kStateNames, static_cast<std::size_t>(state));
}
Result<KeyTier> parse_key_tier(std::string_view text) {
  return parse_name<KeyTier>(kTierNames, text, "key tier");
}
Result<KeyState> parse_key_state(std::string_view text) {
  return parse_name<KeyState>(kStateNames, text, "key state");
}
std::string_view intent_kind_name(IntentKind kind) noexcept {
  return name_of(kKindNames, static_cast<std::size_t>(kind));
}
std::string_view intent_status_name(IntentStatus status) noexcept {
  return name_of(kStatusNames, static_cast<std::size_t>(status));
}
Result<IntentKind> parse_intent_kind(std::string_view text) {
  return parse_name<IntentKind>(kKindNames, text, "intent kind");
}
Result<IntentStatus> parse_intent_status(std::string_view text) {
  return parse_name<IntentStatus>(kStatusNames, text, "intent status");
}

Status check_transition(KeyState from, KeyState to) {
  using S = KeyState;
  // The state machine of docs/ARCHITECTURE.md plus the documented additions (key_store.h).
  static constexpr std::pair<S, S> kLegal[] = {
      {S::kPending, S::kAvailable}, {S::kPending, S::kDropped},   {S::kAvailable, S::kLeased},
      {S::kAvailable, S::kUsed},    {S::kLeased, S::kAvailable},  {S::kLeased, S::kUsed},
      {S::kUsed, S::kDraining},     {S::kUsed, S::kRetired},      {S::kDraining, S::kRetired},
      {S::kDraining, S::kUsed},     {S::kDropped, S::kUsed},      {S::kUsed, S::kStranded},
      {S::kDraining, S::kStranded},
  };
  for (const auto& [f, t] : kLegal) {
    if (f == from && t == to) return {};
  }
  return make_error(ErrorCode::kIllegalTransition,
                    "explorer state " + std::string(key_state_name(from)) + " -> " +
                        std::string(key_state_name(to)) + " is not allowed (Explorer state machine, docs/ARCHITECTURE.md)");
}

Status check_intent_transition(IntentStatus from, IntentStatus to) {
  using S = IntentStatus;
  static constexpr std::pair<S, S> kLegal[] = {
      {S::kPrepared, S::kSent},    {S::kPrepared, S::kAbandoned}, {S::kPrepared, S::kFailed},
      {S::kSent, S::kConfirmed},   {S::kSent, S::kFailed},        {S::kSent, S::kExpired},
      {S::kExpired, S::kConfirmed},
  };
  for (const auto& [f, t] : kLegal) {
    if (f == from && t == to) return {};
  }
  return make_error(ErrorCode::kIllegalTransition,
                    "intent status " + std::string(intent_status_name(from)) + " -> " +
                        std::string(intent_status_name(to)) + " is not allowed");
}

Status check_setting_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name == "next_lease_id") {
    return make_error(ErrorCode::kInvalidArgument,
                      "setting name '" + std::string(name) + "' is empty, too long or reserved");
  }
  return {};
}

}  // namespace qtw::store

namespace qtw::store {

std::string_view nonce_account_status_name(NonceAccountStatus s) noexcept {
  switch (s) {
    case NonceAccountStatus::kCreating: return "creating";
    case NonceAccountStatus::kActive: return "active";
    case NonceAccountStatus::kFailed: return "failed";
  }
  return "unknown";
}

std::string_view topup_status_name(TopupStatus s) noexcept {
  switch (s) {
    case TopupStatus::kPending: return "pending";
    case TopupStatus::kSubmitted: return "submitted";
    case TopupStatus::kLanded: return "landed";
    case TopupStatus::kFailed: return "failed";
    case TopupStatus::kStale: return "stale";
  }
  return "unknown";
}

Status check_new_topup_request(const TopupRequestRecord& r) {
  auto bad = [](const std::string& what) {
    return make_error(ErrorCode::kInvalidArgument, "top-up request: " + what);
  };
  if (r.status != TopupStatus::kPending || r.signature || r.intent_id) {
    return bad("a new request must be pending and unsigned");
  }
  if (r.message.empty()) return bad("no message");
  if (r.transfers.empty()) return bad("no transfers");
  for (const auto& t : r.transfers) {
    if (t.from != r.hodl) return bad("a transfer does not come from the request's HODL key");
    if (t.lamports == 0 || t.lamports > static_cast<std::uint64_t>(INT64_MAX)) {
      return bad("a transfer amount is out of range");
    }
  }
  return {};
}

Status check_topup_transition(TopupStatus from, TopupStatus to) {
  using S = TopupStatus;
  const bool ok = (from == S::kPending && (to == S::kSubmitted || to == S::kStale)) ||
                  (from == S::kSubmitted && (to == S::kLanded || to == S::kFailed ||
                                             to == S::kStale || to == S::kPending));
  if (ok) return {};
  return make_error(ErrorCode::kIllegalTransition,
                    "top-up request " + std::string(topup_status_name(from)) + " -> " +
                        std::string(topup_status_name(to)) + " is not allowed");
}

}  // namespace qtw::store
