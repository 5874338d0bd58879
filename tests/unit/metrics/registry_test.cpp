#include "qtw/metrics/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace qtw::metrics {
namespace {

TEST(Registry, CounterExactUnderConcurrentIncrements) {
  Registry registry;
  auto family = registry.counter_family("test.hits", "hits", "{hit}", {"method"});
  ASSERT_TRUE(family);
  constexpr int kThreads = 8;
  constexpr std::uint64_t kPerThread = 200'000;
  Counter& shared = **(*family)->with({"shared"});
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half the threads look the child up each time (the lookup path), half
      // use the cached reference (the hot path); both must count exactly.
      for (std::uint64_t i = 0; i < kPerThread; ++i) {
        if (t % 2 == 0) {
          shared.inc();
        } else {
          (*(*family)->with({"shared"}))->inc();
        }
        (*(*family)->with({"t" + std::to_string(t % 3)}))->inc(2);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(shared.value(), kThreads * kPerThread);
  // t%3: threads 0,3,6 -> t0 (3 threads); 1,4,7 -> t1 (3); 2,5 -> t2 (2).
  EXPECT_EQ((*(*family)->with({"t0"}))->value(), 3 * kPerThread * 2);
  EXPECT_EQ((*(*family)->with({"t1"}))->value(), 3 * kPerThread * 2);
  EXPECT_EQ((*(*family)->with({"t2"}))->value(), 2 * kPerThread * 2);
}

TEST(Registry, ChildReferencesAreStable) {
  Registry registry;
  auto family = *registry.gauge_family("test.pool", "pool", "{key}", {"tier", "state"});
  Gauge* first = *family->with({"bank", "available"});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(family->with({"explorer", "s" + std::to_string(i)}));
  }
  EXPECT_EQ(*family->with({"bank", "available"}), first);
  first->set(-5);
  first->add(7);
  EXPECT_EQ(first->value(), 2);
}

TEST(Registry, WrongLabelArityIsAnError) {
  Registry registry;
  auto family = *registry.counter_family("test.c", "c", "", {"a", "b"});
  auto r = family->with({"only-one"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(family->with({"x", "y", "z"}));
  EXPECT_TRUE(family->with({"x", "y"}));
}

TEST(Registry, RegistrationIsIdempotentAndKindChecked) {
  Registry registry;
  auto a = registry.counter_family("test.same", "help", "s", {"m"});
  auto b = registry.counter_family("test.same", "other help", "s", {"m"});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  auto as_gauge = registry.gauge_family("test.same", "help", "s", {"m"});
  ASSERT_FALSE(as_gauge);
  EXPECT_EQ(as_gauge.error().code, ErrorCode::kAlreadyExists);
  auto other_labels = registry.counter_family("test.same", "help", "s", {"n"});
  ASSERT_FALSE(other_labels);
  EXPECT_EQ(other_labels.error().code, ErrorCode::kAlreadyExists);
  auto other_unit = registry.counter_family("test.same", "help", "ms", {"m"});
  EXPECT_FALSE(other_unit);
}

TEST(Registry, RejectsBadNamesLabelsAndBounds) {
  Registry registry;
  EXPECT_FALSE(registry.counter_family("", "h", ""));
  EXPECT_FALSE(registry.counter_family("9lives", "h", ""));
  EXPECT_FALSE(registry.counter_family("has space", "h", ""));
  EXPECT_FALSE(registry.counter_family("has-dash", "h", ""));
  EXPECT_TRUE(registry.counter_family("ok.dotted_name", "h", ""));
  EXPECT_FALSE(registry.counter_family("bad.label", "h", "", {"le"}));
  EXPECT_FALSE(registry.counter_family("bad.label2", "h", "", {"__reserved"}));
  EXPECT_FALSE(registry.counter_family("bad.label3", "h", "", {"a.b"}));
  EXPECT_FALSE(registry.counter_family("bad.label4", "h", "", {"a", "a"}));
  EXPECT_FALSE(registry.histogram_family("bad.h1", "h", "", {}));
  EXPECT_FALSE(registry.histogram_family("bad.h2", "h", "", {1, 1}));
  EXPECT_FALSE(registry.histogram_family("bad.h3", "h", "", {2, 1}));
  EXPECT_FALSE(
      registry.histogram_family("bad.h4", "h", "", {1, std::numeric_limits<double>::infinity()}));
  EXPECT_TRUE(registry.histogram_family("ok.h", "h", "", {1, 2}));
  // Failed registrations leave nothing behind.
  const auto families = registry.collect();
  ASSERT_EQ(families.size(), 2u);
  EXPECT_EQ(families[0].name, "ok.dotted_name");
  EXPECT_EQ(families[1].name, "ok.h");
}

TEST(Histogram, BucketsAreUpperInclusive) {
  const double bounds[] = {1, 5, 10};
  Histogram h(bounds);
  // value -> bucket: <=1 -> 0, (1,5] -> 1, (5,10] -> 2, >10 -> 3.
  for (double v : {-3.0, 0.0, 1.0, 1.0000001, 5.0, 5.5, 10.0, 10.5, 1e9}) h.observe(v);
  h.observe(std::nan(""));
  h.observe_n(2, 4);
  h.observe_n(2, 0);
  const auto s = h.snapshot();
  EXPECT_EQ(s.bounds, std::vector<double>({1, 5, 10}));
  EXPECT_EQ(s.bucket_counts, std::vector<std::uint64_t>({3, 6, 2, 3}));
  EXPECT_EQ(s.count, 14u);
  EXPECT_EQ(h.count(), 14u);
  EXPECT_TRUE(std::isnan(s.sum));  // NaN poisons the sum, as in Prometheus clients
}

TEST(Histogram, ExactUnderConcurrentObservations) {
  const double bounds[] = {10, 100};
  Histogram h(bounds);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) h.observe(static_cast<double>(i % 3 == 0 ? 5 : 50));
    });
  }
  for (auto& th : threads) th.join();
  const auto s = h.snapshot();
  const std::uint64_t low = kThreads * ((kPerThread + 2) / 3);
  const std::uint64_t mid = kThreads * static_cast<std::uint64_t>(kPerThread) - low;
  EXPECT_EQ(s.bucket_counts, std::vector<std::uint64_t>({low, mid, 0}));
  // Integer-valued doubles below 2^53 add exactly.
  EXPECT_EQ(s.sum, static_cast<double>(low * 5 + mid * 50));
}

TEST(Registry, CollectIsOrderedByNameThenLabels) {
  Registry registry;
  auto z = *registry.counter_family("z.last", "z", "");
  auto a = *registry.gauge_family("a.first", "a", "", {"k"});
  ASSERT_TRUE(z->with(std::span<const std::string_view>{}));
  for (auto v : {"b", "c", "a"}) (*a->with({v}))->set(1);
  const auto families = registry.collect();
  ASSERT_EQ(families.size(), 2u);
  EXPECT_EQ(families[0].name, "a.first");
  EXPECT_EQ(families[0].kind, MetricKind::kGauge);
  ASSERT_EQ(families[0].samples.size(), 3u);
  EXPECT_EQ(families[0].samples[0].label_values, std::vector<std::string>{"a"});
  EXPECT_EQ(families[0].samples[2].label_values, std::vector<std::string>{"c"});
  EXPECT_EQ(families[1].name, "z.last");
}

}  // namespace
}  // namespace qtw::metrics
