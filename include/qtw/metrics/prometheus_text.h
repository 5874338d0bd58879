#pragma once
// Prometheus text exposition format, version 0.0.4
// (prometheus.io/docs/instrumenting/exposition_formats, "Text format details").
//
// Per family, in name order: "# HELP <name> <help>", "# TYPE <name> <type>",
// then one line per sample, children in label-value order.
//  - names: every character outside [a-zA-Z0-9_:] becomes '_' (so
//    "qtrade.wallets.keys" -> "qtrade_wallets_keys"); a leading digit gets a
//    '_' prefix;
//  - counters get the "_total" suffix (unless the name already ends in it),
//    on the HELP/TYPE lines and on the sample;
//  - histograms: "<name>_bucket{...,le="<bound>"}" cumulative counts for every
//    bound and le="+Inf" (== count), then "<name>_sum" and "<name>_count";
//  - HELP text escapes '\' and newline; label values escape '\', '"' and
//    newline;
//  - values: integers in decimal; doubles in shortest round-trip form, with
//    "+Inf", "-Inf", "NaN" for the special values.
// Pure functions; thread safe.
#include <string>
#include <string_view>
#include <vector>

#include "qtw/metrics/registry.h"

namespace qtw::metrics {

// Content-Type header value for the output of write_prometheus_text.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

[[nodiscard]] std::string write_prometheus_text(const std::vector<FamilySnapshot>& families);
[[nodiscard]] inline std::string write_prometheus_text(const Registry& registry) {
  return write_prometheus_text(registry.collect());
}

// "qtrade.wallets.keys" -> "qtrade_wallets_keys" (no suffix added).
[[nodiscard]] std::string prometheus_name(std::string_view name);
// Escapes '\', '"' and '\n' as the format requires inside label values.
[[nodiscard]] std::string escape_label_value(std::string_view value);
// Shortest round-trip decimal of v; "+Inf", "-Inf", "NaN" for the specials.
[[nodiscard]] std::string format_double(double v);

}  // namespace qtw::metrics
