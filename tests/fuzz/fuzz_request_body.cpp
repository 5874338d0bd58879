// libFuzzer target: the daemon's request bodies (src/service/request_body.cpp)
// and the message parser the sign path (KeyManager::sign) feeds them to. A Lander is
// untrusted and can send anything.
// Properties: no crash, UB, leak or exception on any body; errors always say
// what is wrong; octet-stream bodies pass through byte for byte; a return
// body decides retire exactly as its JSON says (absent = retire).
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "qtw/solana/versioned_message.h"
#include "service/request_body.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qtw;
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  auto raw = service::parse_sign_body("application/octet-stream", body);
  if (!raw || raw->size() != size ||
      (size > 0 && !std::equal(raw->begin(), raw->end(), data))) {
    std::abort();
  }
  for (std::string_view type : {"application/json", ""}) {
    auto bytes = service::parse_sign_body(type, body);
    if (!bytes) {
      if (bytes.error().code != ErrorCode::kInvalidArgument || bytes.error().message.empty()) {
        std::abort();
      }
      continue;
    }
    // What the sign handler does next with the bytes.
    auto message = solana::VersionedMessage::deserialize(*bytes);
    if (!message && message.error().message.empty()) std::abort();
  }
  (void)solana::VersionedMessage::deserialize(std::span<const std::uint8_t>(data, size));

  auto retire = service::parse_return_body(body);
  const auto j = nlohmann::json::parse(body.empty() ? std::string_view("{}") : body, nullptr, false);
  if (retire) {
    if (!j.is_object()) std::abort();
    const auto it = j.find("retire");
    if (*retire != (it == j.end() ? true : it->get<bool>())) std::abort();
  } else if (retire.error().message.empty()) {
    std::abort();
  }
  return 0;
}
