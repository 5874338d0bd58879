#include "rpc_json.h"

#include <utility>

#include "qtw/solana/encoding.h"

namespace qtw::rpc::detail {
namespace {

tl::unexpected<Error> malformed(std::string what) {
  return make_error(ErrorCode::kMalformedResponse, std::move(what));
}

Result<const json*> member(const json& obj, const char* key, const char* what) {
  if (!obj.is_object()) return malformed(std::string(what) + ": expected a JSON object");
  auto it = obj.find(key);
  if (it == obj.end()) return malformed(std::string(what) + ": missing \"" + key + "\"");
  return &*it;
}

Result<std::string> parse_string(const json& v, const char* what) {
  if (!v.is_string()) return malformed(std::string(what) + ": expected a string");
  return v.get<std::string>();
}

std::optional<std::int64_t> opt_i64(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

Result<std::vector<std::string>> parse_string_array(const json& v, const char* what) {
  std::vector<std::string> out;
  if (v.is_null()) return out;
  if (!v.is_array()) return malformed(std::string(what) + ": expected an array");
  out.reserve(v.size());
  for (const auto& e : v) {
    if (!e.is_string()) return malformed(std::string(what) + ": expected strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace

std::string err_text(const json& value) {
  if (value.is_null()) return {};
  return value.dump();
}

Result<std::uint64_t> parse_u64(const json& v, const char* what) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  }
  return malformed(std::string(what) + ": expected an unsigned integer, got " + v.dump());
}

Result<json> extract_result(const json& response, RpcErrorDetail& detail) {
  if (!response.is_object()) return malformed("JSON-RPC response is not an object");
  auto err = response.find("error");
  if (err != response.end() && !err->is_null()) {
    if (!err->is_object()) return malformed("JSON-RPC \"error\" is not an object");
    auto code = err->find("code");
    if (code == err->end() || !code->is_number_integer()) {
      return malformed("JSON-RPC error without an integer code: " + err->dump());
    }
    const long rpc_code = static_cast<long>(code->get<std::int64_t>());
    std::string message;
    if (auto m = err->find("message"); m != err->end() && m->is_string())
      message = m->get<std::string>();
    detail.rpc_code = rpc_code;
    detail.rpc_message = message;
    if (auto d = err->find("data"); d != err->end() && !d->is_null()) {
      detail.rpc_data = d->dump();
      // -32002 SendTransactionPreflightFailure: data is an
      // RpcSimulateTransactionResult (agave rpc-client-api/src/custom_error.rs).
      if (d->is_object()) {
        if (auto logs = d->find("logs"); logs != d->end()) {
          auto parsed = parse_string_array(*logs, "error.data.logs");
          if (parsed) detail.logs = std::move(*parsed);
        }
        if (auto e = d->find("err"); e != d->end()) detail.transaction_error = err_text(*e);
      }
    }
    return make_error(ErrorCode::kRpc,
                      "JSON-RPC error " + std::to_string(rpc_code) + ": " + message, rpc_code);
  }
  auto res = response.find("result");
  if (res == response.end()) return malformed("JSON-RPC response has neither result nor error");
  return *res;
}

Result<std::uint64_t> parse_context_u64(const json& result, const char* what) {
  QTW_ASSIGN_OR_RETURN(const json* value, member(result, "value", what));
  return parse_u64(*value, what);
}

Result<bool> parse_context_bool(const json& result, const char* what) {
  QTW_ASSIGN_OR_RETURN(const json* value, member(result, "value", what));
  if (!value->is_boolean()) return malformed(std::string(what) + ": expected a boolean");
  return value->get<bool>();
}

Result<VersionInfo> parse_version(const json& result) {
  VersionInfo out;
  QTW_ASSIGN_OR_RETURN(const json* core, member(result, "solana-core", "getVersion"));
  QTW_ASSIGN_OR_RETURN(out.solana_core, parse_string(*core, "getVersion solana-core"));
  if (auto fs = result.find("feature-set"); fs != result.end() && fs->is_number_unsigned()) {
    out.feature_set = fs->get<std::uint64_t>();
  }
  return out;
}

Result<LatestBlockhash> parse_latest_blockhash(const json& result) {
  LatestBlockhash out;
  QTW_ASSIGN_OR_RETURN(const json* value, member(result, "value", "getLatestBlockhash"));
  QTW_ASSIGN_OR_RETURN(const json* bh, member(*value, "blockhash", "getLatestBlockhash"));
  QTW_ASSIGN_OR_RETURN(std::string bh_text, parse_string(*bh, "getLatestBlockhash blockhash"));
  auto hash = solana::Hash::from_base58(bh_text);
  if (!hash) return malformed("getLatestBlockhash: bad blockhash: " + hash.error().message);
  out.blockhash = *hash;
  QTW_ASSIGN_OR_RETURN(const json* lvbh,
                       member(*value, "lastValidBlockHeight", "getLatestBlockhash"));
  QTW_ASSIGN_OR_RETURN(out.last_valid_block_height, parse_u64(*lvbh, "lastValidBlockHeight"));
  if (auto ctx = result.find("context"); ctx != result.end() && ctx->is_object()) {
    if (auto slot = ctx->find("slot"); slot != ctx->end() && slot->is_number_unsigned()) {
      out.context_slot = slot->get<std::uint64_t>();
    }
  }
  return out;
}

Result<std::optional<AccountInfo>> parse_account(const json& value) {
  if (value.is_null()) return std::optional<AccountInfo>{};
  AccountInfo out;
  QTW_ASSIGN_OR_RETURN(const json* lamports, member(value, "lamports", "account"));
  QTW_ASSIGN_OR_RETURN(out.lamports, parse_u64(*lamports, "account lamports"));
  QTW_ASSIGN_OR_RETURN(const json* owner, member(value, "owner", "account"));
  QTW_ASSIGN_OR_RETURN(std::string owner_text, parse_string(*owner, "account owner"));
  auto owner_key = solana::Pubkey::from_base58(owner_text);
  if (!owner_key) return malformed("account owner: " + owner_key.error().message);
  out.owner = *owner_key;
  QTW_ASSIGN_OR_RETURN(const json* data, member(value, "data", "account"));
  // base64 encoding: ["<base64>", "base64"] (getaccountinfo.mdx).
  if (!data->is_array() || data->size() != 2 || !(*data)[0].is_string() || (*data)[1] != "base64") {
    return malformed("account data: expected [\"<base64>\", \"base64\"], got " + data->dump());
  }
  auto bytes = solana::base64_decode((*data)[0].get<std::string>());
  if (!bytes) return malformed("account data: " + bytes.error().message);
  out.data = std::move(*bytes);
  QTW_ASSIGN_OR_RETURN(const json* exec, member(value, "executable", "account"));
  if (!exec->is_boolean()) return malformed("account executable: expected a boolean");
  out.executable = exec->get<bool>();
  if (auto space = value.find("space"); space != value.end()) {
    QTW_ASSIGN_OR_RETURN(out.space, parse_u64(*space, "account space"));
  } else {
    out.space = out.data.size();  // nodes before 1.15 omit "space"
  }
  return std::optional<AccountInfo>(std::move(out));
}

Result<std::vector<std::optional<AccountInfo>>> parse_multiple_accounts(const json& result,
                                                                        std::size_t expected) {
  QTW_ASSIGN_OR_RETURN(const json* value, member(result, "value", "getMultipleAccounts"));
  if (!value->is_array() || value->size() != expected) {
    return malformed("getMultipleAccounts: expected an array of " + std::to_string(expected) +
                     " entries");
  }
  std::vector<std::optional<AccountInfo>> out;
  out.reserve(expected);
  for (const auto& v : *value) {
    QTW_ASSIGN_OR_RETURN(auto acct, parse_account(v));
    out.push_back(std::move(acct));
  }
  return out;
}

Result<std::vector<KeyedAccount>> parse_keyed_accounts(const json& result) {
  QTW_ASSIGN_OR_RETURN(const json* value, member(result, "value", "getTokenAccountsByOwner"));
  if (!value->is_array()) return malformed("getTokenAccountsByOwner: value is not an array");
  std::vector<KeyedAccount> out;
  out.reserve(value->size());
  for (const auto& v : *value) {
    QTW_ASSIGN_OR_RETURN(const json* key, member(v, "pubkey", "keyed account"));
    QTW_ASSIGN_OR_RETURN(std::string key_text, parse_string(*key, "keyed account pubkey"));
    auto pk = solana::Pubkey::from_base58(key_text);
    if (!pk) return malformed("keyed account pubkey: " + pk.error().message);
    QTW_ASSIGN_OR_RETURN(const json* acct, member(v, "account", "keyed account"));
    QTW_ASSIGN_OR_RETURN(auto info, parse_account(*acct));
    if (!info) return malformed("keyed account " + key_text + ": account is null");
    out.push_back(KeyedAccount{*pk, std::move(*info)});
  }
  return out;
}

Result<std::optional<std::uint64_t>> parse_fee_for_message(const json& result) {
  QTW_ASSIGN_OR_RETURN(const json* value, member(result, "value", "getFeeForMessage"));
  if (value->is_null()) return std::optional<std::uint64_t>{};
  QTW_ASSIGN_OR_RETURN(std::uint64_t fee, parse_u64(*value, "getFeeForMessage"));
  return std::optional<std::uint64_t>(fee);
}

Result<solana::Signature> parse_signature(const json& result) {
  QTW_ASSIGN_OR_RETURN(std::string text, parse_string(result, "signature"));
  auto sig = solana::Signature::from_base58(text);
  if (!sig) return malformed("signature: " + sig.error().message);
  return *sig;
}

Result<SimulationResult> parse_simulation(const json& result) {
  QTW_ASSIGN_OR_RETURN(const json* value, member(result, "value", "simulateTransaction"));
  if (!value->is_object()) return malformed("simulateTransaction: value is not an object");
  SimulationResult out;
  if (auto e = value->find("err"); e != value->end()) out.err = err_text(*e);
  if (auto logs = value->find("logs"); logs != value->end()) {
    QTW_ASSIGN_OR_RETURN(out.logs, parse_string_array(*logs, "simulateTransaction logs"));
  }
  if (auto u = value->find("unitsConsumed"); u != value->end() && !u->is_null()) {
    QTW_ASSIGN_OR_RETURN(std::uint64_t units, parse_u64(*u, "unitsConsumed"));
    out.units_consumed = units;
  }
  if (auto f = value->find("fee"); f != value->end() && !f->is_null()) {
    QTW_ASSIGN_OR_RETURN(std::uint64_t fee, parse_u64(*f, "simulateTransaction fee"));
    out.fee = fee;
  }
  return out;
}

Result<Commitment> parse_commitment(const json& v) {
  if (v == "processed") return Commitment::kProcessed;
  if (v == "confirmed") return Commitment::kConfirmed;
  if (v == "finalized") return Commitment::kFinalized;
  return malformed("unknown commitment " + v.dump());
}

Result<std::vector<std::optional<SignatureStatus>>> parse_signature_statuses(const json& result,
                                                                             std::size_t expected) {
  QTW_ASSIGN_OR_RETURN(const json* value, member(result, "value", "getSignatureStatuses"));
  if (!value->is_array() || value->size() != expected) {
    return malformed("getSignatureStatuses: expected an array of " + std::to_string(expected) +
                     " entries");
  }
  std::vector<std::optional<SignatureStatus>> out;
  out.reserve(expected);
  for (const auto& v : *value) {
    if (v.is_null()) {
      out.emplace_back();
      continue;
    }
    SignatureStatus s;
    QTW_ASSIGN_OR_RETURN(const json* slot, member(v, "slot", "signature status"));
    QTW_ASSIGN_OR_RETURN(s.slot, parse_u64(*slot, "signature status slot"));
    if (auto c = v.find("confirmations"); c != v.end() && !c->is_null()) {
      QTW_ASSIGN_OR_RETURN(std::uint64_t n, parse_u64(*c, "confirmations"));
      s.confirmations = n;
    }
    if (auto e = v.find("err"); e != v.end()) s.err = err_text(*e);
    if (auto cs = v.find("confirmationStatus"); cs != v.end() && !cs->is_null()) {
      QTW_ASSIGN_OR_RETURN(s.confirmation_status, parse_commitment(*cs));
    } else {
      // Old nodes: confirmations == null means rooted (getsignaturestatuses.mdx).
      s.confirmation_status = s.confirmations ? Commitment::kProcessed : Commitment::kFinalized;
    }
    out.emplace_back(std::move(s));
  }
  return out;
}

Result<std::vector<SignatureInfo>> parse_signatures_for_address(const json& result) {
  if (!result.is_array()) return malformed("getSignaturesForAddress: expected an array");
  std::vector<SignatureInfo> out;
  out.reserve(result.size());
  for (const auto& v : result) {
    SignatureInfo info;
    QTW_ASSIGN_OR_RETURN(const json* sig, member(v, "signature", "getSignaturesForAddress"));
    QTW_ASSIGN_OR_RETURN(info.signature, parse_signature(*sig));
    QTW_ASSIGN_OR_RETURN(const json* slot, member(v, "slot", "getSignaturesForAddress"));
    QTW_ASSIGN_OR_RETURN(info.slot, parse_u64(*slot, "getSignaturesForAddress slot"));
    if (auto e = v.find("err"); e != v.end()) info.err = err_text(*e);
    if (auto m = v.find("memo"); m != v.end() && m->is_string()) info.memo = m->get<std::string>();
    info.block_time = opt_i64(v, "blockTime");
    if (auto cs = v.find("confirmationStatus"); cs != v.end() && !cs->is_null()) {
      QTW_ASSIGN_OR_RETURN(Commitment c, parse_commitment(*cs));
      info.confirmation_status = c;
    }
    out.push_back(std::move(info));
  }
  return out;
}

Result<std::vector<PrioritizationFee>> parse_prioritization_fees(const json& result) {
  if (!result.is_array()) return malformed("getRecentPrioritizationFees: expected an array");
  std::vector<PrioritizationFee> out;
  out.reserve(result.size());
  for (const auto& v : result) {
    PrioritizationFee f;
    QTW_ASSIGN_OR_RETURN(const json* slot, member(v, "slot", "getRecentPrioritizationFees"));
    QTW_ASSIGN_OR_RETURN(f.slot, parse_u64(*slot, "prioritization fee slot"));
    QTW_ASSIGN_OR_RETURN(const json* fee,
                         member(v, "prioritizationFee", "getRecentPrioritizationFees"));
    QTW_ASSIGN_OR_RETURN(f.micro_lamports_per_cu, parse_u64(*fee, "prioritizationFee"));
    out.push_back(f);
  }
  return out;
}

Result<std::optional<TransactionInfo>> parse_transaction(const json& result) {
  if (result.is_null()) return std::optional<TransactionInfo>{};
  TransactionInfo out;
  QTW_ASSIGN_OR_RETURN(const json* slot, member(result, "slot", "getTransaction"));
  QTW_ASSIGN_OR_RETURN(out.slot, parse_u64(*slot, "getTransaction slot"));
  out.block_time = opt_i64(result, "blockTime");
  QTW_ASSIGN_OR_RETURN(const json* meta, member(result, "meta", "getTransaction"));
  if (!meta->is_object()) return malformed("getTransaction: meta is not an object");
  QTW_ASSIGN_OR_RETURN(const json* fee, member(*meta, "fee", "getTransaction meta"));
  QTW_ASSIGN_OR_RETURN(out.fee_lamports, parse_u64(*fee, "getTransaction fee"));
  if (auto e = meta->find("err"); e != meta->end()) out.err = err_text(*e);
  for (const char* key : {"preBalances", "postBalances"}) {
    auto& dest = key[1] == 'r' ? out.pre_balances : out.post_balances;
    if (auto b = meta->find(key); b != meta->end() && b->is_array()) {
      for (const auto& x : *b) {
        QTW_ASSIGN_OR_RETURN(std::uint64_t lamports, parse_u64(x, key));
        dest.push_back(lamports);
      }
    }
  }
  if (auto logs = meta->find("logMessages"); logs != meta->end()) {
    QTW_ASSIGN_OR_RETURN(out.log_messages, parse_string_array(*logs, "logMessages"));
  }
  return std::optional<TransactionInfo>(std::move(out));
}

}  // namespace qtw::rpc::detail
