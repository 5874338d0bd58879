#pragma once
// HTTP transport for JSON-RPC: the one place libqtw touches the network.
// HttpTransport is an interface so tests and callers can inject the outside
// world (STYLE rule 4); make_curl_transport() is the real implementation.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qtw/result.h"

namespace qtw::rpc {

// One HTTP exchange as seen by the JSON-RPC layer. A non-200 status is NOT an
// error at this level: the transport reports what the server said and the
// RPC layer decides (kHttp, retry, batch fallback).
struct HttpResponse {
  long status = 0;                             // HTTP status code, e.g. 200, 429
  std::string body;                            // response body as received
  std::optional<std::int64_t> retry_after_ms;  // parsed Retry-After (delta-seconds form), if any
};

// Posts a request body to a fixed URL.
// Errors: kTransport (connect refused/reset, timeout, TLS...; native_code =
// the curl code), kInvalidArgument for a bad URL.
// Thread safety: an implementation need not be thread-safe; the curl one is
// not (it owns one easy handle). Use one transport per thread, or guard it.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  [[nodiscard]] virtual Result<HttpResponse> post(std::string_view body) = 0;
  // Like post(), but the request is put on the wire at most once. libcurl
  // silently re-sends a request whose reused keep-alive connection closed
  // before any answer; harmless for reads, not for sendTransaction or
  // requestAirdrop, which the RPC layer posts through here. The curl
  // transport uses a fresh connection for it. Default: post().
  [[nodiscard]] virtual Result<HttpResponse> post_once(std::string_view body) { return post(body); }
  // The endpoint this transport posts to (for messages; never holds secrets
  // beyond what the operator put in the URL).
  [[nodiscard]] virtual const std::string& url() const noexcept = 0;
};

struct CurlTransportOptions {
  // Time to establish the TCP (and TLS) connection. Default 5,000 ms.
  std::int64_t connect_timeout_ms = 5'000;
  // Whole-request deadline, connect included. Default 30,000 ms.
  std::int64_t total_timeout_ms = 30'000;
  // Largest response body accepted; a bigger one fails with kTransport
  // (protects against a hostile or broken peer). Default 64 MiB.
  std::size_t max_response_bytes = 64u << 20;
  // Extra request headers, "Name: value" each (e.g. a provider API key).
  // Default none.
  std::vector<std::string> extra_headers;
};

// A libcurl transport with one easy handle, reused across calls so the TCP
// connection is kept alive (HTTP/1.1 keep-alive). POSTs with
// Content-Type: application/json. Not thread-safe (see HttpTransport).
// Errors: kInvalidArgument if `url` is empty or curl cannot be initialised.
[[nodiscard]] Result<std::unique_ptr<HttpTransport>> make_curl_transport(
    std::string url, CurlTransportOptions options = {});

// Parses a Retry-After header value. Only the delta-seconds form is
// understood (RFC 9110 §10.2.3); an HTTP-date yields nullopt.
[[nodiscard]] std::optional<std::int64_t> parse_retry_after_ms(std::string_view value) noexcept;

}  // namespace qtw::rpc
