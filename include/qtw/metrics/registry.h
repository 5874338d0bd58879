#pragma once
// A small, dependency-free metrics registry: counters, gauges and histograms
// grouped in named families, each family with a fixed set of label names.
//
//   Registry registry;
//   auto requests = registry.counter_family("qtrade.wallets.rpc_requests",
//                                           "JSON-RPC requests sent", "{request}", {"method"});
//   Counter& get_balance = *(*requests)->with({"getBalance"});   // look up once, cache
//   get_balance.inc();                                           // one relaxed atomic add
//
// Thread safety: every member of every class here may be called from any
// thread. Metric values are lock-free atomics (relaxed ordering: a value is
// exact once the writers are joined, and a concurrent reader sees some value
// between the old and the new). Registering a family takes the registry's
// mutex; looking up a labelled child takes its family's shared mutex (shared
// for an existing child, exclusive to create one). References to families
// and children stay valid for the registry's lifetime: children are never
// removed, so callers cache them.
//
// Names use OpenTelemetry style (dots allowed, e.g. "qtrade.wallets.keys");
// the Prometheus writer turns them into Prometheus names (prometheus_text.h).
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qtw/result.h"

namespace qtw::metrics {

enum class MetricKind : std::uint8_t { kCounter, kGauge, kHistogram };

// Monotonic unsigned 64-bit counter. inc() is a single relaxed fetch_add.
class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Signed 64-bit gauge (pool sizes, in-flight counts).
class Gauge {
 public:
  void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t delta) noexcept { value_.fetch_add(delta, std::memory_order_relaxed); }
  [[nodiscard]] std::int64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::int64_t> value_{0};
};

// A point-in-time copy of one histogram. bucket_counts has bounds.size() + 1
// entries and is NOT cumulative: bucket_counts[i] counts observations v with
// bounds[i-1] < v <= bounds[i] (Prometheus "le" and OTLP explicit_bounds
// semantics); the last entry counts v > bounds.back() (and NaN).
struct HistogramSnapshot {
  std::vector<double> bounds;
  std::vector<std::uint64_t> bucket_counts;
  std::uint64_t count = 0;  // == sum of bucket_counts, always
  double sum = 0;
};

// Fixed-bucket histogram. observe() is a binary search over the bounds plus
// two relaxed atomic adds (bucket, sum). The count is the sum of the buckets,
// so a snapshot's +Inf bucket always equals its count; under concurrent
// observe() a snapshot's sum may lag its buckets by in-flight observations.
class Histogram {
 public:
  // bounds must be strictly increasing and finite (the family checks this).
  explicit Histogram(std::span<const double> bounds);
  void observe(double v) noexcept;
  // Adds n observations of the same value (e.g. n keys with balance v).
  void observe_n(double v, std::uint64_t n) noexcept;
  [[nodiscard]] HistogramSnapshot snapshot() const;
  [[nodiscard]] std::uint64_t count() const noexcept;
  [[nodiscard]] double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// One labelled child as seen by a snapshot; values[i] belongs to
// FamilySnapshot::label_names[i].
struct SampleSnapshot {
  std::vector<std::string> label_values;
  std::uint64_t counter_value = 0;  // kCounter
  std::int64_t gauge_value = 0;     // kGauge
  HistogramSnapshot histogram;      // kHistogram
};

struct FamilySnapshot {
  std::string name;  // as registered (OpenTelemetry style)
  std::string help;
  std::string unit;  // UCUM-ish unit string ("s", "lamports", "{request}"), may be empty
  MetricKind kind = MetricKind::kCounter;
  std::vector<std::string> label_names;
  std::vector<SampleSnapshot> samples;  // ordered by label values (lexicographic)
};

// A family of metrics sharing name, help, unit and label names; one child per
// distinct tuple of label values. T is Counter, Gauge or Histogram.
template <class T>
class Family {
 public:
  Family(std::string name, std::string help, std::string unit, std::vector<std::string> label_names,
         std::vector<double> bounds);
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The child for these label values (created on first use, zero-valued).
  // Errors: kInvalidArgument when values.size() != label_names().size().
  // The pointer is never null and stays valid for the registry's lifetime.
  [[nodiscard]] Result<T*> with(std::span<const std::string_view> values);
  [[nodiscard]] Result<T*> with(std::initializer_list<std::string_view> values) {
    return with(std::span<const std::string_view>(values.begin(), values.size()));
  }

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::vector<std::string>& label_names() const { return label_names_; }
  [[nodiscard]] FamilySnapshot snapshot() const;

 private:
  std::string name_;
  std::string help_;
  std::string unit_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;  // histograms only
  mutable std::shared_mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;  // guarded by mutex_
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers a family, or returns the existing one when name, kind, unit,
  // label names (and bounds) all match, so registration is idempotent.
  // Errors: kInvalidArgument for a bad name (must match
  // [a-zA-Z_][a-zA-Z0-9_.]*), a bad label name ([a-zA-Z_][a-zA-Z0-9_]*, not
  // starting with "__", not "le"), duplicate label names, or bounds that are
  // empty, not finite or not strictly increasing; kAlreadyExists when the name
  // is taken by a family of another kind or shape.
  [[nodiscard]] Result<CounterFamily*> counter_family(std::string_view name, std::string_view help,
                                                      std::string_view unit,
                                                      std::vector<std::string> label_names = {});
  [[nodiscard]] Result<GaugeFamily*> gauge_family(std::string_view name, std::string_view help,
                                                  std::string_view unit,
                                                  std::vector<std::string> label_names = {});
  [[nodiscard]] Result<HistogramFamily*> histogram_family(
      std::string_view name, std::string_view help, std::string_view unit,
      std::vector<double> bounds, std::vector<std::string> label_names = {});

  // Copies every family, ordered by name; samples ordered by label values.
  [[nodiscard]] std::vector<FamilySnapshot> collect() const;

 private:
  struct Entry;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> families_;  // guarded by mutex_
};

}  // namespace qtw::metrics
