#include "qtw/result.h"

namespace qtw {

std::string_view error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kParse: return "parse";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kPermission: return "permission";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kCrypto: return "crypto";
    case ErrorCode::kTransport: return "transport";
    case ErrorCode::kHttp: return "http";
    case ErrorCode::kRpc: return "rpc";
    case ErrorCode::kMalformedResponse: return "malformed_response";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kExpired: return "expired";
    case ErrorCode::kStore: return "store";
    case ErrorCode::kCorrupt: return "corrupt";
    case ErrorCode::kSchemaTooNew: return "schema_too_new";
    case ErrorCode::kIllegalTransition: return "illegal_transition";
    case ErrorCode::kInsufficientFunds: return "insufficient_funds";
    case ErrorCode::kPoolEmpty: return "pool_empty";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kCapExceeded: return "cap_exceeded";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kTooLarge: return "too_large";
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kPolicyRefused: return "policy_refused";
  }
  return "internal";
}

int exit_code_for(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParse:
    case ErrorCode::kNotFound:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kPermission:
    case ErrorCode::kCrypto:
    case ErrorCode::kCorrupt:
    case ErrorCode::kSchemaTooNew:
    case ErrorCode::kTooLarge:
    case ErrorCode::kPolicyRefused:
      return 2;
    default:
      return 1;
  }
}

std::string to_string(const Error& error) {
  std::string out(error_code_name(error.code));
  out += ": ";
  out += error.message;
  if (error.native_code != 0) {
    out += " (code ";
    out += std::to_string(error.native_code);
    out += ")";
  }
  return out;
}

}  // namespace qtw
