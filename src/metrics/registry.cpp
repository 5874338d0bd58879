#include "qtw/metrics/registry.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <variant>

namespace qtw::metrics {

// ---- Histogram ----

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) noexcept {
  observe_n(v, 1);
}

void Histogram::observe_n(double v, std::uint64_t n) noexcept {
  if (n == 0) return;
  // First bound >= v: buckets are upper-inclusive ("le"). NaN would compare
  // false everywhere and land in bucket 0; put it in the overflow bucket, as
  // client_golang's sort.SearchFloat64s does.
  const auto index =
      std::isnan(v) ? bounds_.size()
                    : static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                               bounds_.begin());
  buckets_[index].fetch_add(n, std::memory_order_relaxed);
  sum_.fetch_add(v * static_cast<double>(n), std::memory_order_relaxed);
}

std::uint64_t Histogram::count() const noexcept {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
  }
  return total;
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot s;
  s.bounds = bounds_;
  s.bucket_counts.resize(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    s.bucket_counts[i] = buckets_[i].load(std::memory_order_relaxed);
    s.count += s.bucket_counts[i];
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

// ---- Family ----

namespace {

template <class T>
std::unique_ptr<T> make_child(const std::vector<double>& bounds) {
  if constexpr (std::is_same_v<T, Histogram>) {
    return std::make_unique<Histogram>(bounds);
  } else {
    (void)bounds;
    return std::make_unique<T>();
  }
}

template <class T>
constexpr MetricKind kind_of() {
  if constexpr (std::is_same_v<T, Counter>) return MetricKind::kCounter;
  if constexpr (std::is_same_v<T, Gauge>) return MetricKind::kGauge;
  return MetricKind::kHistogram;
}

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  const auto head = static_cast<unsigned char>(name[0]);
  if (!(std::isalpha(head) || head == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || u == '_' || u == '.';
  });
}

// Prometheus label name rules (exposition format spec): [a-zA-Z_][a-zA-Z0-9_]*,
// "__" prefix reserved; "le" is reserved for histogram buckets.
bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__") || name == "le") return false;
  const auto head = static_cast<unsigned char>(name[0]);
  if (!(std::isalpha(head) || head == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || u == '_';
  });
}

}  // namespace

template <class T>
Family<T>::Family(std::string name, std::string help, std::string unit,
                  std::vector<std::string> label_names, std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      unit_(std::move(unit)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

template <class T>
Result<T*> Family<T>::with(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size()) {
    return make_error(ErrorCode::kInvalidArgument,
                      name_ + ": expected " + std::to_string(label_names_.size()) +
                          " label values, got " + std::to_string(values.size()));
  }
  std::vector<std::string> key(values.begin(), values.end());
  {
    std::shared_lock lock(mutex_);
    if (auto it = children_.find(key); it != children_.end()) return it->second.get();
  }
  std::unique_lock lock(mutex_);
  auto [it, inserted] = children_.try_emplace(std::move(key));
  if (inserted) it->second = make_child<T>(bounds_);
  return it->second.get();
}

template <class T>
FamilySnapshot Family<T>::snapshot() const {
  FamilySnapshot s;
  s.name = name_;
  s.help = help_;
  s.unit = unit_;
  s.kind = kind_of<T>();
  s.label_names = label_names_;
  std::shared_lock lock(mutex_);
  s.samples.reserve(children_.size());
  for (const auto& [values, child] : children_) {
    SampleSnapshot sample;
    sample.label_values = values;
    if constexpr (std::is_same_v<T, Counter>) {
      sample.counter_value = child->value();
    } else if constexpr (std::is_same_v<T, Gauge>) {
      sample.gauge_value = child->value();
    } else {
      sample.histogram = child->snapshot();
    }
    s.samples.push_back(std::move(sample));
  }
  return s;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- Registry ----

struct Registry::Entry {
  std::variant<std::unique_ptr<CounterFamily>, std::unique_ptr<GaugeFamily>,
               std::unique_ptr<HistogramFamily>>
      family;
  std::string unit;
  std::vector<std::string> label_names;
  std::vector<double> bounds;
};

Registry::Registry() = default;
Registry::~Registry() = default;

namespace {

Status check_shape(std::string_view name, const std::vector<std::string>& label_names) {
  if (!valid_metric_name(name)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "metric name '" + std::string(name) + "' must match [a-zA-Z_][a-zA-Z0-9_.]*");
  }
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    if (!valid_label_name(label_names[i])) {
      return make_error(ErrorCode::kInvalidArgument,
                        std::string(name) + ": bad label name '" + label_names[i] + "'");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (label_names[i] == label_names[j]) {
        return make_error(ErrorCode::kInvalidArgument,
                          std::string(name) + ": duplicate label name '" + label_names[i] + "'");
      }
    }
  }
  return {};
}

}  // namespace

template <class F>
static Result<F*> register_in(std::mutex& mutex, auto& families, std::string_view name,
                              std::string_view help, std::string_view unit,
                              std::vector<std::string> label_names, std::vector<double> bounds) {
  QTW_TRY(check_shape(name, label_names));
  std::lock_guard lock(mutex);
  if (auto it = families.find(name); it != families.end()) {
    auto& entry = *it->second;
    auto* existing = std::get_if<std::unique_ptr<F>>(&entry.family);
    if (existing == nullptr || entry.unit != unit || entry.label_names != label_names ||
        entry.bounds != bounds) {
      return make_error(ErrorCode::kAlreadyExists,
                        "metric '" + std::string(name) +
                            "' is already registered with another kind, unit, labels or buckets");
    }
    return existing->get();
  }
  auto entry = std::make_unique<
      typename std::remove_reference_t<decltype(families)>::mapped_type::element_type>();
  entry->unit = std::string(unit);
  entry->label_names = label_names;
  entry->bounds = bounds;
  auto family = std::make_unique<F>(std::string(name), std::string(help), std::string(unit),
                                    std::move(label_names), std::move(bounds));
  F* raw = family.get();
  entry->family = std::move(family);
  families.emplace(std::string(name), std::move(entry));
  return raw;
}

Result<CounterFamily*> Registry::counter_family(std::string_view name, std::string_view help,
                                                std::string_view unit,
                                                std::vector<std::string> label_names) {
  return register_in<CounterFamily>(mutex_, families_, name, help, unit, std::move(label_names),
                                    {});
}

Result<GaugeFamily*> Registry::gauge_family(std::string_view name, std::string_view help,
                                            std::string_view unit,
                                            std::vector<std::string> label_names) {
  return register_in<GaugeFamily>(mutex_, families_, name, help, unit, std::move(label_names), {});
}

Result<HistogramFamily*> Registry::histogram_family(std::string_view name, std::string_view help,
                                                    std::string_view unit,
                                                    std::vector<double> bounds,
                                                    std::vector<std::string> label_names) {
  if (bounds.empty()) {
    return make_error(ErrorCode::kInvalidArgument, std::string(name) + ": histogram needs bounds");
  }
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
      return make_error(ErrorCode::kInvalidArgument,
                        std::string(name) + ": bounds must be finite and strictly increasing");
    }
  }
  return register_in<HistogramFamily>(mutex_, families_, name, help, unit, std::move(label_names),
                                      std::move(bounds));
}

std::vector<FamilySnapshot> Registry::collect() const {
  std::vector<FamilySnapshot> out;
  std::lock_guard lock(mutex_);
  out.reserve(families_.size());
  for (const auto& [name, entry] : families_) {
    std::visit([&](const auto& family) { out.push_back(family->snapshot()); }, entry->family);
  }
  return out;
}

}  // namespace qtw::metrics
