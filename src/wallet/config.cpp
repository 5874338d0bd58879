#include "qtw/wallet/config.h"

#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>

#include <toml++/toml.h>

#include "qtw/solana/types.h"

namespace qtw::wallet {
namespace {

Error config_error(const std::string& what) { return Error{ErrorCode::kParse, what, 0}; }

// Reads one table, field by field, rejecting keys nobody asked for.
class TableReader {
 public:
  TableReader(const toml::table* table, std::string name) : table_(table), name_(std::move(name)) {}

  template <class Int>
  void integer(const char* key, Int& out) {
    const toml::node* node = find(key);
    if (node == nullptr || failed()) return;
    // is_integer() first: toml++'s value<int64_t>() converts a float by a
    // plain cast, undefined for 1e120 (found by fuzz_config_toml).
    if (!node->is_integer()) return fail(std::string(key) + " must be an integer");
    const auto v = node->value<std::int64_t>();
    if (!v) return fail(std::string(key) + " must be an integer");
    if (*v < 0 || static_cast<std::uint64_t>(*v) > std::numeric_limits<Int>::max()) {
      return fail(std::string(key) + " = " + std::to_string(*v) + " is out of range");
    }
    out = static_cast<Int>(*v);
  }

  void string(const char* key, std::string& out) {
    const toml::node* node = find(key);
    if (node == nullptr || failed()) return;
    const auto v = node->value<std::string>();
    if (!v || !node->is_string()) return fail(std::string(key) + " must be a string");
    out = *v;
  }

  void boolean(const char* key, bool& out) {
    const toml::node* node = find(key);
    if (node == nullptr || failed()) return;
    const auto v = node->value<bool>();
    if (!v || !node->is_boolean()) return fail(std::string(key) + " must be true or false");
    out = *v;
  }

  void strings(const char* key, std::vector<std::string>& out) {
    const toml::node* node = find(key);
    if (node == nullptr || failed()) return;
    const toml::array* arr = node->as_array();
    if (arr == nullptr) return fail(std::string(key) + " must be an array of strings");
    std::vector<std::string> v;
    for (const auto& item : *arr) {
      const auto s = item.value<std::string>();
      if (!s || !item.is_string()) return fail(std::string(key) + " must be an array of strings");
      v.push_back(*s);
    }
    out = std::move(v);
  }

  // Call after reading every known key.
  Status finish() {
    if (failed()) return tl::unexpected(*error_);
    if (table_ != nullptr) {
      for (const auto& [k, v] : *table_) {
        if (seen_.count(std::string(k.str())) == 0) {
          return tl::unexpected(config_error("unknown key [" + name_ + "] " + std::string(k.str())));
        }
      }
    }
    return {};
  }

 private:
  const toml::node* find(const char* key) {
    seen_.insert(key);
    if (table_ == nullptr) return nullptr;
    return table_->get(key);
  }
  bool failed() const { return error_.has_value(); }
  void fail(std::string what) {
    if (!error_) error_ = config_error("[" + name_ + "] " + what);
  }

  const toml::table* table_;
  std::string name_;
  std::set<std::string> seen_;
  std::optional<Error> error_;
};

}  // namespace

Result<WalletConfig> parse_config(std::string_view toml_text) {
  // Debian's toml++ is built with exceptions: catch them here so nothing
  // throws across our API.
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& err) {
    std::ostringstream msg;
    msg << "config line " << err.source().begin.line << ", column " << err.source().begin.column
        << ": " << err.description();
    return tl::unexpected(config_error(msg.str()));
  }
  static const char* kSections[] = {"rpc", "store", "balancer", "caps", "pool",
                                    "service", "policy", "metrics", "log"};
  for (const auto& [k, v] : root) {
    bool known = false;
    for (const char* s : kSections) known = known || k.str() == s;
    if (!known) return tl::unexpected(config_error("unknown section [" + std::string(k.str()) + "]"));
    if (!v.is_table()) {
      return tl::unexpected(config_error("[" + std::string(k.str()) + "] must be a table"));
    }
  }
  WalletConfig c;
  {
    TableReader r(root["rpc"].as_table(), "rpc");
    r.string("url", c.rpc.url);
    r.integer("timeout_ms", c.rpc.timeout_ms);
    r.boolean("batch_requests", c.rpc.batch_requests);
    QTW_TRY(r.finish());
  }
  {
    TableReader r(root["store"].as_table(), "store");
    r.string("path", c.store.path);
    r.integer("postgres_pool_size", c.store.postgres_pool_size);
    QTW_TRY(r.finish());
  }
  {
    TableReader r(root["balancer"].as_table(), "balancer");
    r.integer("min_explorer_keys", c.balancer.min_explorer_keys);
    r.integer("explorer_keys_to_create", c.balancer.explorer_keys_to_create);
    r.integer("lamports_per_explorer", c.balancer.lamports_per_explorer);
    r.integer("lamports_per_bank", c.balancer.lamports_per_bank);
    r.integer("bank_refill_percent", c.balancer.bank_refill_percent);
    r.boolean("fill_funding_transactions", c.balancer.fill_funding_transactions);
    r.integer("interval_ms", c.balancer.interval_ms);
    r.integer("leader_ttl_ms", c.balancer.leader_ttl_ms);
    r.integer("cu_price_micro_lamports", c.balancer.cu_price_micro_lamports);
    r.integer("cu_limit", c.balancer.cu_limit);
    r.boolean("classify_before_recovery", c.balancer.classify_before_recovery);
    r.integer("restore_explorer_gap", c.balancer.restore_explorer_gap);
    QTW_TRY(r.finish());
  }
  {
    TableReader r(root["caps"].as_table(), "caps");
    r.integer("max_lamports_per_explorer", c.caps.max_lamports_per_explorer);
    r.integer("max_bank_outflow_lamports_per_hour", c.caps.max_bank_outflow_lamports_per_hour);
    r.integer("max_hodl_outflow_lamports_per_hour", c.caps.max_hodl_outflow_lamports_per_hour);
    QTW_TRY(r.finish());
  }
  {
    TableReader r(root["pool"].as_table(), "pool");
    r.integer("claim_batch", c.pool.claim_batch);
    r.integer("lease_timeout_ms", c.pool.lease_timeout_ms);
    QTW_TRY(r.finish());
  }
  {
    TableReader r(root["service"].as_table(), "service");
    r.string("listen", c.service.listen);
    r.string("unix_socket", c.service.unix_socket);
    r.string("token_file", c.service.token_file);
    r.string("instance", c.service.instance);
    r.integer("lease_timeout_ms", c.service.lease_timeout_ms);
    QTW_TRY(r.finish());
  }
  {
    TableReader r(root["policy"].as_table(), "policy");
    auto& p = c.policy;
    r.boolean("deny_malformed", p.deny_malformed);
    r.boolean("deny_managed_signers", p.deny_managed_signers);
    r.boolean("deny_durable_nonce", p.deny_durable_nonce);
    r.boolean("deny_assign", p.deny_assign);
    r.boolean("deny_allocate", p.deny_allocate);
    r.boolean("deny_create_explorer", p.deny_create_explorer);
    r.boolean("deny_nonce", p.deny_nonce);
    r.boolean("deny_fund_nonce", p.deny_fund_nonce);
    r.boolean("deny_token_set_authority", p.deny_token_set_authority);
    r.boolean("deny_token_approve", p.deny_token_approve);
    r.boolean("deny_token_close_to_other", p.deny_token_close_to_other);
    r.boolean("deny_loader_authority", p.deny_loader_authority);
    r.boolean("deny_lookup_table_authority", p.deny_lookup_table_authority);
    std::uint64_t outflow = 0;
    bool has_outflow = root["policy"]["max_outflow_lamports"].node() != nullptr;
    r.integer("max_outflow_lamports", outflow);
    if (has_outflow) p.max_outflow_lamports = outflow;
    r.integer("max_priority_fee_lamports", p.max_priority_fee_lamports);
    r.strings("allowed_programs", p.allowed_programs);
    r.strings("denied_programs", p.denied_programs);
    QTW_TRY(r.finish());
  }
  {
    TableReader r(root["metrics"].as_table(), "metrics");
    r.string("otlp_endpoint", c.metrics.otlp_endpoint);
    r.integer("otlp_interval_ms", c.metrics.otlp_interval_ms);
    QTW_TRY(r.finish());
  }
  {
    TableReader r(root["log"].as_table(), "log");
    r.string("level", c.log.level);
    r.string("format", c.log.format);
    QTW_TRY(r.finish());
  }
  QTW_TRY(validate(c));
  return c;
}

Result<WalletConfig> load_config(const std::filesystem::path& path, bool must_exist) {
  std::ifstream in(path);
  if (!in) {
    if (!must_exist) return WalletConfig{};
    return make_error(ErrorCode::kNotFound, "config file " + path.string() + " not found");
  }
  std::stringstream buf;
  buf << in.rdbuf();
  auto parsed = parse_config(buf.str());
  if (!parsed) return tl::unexpected(with_context(parsed.error(), path.string()));
  return parsed;
}

Status validate(const WalletConfig& c) {
  auto bad = [](std::string what) { return make_error(ErrorCode::kInvalidArgument, std::move(what)); };
  const auto& b = c.balancer;
  if (b.lamports_per_explorer == 0) return bad("[balancer] lamports_per_explorer must be > 0");
  if (b.lamports_per_bank == 0) return bad("[balancer] lamports_per_bank must be > 0");
  if (b.lamports_per_explorer > c.caps.max_lamports_per_explorer) {
    return bad("[balancer] lamports_per_explorer (" + std::to_string(b.lamports_per_explorer) +
               ") exceeds [caps] max_lamports_per_explorer (" +
               std::to_string(c.caps.max_lamports_per_explorer) + ")");
  }
  if (b.interval_ms == 0) return bad("[balancer] interval_ms must be > 0");
  if (c.store.postgres_pool_size == 0 || c.store.postgres_pool_size > 1'000) {
    return bad("[store] postgres_pool_size must be 1..1000");
  }
  if (b.leader_ttl_ms < 1'000) return bad("[balancer] leader_ttl_ms must be at least 1000");
  if (b.bank_refill_percent > 100) return bad("[balancer] bank_refill_percent must be 0..100");
  if (b.restore_explorer_gap > 1'000'000) {
    return bad("[balancer] restore_explorer_gap must be 0 (automatic) .. 1000000");
  }
  if (c.pool.claim_batch == 0) return bad("[pool] claim_batch must be > 0");
  if (c.pool.lease_timeout_ms == 0) return bad("[pool] lease_timeout_ms must be > 0");
  for (const auto* list : {&c.policy.allowed_programs, &c.policy.denied_programs}) {
    for (const auto& id : *list) {
      if (!solana::Pubkey::from_base58(id)) {
        return bad("[policy] " +
                   std::string(list == &c.policy.allowed_programs ? "allowed_programs"
                                                                  : "denied_programs") +
                   ": '" + id + "' is not a base58 program id");
      }
    }
  }
  if (c.log.format != "text" && c.log.format != "json") return bad("[log] format must be text or json");
  return {};
}

}  // namespace qtw::wallet
