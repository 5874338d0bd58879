#pragma once
// The backends the shared KeyStore suite runs against. A new backend joins
// every test in key_store_suite_test.cpp by adding one entry to
// store_backends() (store_backends.cpp).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "qtw/result.h"
#include "qtw/store/key_store.h"

namespace qtw::store::testing {

// A settable wall clock (Unix ms) shared by a test and its store.
struct TestClock {
  std::atomic<std::int64_t> now_ms{1'700'000'000'000};
  std::function<std::int64_t()> fn() {
    return [this] { return now_ms.load(); };
  }
};

struct StoreBackend {
  std::string name;  // gtest parameter name: letters, digits, underscore
  // Makes a fresh, empty store that uses `clock`. `scratch` is an empty
  // directory owned by the test (deleted afterwards).
  std::function<Result<std::unique_ptr<KeyStore>>(const std::filesystem::path& scratch,
                                                   TestClock& clock)>
      make;
};

std::vector<StoreBackend> store_backends();

// gtest prints a test's parameter in --gtest_list_tests, and CMake's
// gtest_discover_tests puts that text in the ctest name: the backend's name,
// not "64-byte object <80-C8 ...>".
inline void PrintTo(const StoreBackend& backend, std::ostream* os) { *os << backend.name; }

}  // namespace qtw::store::testing
