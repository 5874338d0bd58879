#pragma once
// OTLP/HTTP metrics export (OpenTelemetry Protocol, binary protobuf encoding).
//
// encode_otlp_metrics() writes an
// opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest by hand
// in protobuf wire format; the field numbers are those of
// open-telemetry/opentelemetry-proto v1.11.0 (a copy with its license is in
// tests/data/opentelemetry-proto/, where the tests decode our bytes with it).
// Mapping:
//   Counter   -> Metric.sum  {is_monotonic = true, CUMULATIVE, as_int}
//   Gauge     -> Metric.gauge {as_int}
//   Histogram -> Metric.histogram {CUMULATIVE, explicit_bounds, bucket_counts, count, sum}
// Label names/values become string attributes on each data point; metric
// names and units are sent as registered (OTel style, e.g. "qtrade.wallets.keys").
//
// OtlpPusher POSTs that body ("Content-Type: application/x-protobuf") to
// <endpoint>/v1/metrics on its own thread every interval. It only reads the
// registry (a snapshot under the registry's short locks), so it never blocks
// metric updates on the hot path; a slow or dead collector delays only the
// pusher thread (bounded by timeout_ms).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "qtw/metrics/registry.h"
#include "qtw/result.h"

namespace qtw::metrics {

struct OtlpResource {
  // Resource attribute service.name (OTel semantic conventions).
  std::string service_name = "qtw";
  // service.version; empty = omitted.
  std::string service_version;
  // service.instance.id; empty = omitted.
  std::string service_instance_id;
  // Any other resource attributes (string valued), sent in this order.
  std::vector<std::pair<std::string, std::string>> attributes;
};

// InstrumentationScope.name / .version of every exported metric.
inline constexpr std::string_view kOtlpScopeName = "qtw.metrics";
inline constexpr std::string_view kOtlpScopeVersion = "0.1.0";

// start_time_unix_nano: when cumulative counting began (the registry's or
// process's start); time_unix_nano: the observation time. Both in ns since the
// Unix epoch. Counter values above INT64_MAX are clamped (as_int is sfixed64).
[[nodiscard]] std::string encode_otlp_metrics(const std::vector<FamilySnapshot>& families,
                                              const OtlpResource& resource,
                                              std::uint64_t start_time_unix_nano,
                                              std::uint64_t time_unix_nano);

struct OtlpPusherOptions {
  // Collector base URL; the pusher appends "/v1/metrics" (OTLP/HTTP default
  // port 4318). Only http:// and https:// URLs are accepted.
  std::string endpoint = "http://127.0.0.1:4318";
  // Time between pushes, in milliseconds. Must be > 0. OTel's default
  // periodic-reader interval is 60 s; we push more often for a hot wallet.
  std::int64_t interval_ms = 10'000;
  // Whole-request timeout (connect + send + response), in milliseconds.
  std::int64_t timeout_ms = 5'000;
  // Extra HTTP headers, e.g. {"Authorization", "Bearer ..."}.
  std::vector<std::pair<std::string, std::string>> headers;
  OtlpResource resource;
};

// Counters of the pusher itself; read any time from any thread.
struct OtlpPusherStats {
  std::uint64_t pushes_ok = 0;
  std::uint64_t pushes_failed = 0;
  std::string last_error;  // empty when the last push succeeded
};

// Periodically pushes a Registry to an OTLP/HTTP collector.
// Ownership: borrows the registry, which must outlive the pusher.
// Thread safety: all members may be called from any thread; start/stop are
// serialized internally. The destructor stops the thread (waits at most one
// in-flight request, bounded by timeout_ms).
class OtlpPusher {
 public:
  // Errors: kInvalidArgument for a bad endpoint or a non-positive interval/timeout.
  [[nodiscard]] static Result<std::unique_ptr<OtlpPusher>> create(const Registry& registry,
                                                                  OtlpPusherOptions options);
  ~OtlpPusher();
  OtlpPusher(const OtlpPusher&) = delete;
  OtlpPusher& operator=(const OtlpPusher&) = delete;

  // Starts the background thread (first push after one interval). Idempotent.
  void start();
  // Stops the thread, after a final push so the collector sees the last
  // values. Idempotent.
  void stop();
  // One synchronous push now, on the caller's thread. Errors: kTransport
  // (connect/send failure, native_code = CURLcode), kTimeout (timeout_ms
  // elapsed, native_code = CURLcode), kHttp (status not 2xx, native_code =
  // status), kInternal (curl could not be initialised). Every outcome is
  // counted in stats(); failures are also logged (spdlog warn).
  [[nodiscard]] Status push_now();
  [[nodiscard]] OtlpPusherStats stats() const;

 private:
  OtlpPusher(const Registry& registry, OtlpPusherOptions options);
  void run();

  const Registry& registry_;
  const OtlpPusherOptions options_;
  const std::uint64_t start_time_unix_nano_;
  std::mutex push_mutex_;  // one push at a time (thread and push_now)
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  OtlpPusherStats stats_;  // guarded by mutex_
  std::thread thread_;     // guarded by lifecycle_mutex_
  std::mutex lifecycle_mutex_;
};

}  // namespace qtw::metrics
