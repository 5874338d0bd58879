// libFuzzer target: parse_config (the qtw.toml text, src/wallet/config.cpp).
// Properties: no crash, UB, leak or exception escaping on any text (toml++
// throws; parse_config must catch); an error always says what is wrong; an
// accepted config parses again to the same values (parsing is a function of
// the text alone).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "qtw/wallet/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qtw::wallet;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = parse_config(text);
  if (!config) {
    if (config.error().message.empty()) std::abort();
    return 0;
  }
  auto again = parse_config(text);
  if (!again) std::abort();
  if (again->rpc.url != config->rpc.url || again->store.path != config->store.path ||
      again->balancer.min_explorer_keys != config->balancer.min_explorer_keys ||
      again->caps.max_lamports_per_explorer != config->caps.max_lamports_per_explorer ||
      again->service.listen != config->service.listen) {
    std::abort();
  }
  return 0;
}
