#include "qtw/metrics/prometheus_text.h"

#include <array>
#include <charconv>
#include <cmath>

namespace qtw::metrics {

std::string prometheus_name(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  if (!name.empty() && name[0] >= '0' && name[0] <= '9') out.push_back('_');
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == ':';
    out.push_back(ok ? c : '_');
  }
  return out;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

namespace {

// The spec: HELP lines escape only backslash and line feed.
std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// {a="x",b="y"} plus an optional trailing le="..."; empty when no labels.
std::string label_block(const std::vector<std::string>& names,
                        const std::vector<std::string>& values, std::string_view le = {}) {
  if (names.empty() && le.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out.push_back('"');
  }
  if (!le.empty()) {
    if (!names.empty()) out.push_back(',');
    out += "le=\"";
    out += le;
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

}  // namespace

std::string format_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc()) return "NaN";  // cannot happen with 32 bytes for a double
  return std::string(buf.data(), end);
}

std::string write_prometheus_text(const std::vector<FamilySnapshot>& families) {
  std::string out;
  for (const auto& family : families) {
    std::string name = prometheus_name(family.name);
    std::string_view type = "counter";
    if (family.kind == MetricKind::kCounter) {
      if (!name.ends_with("_total")) name += "_total";
    } else if (family.kind == MetricKind::kGauge) {
      type = "gauge";
    } else {
      type = "histogram";
    }
    out += "# HELP " + name + " " + escape_help(family.help) + "\n";
    out += "# TYPE " + name + " " + std::string(type) + "\n";
    for (const auto& sample : family.samples) {
      const auto& names = family.label_names;
      const auto& values = sample.label_values;
      switch (family.kind) {
        case MetricKind::kCounter:
          out +=
              name + label_block(names, values) + " " + std::to_string(sample.counter_value) + "\n";
          break;
        case MetricKind::kGauge:
          out +=
              name + label_block(names, values) + " " + std::to_string(sample.gauge_value) + "\n";
          break;
        case MetricKind::kHistogram: {
          const auto& h = sample.histogram;
          std::uint64_t cumulative = 0;
          for (std::size_t i = 0; i < h.bounds.size(); ++i) {
            cumulative += h.bucket_counts[i];
            out += name + "_bucket" + label_block(names, values, format_double(h.bounds[i])) + " " +
                   std::to_string(cumulative) + "\n";
          }
          out += name + "_bucket" + label_block(names, values, "+Inf") + " " +
                 std::to_string(h.count) + "\n";
          out += name + "_sum" + label_block(names, values) + " " + format_double(h.sum) + "\n";
          out +=
              name + "_count" + label_block(names, values) + " " + std::to_string(h.count) + "\n";
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace qtw::metrics
