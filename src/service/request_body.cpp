#include "request_body.h"

#include <nlohmann/json.hpp>
#include <string>

#include "qtw/solana/encoding.h"

namespace qtw::service {

using nlohmann::json;

Result<std::vector<std::uint8_t>> parse_sign_body(std::string_view content_type,
                                                  std::string_view body) {
  if (content_type.rfind("application/octet-stream", 0) == 0) {
    return std::vector<std::uint8_t>(body.begin(), body.end());
  }
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const auto message = j.is_object() ? j.find("message") : j.end();
  if (!j.is_object() || message == j.end() || !message->is_string()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "body must be {\"message\": \"<base64 message>\"} (or the raw "
                      "bytes with Content-Type: application/octet-stream)");
  }
  auto bytes = solana::base64_decode(message->get_ref<const std::string&>());
  if (!bytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      "message is not base64: " + bytes.error().message);
  }
  return std::move(*bytes);
}

Result<bool> parse_return_body(std::string_view body) {
  const json j = json::parse(body.empty() ? std::string_view("{}") : body, nullptr, false);
  const auto retire = j.is_object() ? j.find("retire") : j.end();
  if (!j.is_object() || (retire != j.end() && !retire->is_boolean())) {
    return make_error(ErrorCode::kInvalidArgument, "body must be {\"retire\": true|false}");
  }
  return retire == j.end() ? true : retire->get<bool>();
}

}  // namespace qtw::service
