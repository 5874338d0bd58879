// libcurl implementation of HttpTransport: one easy handle per transport so
// libcurl's connection cache keeps the TCP connection alive between calls.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <mutex>
#include <string>

#include "qtw/rpc/http_transport.h"

namespace qtw::rpc {
namespace {

void global_init_once() {
  // curl_global_init is not thread-safe on old libcurl; do it exactly once.
  static std::once_flag flag;
  std::call_once(flag, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

struct Sink {
  std::string body;
  std::size_t max_bytes = 0;
  bool overflow = false;
  std::optional<std::int64_t> retry_after_ms;
};

std::size_t write_cb(char* data, std::size_t size, std::size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * nmemb;
  if (sink->body.size() + n > sink->max_bytes) {
    sink->overflow = true;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  sink->body.append(data, n);
  return n;
}

std::size_t header_cb(char* data, std::size_t size, std::size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * nmemb;
  std::string_view line(data, n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (std::size_t i = 0; i < kName.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(line[i])) != kName[i]) {
        match = false;
        break;
      }
    }
    if (match) sink->retry_after_ms = parse_retry_after_ms(line.substr(kName.size()));
  }
  return n;
}

class CurlTransport final : public HttpTransport {
 public:
  CurlTransport(std::string url, CurlTransportOptions options, CURL* handle, curl_slist* headers)
      : url_(std::move(url)), options_(std::move(options)), handle_(handle), headers_(headers) {}

  Result<HttpResponse> post(std::string_view body) override { return perform(body, false); }

  Result<HttpResponse> post_once(std::string_view body) override {
    // libcurl re-sends automatically only over a REUSED connection that died
    // before answering (lib/transfer.c Curl_retry_request); a fresh
    // connection is never re-sent, so the request goes out at most once.
    return perform(body, true);
  }

  const std::string& url() const noexcept override { return url_; }

 private:
  Result<HttpResponse> perform(std::string_view body, bool fresh_connection) {
    CURL* h = handle_.get();
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, fresh_connection ? 1L : 0L);
    // Options are re-applied on every call: curl_easy_reset is not used so the
    // handle keeps its connection cache (keep-alive) between posts.
    curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout_ms));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM (threads)
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);   // a JSON-RPC POST must not be redirected
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // gzip if the server offers it
    Sink sink;
    sink.max_bytes = options_.max_response_bytes;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);

    const CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
      std::string msg = "POST " + url_ + ": " + curl_easy_strerror(rc);
      if (sink.overflow) {
        msg += " (response larger than " + std::to_string(options_.max_response_bytes) + " bytes)";
      }
      return make_error(ErrorCode::kTransport, std::move(msg), static_cast<long>(rc));
    }
    HttpResponse resp;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
    resp.body = std::move(sink.body);
    resp.retry_after_ms = sink.retry_after_ms;
    return resp;
  }

  std::string url_;
  CurlTransportOptions options_;
  std::unique_ptr<CURL, CurlDeleter> handle_;
  std::unique_ptr<curl_slist, SlistDeleter> headers_;
};

}  // namespace

std::optional<std::int64_t> parse_retry_after_ms(std::string_view value) noexcept {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
    value.remove_suffix(1);
  }
  if (value.empty()) return std::nullopt;
  std::int64_t seconds = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || ptr != value.data() + value.size() || seconds < 0) return std::nullopt;
  constexpr std::int64_t kMaxSeconds = std::int64_t{24} * 3600;  // clamp absurd values
  return std::min(seconds, kMaxSeconds) * 1000;
}

Result<std::unique_ptr<HttpTransport>> make_curl_transport(std::string url,
                                                           CurlTransportOptions options) {
  if (url.empty()) return make_error(ErrorCode::kInvalidArgument, "empty RPC URL");
  global_init_once();
  CURL* handle = curl_easy_init();
  if (handle == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "curl_easy_init failed");
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Accept: application/json");
  // Disable "Expect: 100-continue": it costs a round trip on bodies > 1 KiB.
  headers = curl_slist_append(headers, "Expect:");
  for (const auto& extra : options.extra_headers)
    headers = curl_slist_append(headers, extra.c_str());
  return std::unique_ptr<HttpTransport>(
      std::make_unique<CurlTransport>(std::move(url), std::move(options), handle, headers));
}

}  // namespace qtw::rpc
