#pragma once
// Internal: JSON-RPC envelope handling and parsers for each result shape.
// Pure functions over nlohmann::json so unit tests can feed recorded
// validator responses. Shapes: solana-com docs/rpc/http/<method>.mdx and
// agave rpc-client-api/src/response.rs.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "qtw/result.h"
#include "qtw/rpc/rpc_client.h"
#include "qtw/rpc/types.h"

namespace qtw::rpc::detail {

using json = nlohmann::json;

// Given one JSON-RPC response object, returns its "result" or the error it
// carries: kRpc (native = code; fills detail rpc_code/message/data, and for
// -32002 logs + transaction_error) or kMalformedResponse.
[[nodiscard]] Result<json> extract_result(const json& response, RpcErrorDetail& detail);

// JSON value -> compact text; "" for null/absent (used for TransactionError).
[[nodiscard]] std::string err_text(const json& value);

[[nodiscard]] Result<std::uint64_t> parse_u64(const json& v, const char* what);
// {context:{slot}, value:<u64>}
[[nodiscard]] Result<std::uint64_t> parse_context_u64(const json& result, const char* what);
[[nodiscard]] Result<VersionInfo> parse_version(const json& result);
[[nodiscard]] Result<LatestBlockhash> parse_latest_blockhash(const json& result);
[[nodiscard]] Result<bool> parse_context_bool(const json& result, const char* what);
// One account value: null -> nullopt.
[[nodiscard]] Result<std::optional<AccountInfo>> parse_account(const json& value);
// {context, value:[account|null...]} with exactly `expected` entries.
[[nodiscard]] Result<std::vector<std::optional<AccountInfo>>> parse_multiple_accounts(
    const json& result, std::size_t expected);
// getTokenAccountsByOwner: {context, value:[{pubkey, account}...]}.
[[nodiscard]] Result<std::vector<KeyedAccount>> parse_keyed_accounts(const json& result);
[[nodiscard]] Result<std::optional<std::uint64_t>> parse_fee_for_message(const json& result);
[[nodiscard]] Result<solana::Signature> parse_signature(const json& result);
[[nodiscard]] Result<SimulationResult> parse_simulation(const json& result);
[[nodiscard]] Result<std::vector<std::optional<SignatureStatus>>> parse_signature_statuses(
    const json& result, std::size_t expected);
[[nodiscard]] Result<std::vector<SignatureInfo>> parse_signatures_for_address(const json& result);
[[nodiscard]] Result<std::vector<PrioritizationFee>> parse_prioritization_fees(const json& result);
[[nodiscard]] Result<std::optional<TransactionInfo>> parse_transaction(const json& result);
[[nodiscard]] Result<Commitment> parse_commitment(const json& v);

}  // namespace qtw::rpc::detail
