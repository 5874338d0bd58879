#include "qtw/metrics/otlp.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <bit>
#include <cstring>
#include <limits>

namespace qtw::metrics {

namespace {

// ---- protobuf wire format (protobuf.dev/programming-guides/encoding) ----
// Wire types: 0 VARINT, 1 I64 (fixed64/sfixed64/double), 2 LEN.
constexpr std::uint32_t kVarint = 0;
constexpr std::uint32_t kI64 = 1;
constexpr std::uint32_t kLen = 2;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_tag(std::string& out, std::uint32_t field, std::uint32_t wire_type) {
  put_varint(out, (static_cast<std::uint64_t>(field) << 3) | wire_type);
}

// Little-endian 8 bytes (fixed64, sfixed64 and double all use this layout).
void put_fixed64_raw(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_fixed64(std::string& out, std::uint32_t field, std::uint64_t v) {
  put_tag(out, field, kI64);
  put_fixed64_raw(out, v);
}

void put_double(std::string& out, std::uint32_t field, double v) {
  put_fixed64(out, field, std::bit_cast<std::uint64_t>(v));
}

void put_uint(std::string& out, std::uint32_t field, std::uint64_t v) {
  put_tag(out, field, kVarint);
  put_varint(out, v);
}

void put_bytes(std::string& out, std::uint32_t field, std::string_view bytes) {
  put_tag(out, field, kLen);
  put_varint(out, bytes.size());
  out.append(bytes);
}

// ---- OTLP messages; field numbers from opentelemetry-proto v1.11.0 ----

// common/v1/common.proto: KeyValue { string key = 1; AnyValue value = 2; }
//                         AnyValue { oneof value { string string_value = 1; ... } }
std::string key_value(std::string_view key, std::string_view value) {
  std::string any;
  put_bytes(any, 1, value);
  std::string kv;
  put_bytes(kv, 1, key);
  put_bytes(kv, 2, any);
  return kv;
}

// metrics/v1/metrics.proto: AggregationTemporality CUMULATIVE = 2.
constexpr std::uint64_t kCumulative = 2;

void put_attributes(std::string& out, std::uint32_t field, const FamilySnapshot& family,
                    const SampleSnapshot& sample) {
  for (std::size_t i = 0; i < family.label_names.size(); ++i) {
    put_bytes(out, field, key_value(family.label_names[i], sample.label_values[i]));
  }
}

// NumberDataPoint { attributes = 7; fixed64 start_time_unix_nano = 2;
//                   fixed64 time_unix_nano = 3; sfixed64 as_int = 6; }
std::string number_point(const FamilySnapshot& family, const SampleSnapshot& sample,
                         std::uint64_t start_ns, std::uint64_t time_ns, std::int64_t value,
                         bool with_start) {
  std::string p;
  put_attributes(p, 7, family, sample);
  if (with_start) put_fixed64(p, 2, start_ns);
  put_fixed64(p, 3, time_ns);
  // as_int is in a oneof, so 0 is written explicitly (presence matters).
  put_fixed64(p, 6, static_cast<std::uint64_t>(value));
  return p;
}

// HistogramDataPoint { attributes = 9; start_time_unix_nano = 2; time_unix_nano = 3;
//   fixed64 count = 4; optional double sum = 5; repeated fixed64 bucket_counts = 6
//   (packed); repeated double explicit_bounds = 7 (packed); }
std::string histogram_point(const FamilySnapshot& family, const SampleSnapshot& sample,
                            std::uint64_t start_ns, std::uint64_t time_ns) {
  const auto& h = sample.histogram;
  std::string p;
  put_attributes(p, 9, family, sample);
  put_fixed64(p, 2, start_ns);
  put_fixed64(p, 3, time_ns);
  put_fixed64(p, 4, h.count);
  put_double(p, 5, h.sum);
  std::string counts;
  for (auto c : h.bucket_counts) put_fixed64_raw(counts, c);
  put_bytes(p, 6, counts);
  std::string bounds;
  for (auto b : h.bounds) put_fixed64_raw(bounds, std::bit_cast<std::uint64_t>(b));
  put_bytes(p, 7, bounds);
  return p;
}

// Metric { string name = 1; string description = 2; string unit = 3;
//          oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; } }
// Sum { data_points = 1; aggregation_temporality = 2; bool is_monotonic = 3; }
// Gauge { data_points = 1; }   Histogram { data_points = 1; aggregation_temporality = 2; }
std::string metric(const FamilySnapshot& family, std::uint64_t start_ns, std::uint64_t time_ns) {
  std::string data;
  std::uint32_t data_field = 0;
  switch (family.kind) {
    case MetricKind::kCounter:
      for (const auto& s : family.samples) {
        const auto clamped = static_cast<std::int64_t>(
            std::min<std::uint64_t>(s.counter_value, std::numeric_limits<std::int64_t>::max()));
        put_bytes(data, 1, number_point(family, s, start_ns, time_ns, clamped, true));
      }
      put_uint(data, 2, kCumulative);
      put_uint(data, 3, 1);
      data_field = 7;
      break;
    case MetricKind::kGauge:
      for (const auto& s : family.samples) {
        put_bytes(data, 1, number_point(family, s, start_ns, time_ns, s.gauge_value, false));
      }
      data_field = 5;
      break;
    case MetricKind::kHistogram:
      for (const auto& s : family.samples) {
        put_bytes(data, 1, histogram_point(family, s, start_ns, time_ns));
      }
      put_uint(data, 2, kCumulative);
      data_field = 9;
      break;
  }
  std::string m;
  put_bytes(m, 1, family.name);
  if (!family.help.empty()) put_bytes(m, 2, family.help);
  if (!family.unit.empty()) put_bytes(m, 3, family.unit);
  put_bytes(m, data_field, data);
  return m;
}

}  // namespace

std::string encode_otlp_metrics(const std::vector<FamilySnapshot>& families,
                                const OtlpResource& resource, std::uint64_t start_time_unix_nano,
                                std::uint64_t time_unix_nano) {
  // resource/v1/resource.proto: Resource { repeated KeyValue attributes = 1; }
  std::string res;
  put_bytes(res, 1, key_value("service.name", resource.service_name));
  if (!resource.service_version.empty()) {
    put_bytes(res, 1, key_value("service.version", resource.service_version));
  }
  if (!resource.service_instance_id.empty()) {
    put_bytes(res, 1, key_value("service.instance.id", resource.service_instance_id));
  }
  for (const auto& [k, v] : resource.attributes) put_bytes(res, 1, key_value(k, v));

  // ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; }
  // InstrumentationScope { string name = 1; string version = 2; }
  std::string scope;
  put_bytes(scope, 1, kOtlpScopeName);
  put_bytes(scope, 2, kOtlpScopeVersion);
  std::string scope_metrics;
  put_bytes(scope_metrics, 1, scope);
  for (const auto& family : families) {
    if (family.samples.empty()) continue;  // no data point yet: nothing to say
    put_bytes(scope_metrics, 2, metric(family, start_time_unix_nano, time_unix_nano));
  }

  // ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
  std::string resource_metrics;
  put_bytes(resource_metrics, 1, res);
  put_bytes(resource_metrics, 2, scope_metrics);

  // collector/metrics/v1/metrics_service.proto:
  // ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
  std::string request;
  put_bytes(request, 1, resource_metrics);
  return request;
}

// ---- OtlpPusher ----

namespace {

std::uint64_t now_unix_nano() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

size_t discard_body(char* /*ptr*/, size_t size, size_t nmemb, void* /*userdata*/) {
  return size * nmemb;
}

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

Result<std::unique_ptr<OtlpPusher>> OtlpPusher::create(const Registry& registry,
                                                       OtlpPusherOptions options) {
  if (!options.endpoint.starts_with("http://") && !options.endpoint.starts_with("https://")) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "OTLP endpoint must start with http:// or https://: '" + options.endpoint + "'");
  }
  if (options.interval_ms <= 0 || options.timeout_ms <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "OTLP interval_ms and timeout_ms must be > 0");
  }
  while (options.endpoint.ends_with('/')) options.endpoint.pop_back();
  return std::unique_ptr<OtlpPusher>(new OtlpPusher(registry, std::move(options)));
}

OtlpPusher::OtlpPusher(const Registry& registry, OtlpPusherOptions options)
    : registry_(registry), options_(std::move(options)), start_time_unix_nano_(now_unix_nano()) {}

OtlpPusher::~OtlpPusher() {
  stop();
}

void OtlpPusher::start() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void OtlpPusher::stop() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void OtlpPusher::run() {
  const auto interval = std::chrono::milliseconds(options_.interval_ms);
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, interval, [this] { return stopping_; })) break;
    }
    (void)push_now();  // failures are counted and logged inside
  }
  (void)push_now();  // final values on shutdown
}

Status OtlpPusher::push_now() {
  std::lock_guard one_at_a_time(push_mutex_);
  const std::string body = encode_otlp_metrics(registry_.collect(), options_.resource,
                                               start_time_unix_nano_, now_unix_nano());
  const std::string url = options_.endpoint + "/v1/metrics";

  auto fail = [this, &url](Error error) -> Status {
    {
      std::lock_guard lock(mutex_);
      ++stats_.pushes_failed;
      stats_.last_error = to_string(error);
    }
    spdlog::warn("OTLP metrics push to {} failed: {}", url, to_string(error));
    return tl::unexpected(std::move(error));
  };

  std::unique_ptr<CURL, CurlEasyDeleter> curl(curl_easy_init());
  if (!curl) return fail(Error{ErrorCode::kInternal, "curl_easy_init failed", 0});
  curl_slist* raw_headers = curl_slist_append(nullptr, "Content-Type: application/x-protobuf");
  for (const auto& [name, value] : options_.headers) {
    raw_headers = curl_slist_append(raw_headers, (name + ": " + value).c_str());
  }
  std::unique_ptr<curl_slist, CurlSlistDeleter> headers(raw_headers);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  // No SIGALRM-based DNS timeouts: we run on our own thread inside a daemon.
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    const ErrorCode code =
        rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kTimeout : ErrorCode::kTransport;
    return fail(Error{code, std::string("POST ") + url + ": " + curl_easy_strerror(rc), rc});
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) {
    return fail(
        Error{ErrorCode::kHttp, "POST " + url + ": HTTP " + std::to_string(status), status});
  }
  std::lock_guard lock(mutex_);
  ++stats_.pushes_ok;
  stats_.last_error.clear();
  return {};
}

OtlpPusherStats OtlpPusher::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace qtw::metrics
