#include "qtw/wallet/config.h"
#include "qtw/wallet/key_manager.h"

#include <gtest/gtest.h>

#include <cctype>

namespace qtw::wallet {
namespace {

TEST(Config, EmptyTextGivesDocumentedDefaults) {
  auto c = parse_config("");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->balancer.min_explorer_keys, 5u);
  EXPECT_EQ(c->balancer.explorer_keys_to_create, 3u);
  EXPECT_EQ(c->balancer.lamports_per_explorer, 10'000'000u);
  EXPECT_EQ(c->balancer.lamports_per_bank, 100'000'000u);
  EXPECT_EQ(c->rpc.url, "http://127.0.0.1:8899");
  EXPECT_EQ(c->store.postgres_pool_size, 4u);
  EXPECT_TRUE(c->balancer.fill_funding_transactions);
  // The file's switch reaches the balancer (off: exact counts).
  auto off = parse_config("[balancer]\nfill_funding_transactions = false\n");
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_FALSE(off->balancer.fill_funding_transactions);
  EXPECT_FALSE(key_manager_options(*off).balancer.fill_funding_transactions);
  EXPECT_TRUE(key_manager_options(*c).balancer.fill_funding_transactions);
}

TEST(Config, ReadsEverySection) {
  auto c = parse_config(R"(
[rpc]
url = "http://127.0.0.1:9999"
batch_requests = false
[store]
path = "/var/lib/qtw/w.db"
postgres_pool_size = 8
[balancer]
min_explorer_keys = 40
lamports_per_explorer = 2000000
cu_price_micro_lamports = 1000
[pool]
claim_batch = 16
[log]
format = "json"
)");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->rpc.url, "http://127.0.0.1:9999");
  EXPECT_FALSE(c->rpc.batch_requests);
  EXPECT_EQ(c->store.path, "/var/lib/qtw/w.db");
  EXPECT_EQ(c->store.postgres_pool_size, 8u);
  EXPECT_EQ(c->balancer.min_explorer_keys, 40u);
  EXPECT_EQ(c->balancer.lamports_per_explorer, 2'000'000u);
  EXPECT_EQ(c->balancer.cu_price_micro_lamports, 1000u);
  EXPECT_EQ(c->pool.claim_batch, 16u);
  EXPECT_EQ(c->log.format, "json");
}

struct BadCase {
  const char* toml;
  const char* expect_in_message;
};

// The ctest name carries this (gtest_discover_tests), not the struct's bytes.
// Letters and digits only: the name stays a plain ctest name.
void PrintTo(const BadCase& c, std::ostream* os) {
  for (const char* p = c.expect_in_message; *p != '\0'; ++p) {
    *os << (std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_');
  }
}

class ConfigRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigRejects, WithAMessageNamingTheProblem) {
  auto c = parse_config(GetParam().toml);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find(GetParam().expect_in_message), std::string::npos)
      << c.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigRejects,
    ::testing::Values(
        BadCase{"[balancer]\nmin_explorer_kyes = 3\n", "unknown key [balancer] min_explorer_kyes"},
        BadCase{"[balancr]\n", "unknown section [balancr]"},
        BadCase{"[balancer]\nmin_explorer_keys = -1\n", "out of range"},
        BadCase{"[balancer]\nmin_explorer_keys = \"five\"\n", "must be an integer"},
        BadCase{"[balancer]\nmin_explorer_keys = 1e120\n", "must be an integer"},
        BadCase{"[balancer]\nlamports_per_explorer = 0\n", "must be > 0"},
        BadCase{"[balancer]\nlamports_per_explorer = 5000000000\n", "exceeds [caps]"},
        BadCase{"[rpc]\nurl = 3\n", "must be a string"},
        BadCase{"[store]\npostgres_pool_size = 0\n", "postgres_pool_size must be 1..1000"},
        BadCase{"[log]\nformat = \"xml\"\n", "text or json"},
        BadCase{"[rpc\nurl = 1", "config line 1"},
        BadCase{"[balancer]\nrestore_explorer_gap = 1000001\n", "restore_explorer_gap must be"}),
    // Test names from the expected message ("unknown_key__balancer_..."),
    // so a failure names the case instead of printing raw bytes.
    [](const ::testing::TestParamInfo<BadCase>& param_info) {
      std::string name = std::to_string(param_info.index) + "_";
      for (const char* c = param_info.param.expect_in_message; *c != '\0'; ++c) {
        name += std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_';
      }
      return name;
    });

TEST(Config, MissingFileIsDefaultsUnlessRequired) {
  EXPECT_TRUE(load_config("/nonexistent/qtw.toml", false));
  auto r = load_config("/nonexistent/qtw.toml", true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace qtw::wallet

namespace qtw::wallet {
namespace {

// The documented example config stays valid and says what the defaults are.
TEST(Config, DeployExampleParsesAndMatchesDefaults) {
  auto c = load_config(QTW_SOURCE_DIR "/deploy/qtw.toml", /*must_exist=*/true);
  ASSERT_TRUE(c) << c.error().message;
  const WalletConfig d;
  EXPECT_EQ(c->balancer.min_explorer_keys, d.balancer.min_explorer_keys);
  EXPECT_EQ(c->balancer.lamports_per_explorer, d.balancer.lamports_per_explorer);
  EXPECT_EQ(c->balancer.leader_ttl_ms, d.balancer.leader_ttl_ms);
  EXPECT_EQ(c->balancer.fill_funding_transactions, d.balancer.fill_funding_transactions);
  EXPECT_EQ(c->caps.max_bank_outflow_lamports_per_hour, d.caps.max_bank_outflow_lamports_per_hour);
  EXPECT_EQ(c->service.listen, d.service.listen);
  EXPECT_EQ(c->service.instance, d.service.instance);
  EXPECT_EQ(c->service.lease_timeout_ms, d.service.lease_timeout_ms);
  EXPECT_EQ(c->pool.lease_timeout_ms, d.pool.lease_timeout_ms);
  EXPECT_EQ(c->store.postgres_pool_size, d.store.postgres_pool_size);
  EXPECT_EQ(c->policy.deny_assign, d.policy.deny_assign);
  EXPECT_EQ(c->policy.deny_lookup_table_authority, d.policy.deny_lookup_table_authority);
  EXPECT_EQ(c->policy.max_outflow_lamports, d.policy.max_outflow_lamports);
  EXPECT_EQ(c->policy.max_priority_fee_lamports, d.policy.max_priority_fee_lamports);
  EXPECT_EQ(c->policy.allowed_programs, d.policy.allowed_programs);
  EXPECT_EQ(c->policy.denied_programs, d.policy.denied_programs);
  EXPECT_TRUE(validate(*c));
}

// [policy]: switches, caps and program lists; the outflow cap defaults to
// the Explorer's funding amount when unset (key_manager_options).
TEST(Config, PolicySection) {
  auto c = parse_config(
      "[balancer]\nlamports_per_explorer = 7000000\n"
      "[policy]\ndeny_assign = false\nmax_priority_fee_lamports = 0\n"
      "denied_programs = [\"TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA\"]\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->policy.deny_assign);
  EXPECT_TRUE(c->policy.deny_allocate);
  EXPECT_FALSE(c->policy.max_outflow_lamports.has_value());
  const auto o = key_manager_options(*c);
  EXPECT_FALSE(o.policy.deny_assign);
  EXPECT_EQ(o.policy.max_outflow_lamports, std::optional<std::uint64_t>(7'000'000));
  EXPECT_FALSE(o.policy.max_priority_fee_lamports.has_value());  // 0 = no cap
  ASSERT_EQ(o.policy.denied_programs.size(), 1u);
  EXPECT_TRUE(o.policy.allowed_programs.empty());

  auto none = parse_config("[policy]\nmax_outflow_lamports = 0\n");
  ASSERT_TRUE(none);
  EXPECT_FALSE(key_manager_options(*none).policy.max_outflow_lamports.has_value());

  EXPECT_FALSE(parse_config("[policy]\ndeny_everything = true\n"));      // unknown key
  EXPECT_FALSE(parse_config("[policy]\ndeny_assign = 1\n"));             // not a boolean
  EXPECT_FALSE(parse_config("[policy]\nallowed_programs = \"x\"\n"));  // not an array
  EXPECT_FALSE(parse_config("[policy]\nallowed_programs = [1]\n"));
  auto bad = parse_config("[policy]\ndenied_programs = [\"not-base58!\"]\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("denied_programs"), std::string::npos);
}

}  // namespace
}  // namespace qtw::wallet
