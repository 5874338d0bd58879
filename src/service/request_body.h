#pragma once
// Internal: the daemon's request bodies, parsed apart from the HTTP layer so
// the parsers can be fuzzed (tests/fuzz/fuzz_request_body.cpp). A Lander is
// untrusted: any bytes get a clear kInvalidArgument, never a throw.
#include <cstdint>
#include <string_view>
#include <vector>

#include "qtw/result.h"

namespace qtw::service {

// POST /v1/explorers/{pubkey}/sign: the message bytes to sign. The raw body
// for Content-Type application/octet-stream, else JSON
// {"message": "<base64 message>"}. Only the envelope is checked here; what
// the bytes say is the signer's to judge.
[[nodiscard]] Result<std::vector<std::uint8_t>> parse_sign_body(std::string_view content_type,
                                                                std::string_view body);

// POST /v1/explorers/{pubkey}/return: {"retire": true|false}; an empty body
// or a missing field means retire (the safe default: it may have signed).
[[nodiscard]] Result<bool> parse_return_body(std::string_view body);

}  // namespace qtw::service
