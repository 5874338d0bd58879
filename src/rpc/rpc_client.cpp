#include "qtw/rpc/rpc_client.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <utility>

#include "qtw/solana/encoding.h"
#include "rpc_json.h"

namespace qtw::rpc {

using detail::json;

std::string_view commitment_name(Commitment c) noexcept {
  switch (c) {
    case Commitment::kProcessed:
      return "processed";
    case Commitment::kConfirmed:
      return "confirmed";
    case Commitment::kFinalized:
      return "finalized";
  }
  return "confirmed";
}

namespace {

constexpr long kRpcNodeUnhealthy = -32005;  // agave custom_error.rs
constexpr long kRpcInvalidRequest = -32600;
constexpr long kRpcMethodNotFound = -32601;
constexpr long kRpcParseError = -32700;

std::string snippet(std::string_view body) {
  constexpr std::size_t kMax = 200;
  std::string s(body.substr(0, kMax));
  for (char& ch : s) {
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
  }
  if (body.size() > kMax) s += "...";
  return s;
}

json config_with_commitment(Commitment c) {
  return json{{"commitment", std::string(commitment_name(c))}};
}

// Reads are safe to repeat; these failures are the transient ones.
bool is_retriable(const Error& e) {
  switch (e.code) {
    case ErrorCode::kTransport:
    case ErrorCode::kMalformedResponse:
      return true;
    case ErrorCode::kHttp:
      return e.native_code == 429 || e.native_code == 408 || e.native_code >= 500;
    case ErrorCode::kRpc:
      return e.native_code == kRpcNodeUnhealthy;
    default:
      return false;
  }
}

// A refusal of batches is a 4xx other than 429/408, or a non-array answer
// (many providers answer a batch with one error object), or an array whose
// every element is "invalid request"/"method not found".
bool batch_refused_status(long status) {
  return status >= 400 && status < 500 && status != 429 && status != 408;
}

json send_config(const SendOptions& options, Commitment default_commitment) {
  // "encoding":"base64" must be explicit: the default is base58
  // (solana-com sendtransaction.mdx).
  json config{
      {"encoding", "base64"},
      {"skipPreflight", options.skip_preflight},
      {"preflightCommitment",
       std::string(commitment_name(options.preflight_commitment.value_or(default_commitment)))}};
  if (options.max_retries) config["maxRetries"] = *options.max_retries;
  return config;
}

// Chunked list params: [[item...], config] per chunk of at most `chunk`.
template <class T>
std::vector<json> chunked_params(std::span<const T> items, std::size_t chunk, const json& config,
                                 std::vector<std::size_t>& sizes) {
  std::vector<json> params;
  chunk = std::max<std::size_t>(1, chunk);
  for (std::size_t i = 0; i < items.size(); i += chunk) {
    json list = json::array();
    const std::size_t end = std::min(items.size(), i + chunk);
    for (std::size_t j = i; j < end; ++j) list.push_back(items[j].to_base58());
    params.push_back(json::array({std::move(list), config}));
    sizes.push_back(end - i);
  }
  return params;
}

}  // namespace

struct RpcClient::Impl {
  static Clock& clock(RpcClient& c) {
    return c.options_.clock ? *c.options_.clock : system_clock();
  }

  static std::uint64_t next_random(RpcClient& c) {
    // splitmix64: jitter only needs to decorrelate clients, not be secret.
    std::uint64_t z = (c.jitter_state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  static std::int64_t backoff_ms(RpcClient& c, int attempt) {
    const auto& r = c.options_.retry;
    std::int64_t b = std::max<std::int64_t>(1, r.initial_backoff_ms);
    for (int i = 1; i < attempt && b < r.max_backoff_ms; ++i) b *= 2;
    b = std::min(b, std::max<std::int64_t>(1, r.max_backoff_ms));
    // "Equal jitter": half fixed, half random, so retries never collapse to 0.
    const std::int64_t half = b / 2;
    return half +
           static_cast<std::int64_t>(next_random(c) % static_cast<std::uint64_t>(b - half + 1));
  }

  static void begin_call(RpcClient& c, std::string_view method) {
    c.detail_ = RpcErrorDetail{};
    c.detail_.method = std::string(method);
  }

  static void clear_attempt_detail(RpcClient& c) {
    RpcErrorDetail fresh;
    fresh.method = std::move(c.detail_.method);
    fresh.attempts = c.detail_.attempts;
    c.detail_ = std::move(fresh);
  }

  static tl::unexpected<Error> http_error(RpcClient& c, const HttpResponse& resp) {
    c.detail_.http_status = resp.status;
    c.detail_.retry_after_ms = resp.retry_after_ms;
    std::string msg = "HTTP " + std::to_string(resp.status) + " from " + c.url();
    if (resp.retry_after_ms)
      msg += " (Retry-After " + std::to_string(*resp.retry_after_ms / 1000) + " s)";
    if (!resp.body.empty()) msg += ": " + snippet(resp.body);
    return make_error(ErrorCode::kHttp, std::move(msg), resp.status);
  }

  static Result<json> parse_body(RpcClient& c, const HttpResponse& resp) {
    json doc = json::parse(resp.body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      return make_error(ErrorCode::kMalformedResponse,
                        "response from " + c.url() + " is not JSON (" +
                            std::to_string(resp.body.size()) + " bytes): " + snippet(resp.body));
    }
    return doc;
  }

  static json request_object(RpcClient& c, std::string_view method, const json& params,
                             std::uint64_t* id_out) {
    const std::uint64_t id = c.next_id_++;
    if (id_out) *id_out = id;
    json req{{"jsonrpc", "2.0"}, {"id", id}, {"method", std::string(method)}};
    if (!params.is_null()) req["params"] = params;
    return req;
  }

  // Runs `attempt` until success, a non-retriable error, or the retry budget
  // is spent. Retry-After on a 429 is honoured as sent if it fits the budget.
  template <class T, class F>
  static Result<T> with_retry(RpcClient& c, std::string_view method, bool retry, F&& attempt) {
    Clock& clk = clock(c);
    const std::int64_t start_ms = clk.now_ms();
    const int max_attempts = retry ? std::max(1, c.options_.retry.max_attempts) : 1;
    for (int n = 1;; ++n) {
      clear_attempt_detail(c);
      c.detail_.attempts = n;
      Result<T> r = attempt();
      if (r) return r;
      if (c.options_.observer) c.options_.observer->on_error(method, r.error().code);
      if (n >= max_attempts || !is_retriable(r.error())) return r;
      std::int64_t delay = backoff_ms(c, n);
      if (c.detail_.retry_after_ms) delay = *c.detail_.retry_after_ms;
      if (clk.now_ms() + delay - start_ms > c.options_.retry.max_total_ms) return r;
      clk.sleep_ms(delay);
    }
  }

  // `once`: the request must not be re-sent by the transport (non-idempotent).
  static Result<json> attempt_single(RpcClient& c, std::string_view method, const json& params,
                                     bool once) {
    std::uint64_t id = 0;
    const std::string body = request_object(c, method, params, &id).dump();
    if (c.options_.observer) {
      c.options_.observer->on_request(method);
      c.options_.observer->on_http_request(method, 1);
    }
    QTW_ASSIGN_OR_RETURN(HttpResponse resp,
                         once ? c.transport_->post_once(body) : c.transport_->post(body));
    if (resp.status != 200) return http_error(c, resp);
    QTW_ASSIGN_OR_RETURN(json doc, parse_body(c, resp));
    if (doc.is_object()) {
      auto rid = doc.find("id");
      if (rid != doc.end() && !rid->is_null() &&
          !(rid->is_number_unsigned() && rid->get<std::uint64_t>() == id)) {
        // An id of null is allowed with errors (JSON-RPC 2.0 §5), anything
        // else must echo ours.
        return make_error(ErrorCode::kMalformedResponse, "JSON-RPC response id " + rid->dump() +
                                                             " does not match request id " +
                                                             std::to_string(id));
      }
    }
    return detail::extract_result(doc, c.detail_);
  }

  static Result<json> request(RpcClient& c, std::string_view method, const json& params,
                              bool retry) {
    begin_call(c, method);
    return with_retry<json>(c, method, retry,
                            [&] { return attempt_single(c, method, params, !retry); });
  }

  // One call of a (possibly mixed) JSON-RPC batch.
  struct Call {
    std::string_view method;
    json params;
  };
  // What one call of a batch answered, with the error detail of that call.
  struct Item {
    Result<json> value = json();
    RpcErrorDetail detail;
  };

  // A batch is refused as a whole (the caller falls back to single requests)
  // when every element is "invalid request"/"method not found"/"parse error".
  static bool all_refusals(const json& doc) {
    if (doc.empty()) return false;
    for (const auto& item : doc) {
      long code = 0;
      if (item.is_object()) {
        auto e = item.find("error");
        if (e != item.end() && e->is_object()) {
          auto code_it = e->find("code");
          if (code_it != e->end() && code_it->is_number_integer()) code = code_it->get<long>();
        }
      }
      if (code != kRpcInvalidRequest && code != kRpcMethodNotFound && code != kRpcParseError) {
        return false;
      }
    }
    return true;
  }

  // One HTTP request carrying `calls` as a JSON-RPC batch. nullopt = the
  // node refused batches. With `per_item` false, the first failed element
  // fails the attempt (reads: all or nothing, retried as a whole); with it
  // true each element keeps its own outcome (sends). `once`: the body must
  // not be re-posted by the transport (non-idempotent methods).
  static Result<std::optional<std::vector<Item>>> attempt_batch(RpcClient& c,
                                                                std::span<const Call* const> calls,
                                                                bool per_item, bool once) {
    json batch = json::array();
    std::vector<std::uint64_t> ids;
    ids.reserve(calls.size());
    for (const Call* call : calls) {
      std::uint64_t id = 0;
      batch.push_back(request_object(c, call->method, call->params, &id));
      ids.push_back(id);
      if (c.options_.observer) c.options_.observer->on_request(call->method);
    }
    const std::string body = batch.dump();
    if (c.options_.observer) c.options_.observer->on_http_request(calls.front()->method, calls.size());
    QTW_ASSIGN_OR_RETURN(HttpResponse resp,
                         once ? c.transport_->post_once(body) : c.transport_->post(body));
    if (batch_refused_status(resp.status)) return std::optional<std::vector<Item>>{};
    if (resp.status != 200) return http_error(c, resp);
    QTW_ASSIGN_OR_RETURN(json doc, parse_body(c, resp));
    if (!doc.is_array() || all_refusals(doc)) return std::optional<std::vector<Item>>{};
    std::unordered_map<std::uint64_t, const json*> by_id;
    for (const auto& item : doc) {
      if (!item.is_object()) continue;
      auto id = item.find("id");
      if (id != item.end() && id->is_number_unsigned()) by_id[id->get<std::uint64_t>()] = &item;
    }
    std::vector<Item> out(ids.size());
    for (std::size_t k = 0; k < ids.size(); ++k) {
      auto it = by_id.find(ids[k]);
      if (it == by_id.end()) {
        auto e = make_error(ErrorCode::kMalformedResponse,
                            "batch response from " + c.url() + " lacks id " + std::to_string(ids[k]));
        if (!per_item) return e;
        out[k].value = e;
        continue;
      }
      out[k].detail.method = std::string(calls[k]->method);
      out[k].value = detail::extract_result(*it->second, out[k].detail);
      if (!out[k].value && !per_item) {
        c.detail_ = out[k].detail;
        return tl::unexpected(out[k].value.error());
      }
    }
    return std::optional<std::vector<Item>>(std::move(out));
  }

  // Any calls, mixed methods: grouped into as few JSON-RPC batches as the
  // count and body limits allow, one request each where the node refuses
  // batches. Reads (`send` false) are retried and all-or-nothing; sends are
  // never retried nor re-posted, and each keeps its own outcome.
  static Result<std::vector<Item>> request_batched(RpcClient& c, const std::vector<Call>& calls,
                                                   bool send) {
    std::vector<Item> results(calls.size());
    std::size_t done = 0;
    const bool batching = c.options_.use_batch && c.batch_enabled_ && calls.size() > 1;
    if (batching) {
      begin_call(c, calls.front().method);
      const std::size_t max_n = std::max<std::size_t>(1, c.options_.max_batch_requests);
      while (done < calls.size()) {
        // Group by count and by approximate body size (params + ~80 B envelope).
        std::vector<const Call*> group;
        std::size_t bytes = 2;
        for (std::size_t i = done; i < calls.size() && group.size() < max_n; ++i) {
          const std::size_t sz = calls[i].params.dump().size() + 80 + calls[i].method.size();
          if (!group.empty() && bytes + sz > c.options_.max_batch_body_bytes) break;
          group.push_back(&calls[i]);
          bytes += sz;
        }
        if (group.size() == 1) break;  // nothing to gain; finish with singles
        auto r = with_retry<std::optional<std::vector<Item>>>(
            c, group.front()->method, !send,
            [&] { return attempt_batch(c, group, /*per_item=*/send, /*once=*/send); });
        if (!r) return tl::unexpected(r.error());
        if (!r->has_value()) {
          c.batch_enabled_ = false;  // remembered for this client's lifetime
          break;
        }
        for (auto& v : **r) results[done++] = std::move(v);
      }
    }
    for (; done < calls.size(); ++done) {
      results[done].value = request(c, calls[done].method, calls[done].params, !send);
      results[done].detail = c.detail_;
      if (!results[done].value && !send) return tl::unexpected(results[done].value.error());
    }
    return results;
  }

  // Same method, many params (chunked reads): results in order; the first
  // failure fails the call.
  static Result<std::vector<json>> request_many(RpcClient& c, std::string_view method,
                                                const std::vector<json>& params) {
    std::vector<Call> calls;
    calls.reserve(params.size());
    for (const auto& p : params) calls.push_back(Call{method, p});
    QTW_ASSIGN_OR_RETURN(auto items, request_batched(c, calls, /*send=*/false));
    std::vector<json> out;
    out.reserve(items.size());
    for (auto& item : items) out.push_back(std::move(*item.value));
    return out;
  }

  static Commitment commitment(const RpcClient& c, std::optional<Commitment> v) {
    return v.value_or(c.options_.commitment);
  }
};

RpcClient::RpcClient(std::unique_ptr<HttpTransport> transport, RpcClientOptions options)
    : transport_(std::move(transport)),
      options_(options),
      jitter_state_(
          static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
          reinterpret_cast<std::uintptr_t>(this)) {}

RpcClient::~RpcClient() = default;

Result<std::unique_ptr<RpcClient>> RpcClient::connect(std::string url, RpcClientOptions options,
                                                      CurlTransportOptions http) {
  QTW_ASSIGN_OR_RETURN(auto transport, make_curl_transport(std::move(url), std::move(http)));
  return std::make_unique<RpcClient>(std::move(transport), options);
}

const std::string& RpcClient::url() const noexcept {
  return transport_->url();
}

Status RpcClient::get_health() {
  QTW_ASSIGN_OR_RETURN(json r, Impl::request(*this, "getHealth", json(), true));
  if (r != "ok") {
    return make_error(ErrorCode::kMalformedResponse, "getHealth: unexpected result " + r.dump());
  }
  return {};
}

Result<VersionInfo> RpcClient::get_version() {
  QTW_ASSIGN_OR_RETURN(json r, Impl::request(*this, "getVersion", json(), true));
  return detail::parse_version(r);
}

Result<std::uint64_t> RpcClient::get_slot(std::optional<Commitment> c) {
  QTW_ASSIGN_OR_RETURN(
      json r,
      Impl::request(*this, "getSlot",
                    json::array({config_with_commitment(Impl::commitment(*this, c))}), true));
  return detail::parse_u64(r, "getSlot");
}

Result<std::uint64_t> RpcClient::get_block_height(std::optional<Commitment> c) {
  QTW_ASSIGN_OR_RETURN(
      json r,
      Impl::request(*this, "getBlockHeight",
                    json::array({config_with_commitment(Impl::commitment(*this, c))}), true));
  return detail::parse_u64(r, "getBlockHeight");
}

Result<LatestBlockhash> RpcClient::get_latest_blockhash(std::optional<Commitment> c) {
  QTW_ASSIGN_OR_RETURN(
      json r,
      Impl::request(*this, "getLatestBlockhash",
                    json::array({config_with_commitment(Impl::commitment(*this, c))}), true));
  return detail::parse_latest_blockhash(r);
}

Result<bool> RpcClient::is_blockhash_valid(const solana::Hash& blockhash,
                                           std::optional<Commitment> c) {
  QTW_ASSIGN_OR_RETURN(
      json r, Impl::request(*this, "isBlockhashValid",
                            json::array({blockhash.to_base58(),
                                         config_with_commitment(Impl::commitment(*this, c))}),
                            true));
  return detail::parse_context_bool(r, "isBlockhashValid");
}

Result<std::uint64_t> RpcClient::get_balance(const solana::Pubkey& key,
                                             std::optional<Commitment> c) {
  QTW_ASSIGN_OR_RETURN(
      json r, Impl::request(*this, "getBalance",
                            json::array({key.to_base58(),
                                         config_with_commitment(Impl::commitment(*this, c))}),
                            true));
  return detail::parse_context_u64(r, "getBalance");
}

Result<std::optional<AccountInfo>> RpcClient::get_account_info(const solana::Pubkey& key,
                                                               std::optional<Commitment> c) {
  json config = config_with_commitment(Impl::commitment(*this, c));
  config["encoding"] = "base64";
  QTW_ASSIGN_OR_RETURN(
      json r, Impl::request(*this, "getAccountInfo", json::array({key.to_base58(), config}), true));
  if (!r.is_object() || !r.contains("value")) {
    return make_error(ErrorCode::kMalformedResponse, "getAccountInfo: missing \"value\"");
  }
  return detail::parse_account(r["value"]);
}

Result<std::vector<std::optional<AccountInfo>>> RpcClient::get_multiple_accounts(
    std::span<const solana::Pubkey> keys, std::optional<Commitment> c) {
  std::vector<std::optional<AccountInfo>> out;
  if (keys.empty()) return out;
  json config = config_with_commitment(Impl::commitment(*this, c));
  config["encoding"] = "base64";
  std::vector<std::size_t> sizes;
  const std::vector<json> params =
      chunked_params(keys, options_.max_accounts_per_request, config, sizes);
  QTW_ASSIGN_OR_RETURN(std::vector<json> results,
                       Impl::request_many(*this, "getMultipleAccounts", params));
  out.reserve(keys.size());
  for (std::size_t k = 0; k < results.size(); ++k) {
    QTW_ASSIGN_OR_RETURN(auto part, detail::parse_multiple_accounts(results[k], sizes[k]));
    for (auto& a : part) out.push_back(std::move(a));
  }
  return out;
}

Result<std::vector<std::vector<KeyedAccount>>> RpcClient::get_token_accounts_by_owners(
    std::span<const solana::Pubkey> owners, const solana::Pubkey& token_program,
    std::optional<Commitment> c) {
  std::vector<std::vector<KeyedAccount>> out;
  if (owners.empty()) return out;
  json config = config_with_commitment(Impl::commitment(*this, c));
  config["encoding"] = "base64";
  const json filter{{"programId", token_program.to_base58()}};
  std::vector<json> params;
  params.reserve(owners.size());
  for (const auto& o : owners) params.push_back(json::array({o.to_base58(), filter, config}));
  QTW_ASSIGN_OR_RETURN(std::vector<json> results,
                       Impl::request_many(*this, "getTokenAccountsByOwner", params));
  out.reserve(results.size());
  for (const auto& r : results) {
    QTW_ASSIGN_OR_RETURN(auto accounts, detail::parse_keyed_accounts(r));
    out.push_back(std::move(accounts));
  }
  return out;
}

Result<std::uint64_t> RpcClient::get_minimum_balance_for_rent_exemption(
    std::uint64_t data_len, std::optional<Commitment> c) {
  QTW_ASSIGN_OR_RETURN(
      json r,
      Impl::request(*this, "getMinimumBalanceForRentExemption",
                    json::array({data_len, config_with_commitment(Impl::commitment(*this, c))}),
                    true));
  return detail::parse_u64(r, "getMinimumBalanceForRentExemption");
}

Result<std::optional<std::uint64_t>> RpcClient::get_fee_for_message(
    std::span<const std::uint8_t> message, std::optional<Commitment> c) {
  // Only base64 is accepted (agave rpc.rs get_fee_for_message).
  QTW_ASSIGN_OR_RETURN(
      json r, Impl::request(*this, "getFeeForMessage",
                            json::array({solana::base64_encode(message),
                                         config_with_commitment(Impl::commitment(*this, c))}),
                            true));
  return detail::parse_fee_for_message(r);
}

Result<solana::Signature> RpcClient::send_transaction(std::span<const std::uint8_t> wire,
                                                      const SendOptions& options) {
  const json config = send_config(options, options_.commitment);
  QTW_ASSIGN_OR_RETURN(json r, Impl::request(*this, "sendTransaction",
                                             json::array({solana::base64_encode(wire), config}),
                                             /*retry=*/false));
  return detail::parse_signature(r);
}

Result<SimulationResult> RpcClient::simulate_transaction(std::span<const std::uint8_t> wire,
                                                         const SimulateOptions& options) {
  json config = config_with_commitment(options.commitment.value_or(options_.commitment));
  config["encoding"] = "base64";
  config["sigVerify"] = options.sig_verify;
  config["replaceRecentBlockhash"] = options.replace_recent_blockhash;
  QTW_ASSIGN_OR_RETURN(json r,
                       Impl::request(*this, "simulateTransaction",
                                     json::array({solana::base64_encode(wire), config}), true));
  return detail::parse_simulation(r);
}

Result<std::vector<std::optional<SignatureStatus>>> RpcClient::get_signature_statuses(
    std::span<const solana::Signature> signatures, bool search_transaction_history) {
  std::vector<std::optional<SignatureStatus>> out;
  if (signatures.empty()) return out;
  std::vector<std::size_t> sizes;
  const std::vector<json> params =
      chunked_params(signatures, options_.max_signatures_per_request,
                     json{{"searchTransactionHistory", search_transaction_history}}, sizes);
  QTW_ASSIGN_OR_RETURN(std::vector<json> results,
                       Impl::request_many(*this, "getSignatureStatuses", params));
  out.reserve(signatures.size());
  for (std::size_t k = 0; k < results.size(); ++k) {
    QTW_ASSIGN_OR_RETURN(auto part, detail::parse_signature_statuses(results[k], sizes[k]));
    for (auto& s : part) out.push_back(std::move(s));
  }
  return out;
}

Result<ChainSnapshot> RpcClient::get_snapshot(std::span<const solana::Pubkey> keys,
                                              bool with_blockhash, std::optional<Commitment> c) {
  const json commitment = config_with_commitment(Impl::commitment(*this, c));
  json config = commitment;
  config["encoding"] = "base64";
  std::vector<std::size_t> sizes;
  std::vector<Impl::Call> calls;
  for (auto& p : chunked_params(keys, options_.max_accounts_per_request, config, sizes)) {
    calls.push_back(Impl::Call{"getMultipleAccounts", std::move(p)});
  }
  const std::size_t chunks = calls.size();
  calls.push_back(Impl::Call{"getBlockHeight", json::array({commitment})});
  if (with_blockhash) calls.push_back(Impl::Call{"getLatestBlockhash", json::array({commitment})});
  QTW_ASSIGN_OR_RETURN(auto items, Impl::request_batched(*this, calls, /*send=*/false));
  ChainSnapshot out;
  out.accounts.reserve(keys.size());
  for (std::size_t k = 0; k < chunks; ++k) {
    QTW_ASSIGN_OR_RETURN(auto part, detail::parse_multiple_accounts(*items[k].value, sizes[k]));
    for (auto& a : part) out.accounts.push_back(std::move(a));
  }
  QTW_ASSIGN_OR_RETURN(out.block_height, detail::parse_u64(*items[chunks].value, "getBlockHeight"));
  if (with_blockhash) {
    QTW_ASSIGN_OR_RETURN(out.blockhash, detail::parse_latest_blockhash(*items[chunks + 1].value));
  }
  return out;
}

Result<StatusPoll> RpcClient::poll_signature_statuses(std::span<const solana::Signature> signatures,
                                                      Commitment height_commitment,
                                                      bool search_transaction_history) {
  std::vector<std::size_t> sizes;
  std::vector<Impl::Call> calls;
  for (auto& p : chunked_params(signatures, options_.max_signatures_per_request,
                                json{{"searchTransactionHistory", search_transaction_history}},
                                sizes)) {
    calls.push_back(Impl::Call{"getSignatureStatuses", std::move(p)});
  }
  const std::size_t chunks = calls.size();
  calls.push_back(
      Impl::Call{"getBlockHeight", json::array({config_with_commitment(height_commitment)})});
  QTW_ASSIGN_OR_RETURN(auto items, Impl::request_batched(*this, calls, /*send=*/false));
  StatusPoll out;
  out.statuses.reserve(signatures.size());
  for (std::size_t k = 0; k < chunks; ++k) {
    QTW_ASSIGN_OR_RETURN(auto part, detail::parse_signature_statuses(*items[k].value, sizes[k]));
    for (auto& st : part) out.statuses.push_back(std::move(st));
  }
  QTW_ASSIGN_OR_RETURN(out.block_height, detail::parse_u64(*items[chunks].value, "getBlockHeight"));
  return out;
}

Result<std::vector<SendResult>> RpcClient::send_transactions(
    std::span<const std::vector<std::uint8_t>> wires, const SendOptions& options) {
  std::vector<SendResult> out;
  if (wires.empty()) return out;
  const json config = send_config(options, options_.commitment);
  std::vector<Impl::Call> calls;
  calls.reserve(wires.size());
  for (const auto& w : wires) {
    calls.push_back(Impl::Call{"sendTransaction", json::array({solana::base64_encode(w), config})});
  }
  QTW_ASSIGN_OR_RETURN(auto items, Impl::request_batched(*this, calls, /*send=*/true));
  out.reserve(items.size());
  for (auto& item : items) {
    SendResult r;
    r.detail = std::move(item.detail);
    if (item.value) {
      r.signature = detail::parse_signature(*item.value);
    } else {
      r.signature = tl::unexpected(item.value.error());
    }
    out.push_back(std::move(r));
  }
  return out;
}

namespace {
json signatures_config(const SignaturesForAddressOptions& options, Commitment fallback) {
  Commitment c = options.commitment.value_or(fallback);
  if (c == Commitment::kProcessed) c = Commitment::kConfirmed;  // processed not supported
  json config = config_with_commitment(c);
  config["limit"] = options.limit;
  if (options.before) config["before"] = options.before->to_base58();
  if (options.until) config["until"] = options.until->to_base58();
  return config;
}
}  // namespace

Result<std::vector<SignatureInfo>> RpcClient::get_signatures_for_address(
    const solana::Pubkey& address, const SignaturesForAddressOptions& options) {
  const json config = signatures_config(options, options_.commitment);
  QTW_ASSIGN_OR_RETURN(json r, Impl::request(*this, "getSignaturesForAddress",
                                             json::array({address.to_base58(), config}), true));
  return detail::parse_signatures_for_address(r);
}

Result<std::vector<std::vector<SignatureInfo>>> RpcClient::get_signatures_for_addresses(
    std::span<const solana::Pubkey> addresses, const SignaturesForAddressOptions& options) {
  std::vector<std::vector<SignatureInfo>> out;
  if (addresses.empty()) return out;
  const json config = signatures_config(options, options_.commitment);
  std::vector<json> params;
  params.reserve(addresses.size());
  for (const auto& a : addresses) params.push_back(json::array({a.to_base58(), config}));
  QTW_ASSIGN_OR_RETURN(std::vector<json> results,
                       Impl::request_many(*this, "getSignaturesForAddress", params));
  out.reserve(results.size());
  for (const auto& r : results) {
    QTW_ASSIGN_OR_RETURN(auto sigs, detail::parse_signatures_for_address(r));
    out.push_back(std::move(sigs));
  }
  return out;
}

Result<solana::Signature> RpcClient::request_airdrop(const solana::Pubkey& to,
                                                     std::uint64_t lamports) {
  QTW_ASSIGN_OR_RETURN(json r,
                       Impl::request(*this, "requestAirdrop",
                                     json::array({to.to_base58(), lamports,
                                                  config_with_commitment(options_.commitment)}),
                                     /*retry=*/false));
  return detail::parse_signature(r);
}

Result<std::vector<PrioritizationFee>> RpcClient::get_recent_prioritization_fees(
    std::span<const solana::Pubkey> writable_accounts) {
  json list = json::array();
  for (const auto& k : writable_accounts) list.push_back(k.to_base58());
  QTW_ASSIGN_OR_RETURN(json r, Impl::request(*this, "getRecentPrioritizationFees",
                                             json::array({std::move(list)}), true));
  return detail::parse_prioritization_fees(r);
}

Result<std::optional<TransactionInfo>> RpcClient::get_transaction(
    const solana::Signature& signature, std::optional<Commitment> c) {
  Commitment level = Impl::commitment(*this, c);
  if (level == Commitment::kProcessed)
    level = Commitment::kConfirmed;  // not supported by getTransaction
  json config = config_with_commitment(level);
  config["encoding"] = "json";
  config["maxSupportedTransactionVersion"] = 0;
  QTW_ASSIGN_OR_RETURN(json r, Impl::request(*this, "getTransaction",
                                             json::array({signature.to_base58(), config}), true));
  return detail::parse_transaction(r);
}

Result<std::string> RpcClient::call(std::string_view method, std::string_view params_json,
                                    bool retry) {
  json params;
  if (!params_json.empty()) {
    params = json::parse(params_json, nullptr, false);
    if (params.is_discarded() || !params.is_array()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "call(" + std::string(method) + "): params must be a JSON array");
    }
  }
  QTW_ASSIGN_OR_RETURN(json r, Impl::request(*this, method, params, retry));
  return r.dump();
}

}  // namespace qtw::rpc
