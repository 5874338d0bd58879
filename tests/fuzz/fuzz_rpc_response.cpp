// libFuzzer target: JSON-RPC response bodies as the client decodes them
// (src/rpc/rpc_json.cpp): the envelope (extract_result, single or batch),
// then every result parser on the result. A node, a proxy or anything on the
// path can answer anything.
// Properties: no crash, UB, leak or exception (nlohmann's get<>/at() throw
// on a wrong type: the parsers must check types first); an error always has
// a message; a decoded multiple-accounts/statuses list has the asked length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rpc/rpc_json.h"

namespace {

using namespace qtw;
using namespace qtw::rpc::detail;

template <class R>
void must_explain(const R& r) {
  if (!r && r.error().message.empty()) std::abort();
}

void decode_result(const json& result) {
  must_explain(parse_u64(result, "fuzz"));
  must_explain(parse_context_u64(result, "fuzz"));
  must_explain(parse_context_bool(result, "fuzz"));
  must_explain(parse_version(result));
  must_explain(parse_latest_blockhash(result));
  must_explain(parse_account(result));
  for (std::size_t expected : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
    auto accounts = parse_multiple_accounts(result, expected);
    must_explain(accounts);
    if (accounts && accounts->size() != expected) std::abort();
    auto statuses = parse_signature_statuses(result, expected);
    must_explain(statuses);
    if (statuses && statuses->size() != expected) std::abort();
  }
  must_explain(parse_fee_for_message(result));
  must_explain(parse_signature(result));
  must_explain(parse_simulation(result));
  must_explain(parse_signatures_for_address(result));
  must_explain(parse_prioritization_fees(result));
  must_explain(parse_transaction(result));
  must_explain(parse_commitment(result));
  (void)err_text(result);
}

void decode_response(const json& response) {
  qtw::rpc::RpcErrorDetail detail;
  auto result = extract_result(response, detail);
  must_explain(result);
  if (result) decode_result(*result);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  if (doc.is_array()) {  // a batch answer: one response per request
    for (const auto& one : doc) decode_response(one);
  } else {
    decode_response(doc);
  }
  // The parsers also see bare results (the fuzzer need not learn the envelope).
  decode_result(doc);
  return 0;
}
