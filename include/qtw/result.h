#pragma once
// The one error type of libqtw. Nothing throws across the public API: every
// fallible call returns Result<T> (tl::expected) carrying an Error.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace qtw {

// Closed set of error classes. Each maps to a CLI exit code (exit_code_for)
// and a stable metric/JSON label (error_code_name). Add new codes at the end.
enum class ErrorCode : std::uint8_t {
  kInvalidArgument,    // caller passed a bad value (bad base58, out-of-range lamports, ...)
  kParse,              // outside bytes/text did not parse (file, wire, JSON)
  kNotFound,           // a named thing does not exist (file, key, account)
  kAlreadyExists,      // refusing to overwrite
  kPermission,         // file mode/ownership refused (e.g. world-readable secret)
  kIo,                 // filesystem or OS failure
  kCrypto,             // signing/verification/sealing failure, wrong passphrase
  kTransport,          // network: connect/reset/timeout before an HTTP status
  kHttp,               // HTTP status != 200 (native_code = status)
  kRpc,                // JSON-RPC error object (native_code = JSON-RPC code)
  kMalformedResponse,  // a peer answered with something we cannot interpret
  kTimeout,            // an operation ran out of time
  kExpired,            // a transaction's blockhash expired without landing
  kStore,              // database failure (native_code = SQLite/libpq code)
  kCorrupt,            // persisted data failed an integrity check
  kSchemaTooNew,       // the store was written by a newer qtw
  kIllegalTransition,  // a key state-machine transition that is not allowed
  kInsufficientFunds,  // not enough lamports for what was asked
  kPoolEmpty,          // no Explorer available right now
  kConflict,           // a concurrent owner holds it / already used (e.g. sign twice)
  kCapExceeded,        // a configured safety cap (I7) would be exceeded
  kUnavailable,        // dependency temporarily unavailable (retry later)
  kTooLarge,           // exceeds a protocol size limit (1,232-byte packet, ...)
  kInternal,           // a bug: an invariant of ours did not hold
  kPolicyRefused,      // the signing policy refused a message (rule in the message)
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;   // says what was wrong and, where known, what to do
  long native_code = 0;  // SQLite/curl/libpq/HTTP/JSON-RPC code where relevant
};

template <class T>
using Result = tl::expected<T, Error>;
using Status = Result<void>;

[[nodiscard]] inline tl::unexpected<Error> make_error(ErrorCode code, std::string message,
                                                      long native_code = 0) {
  return tl::unexpected<Error>(Error{code, std::move(message), native_code});
}

// Stable snake_case label, e.g. "invalid_argument". Used in metrics and --json.
[[nodiscard]] std::string_view error_code_name(ErrorCode code) noexcept;

// CLI exit code: 2 for bad usage or input (argument, parse, permission,
// corrupt/foreign store, wrong passphrase...), 1 for operational failures.
[[nodiscard]] int exit_code_for(ErrorCode code) noexcept;

// "invalid_argument: <message>" (native code appended when non-zero).
[[nodiscard]] std::string to_string(const Error& error);

// Prefixes context to an error's message: "reading id.json: <message>".
[[nodiscard]] inline Error with_context(Error error, std::string_view context) {
  error.message = std::string(context) + ": " + error.message;
  return error;
}

}  // namespace qtw

// Early-return helpers for Result-returning functions.
#define QTW_CONCAT_INNER(a, b) a##b
#define QTW_CONCAT(a, b) QTW_CONCAT_INNER(a, b)
// __COUNTER__ keeps the temporaries distinct when QTW_TRY nests (a lambda
// inside a QTW_TRY argument using QTW_TRY itself).
#define QTW_TRY_IMPL(tmp, expr)                           \
  do {                                                    \
    auto&& tmp = (expr);                                  \
    if (!tmp) return tl::unexpected(tmp.error());         \
  } while (0)
#define QTW_TRY(expr) QTW_TRY_IMPL(QTW_CONCAT(qtw_try_, __COUNTER__), expr)
#define QTW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp) return tl::unexpected(tmp.error());   \
  lhs = std::move(*tmp)
#define QTW_ASSIGN_OR_RETURN(lhs, expr) \
  QTW_ASSIGN_OR_RETURN_IMPL(QTW_CONCAT(qtw_aor_, __COUNTER__), lhs, expr)
