// The SQLite wrapper's statement cache: a statement is parsed once per
// connection and reused, reset and with its bindings cleared, so a reused
// statement never sees a previous call's parameters or rows.
#include "store/sqlite/sqlite_db.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace qtw::store::sqlite {
namespace {

class SqliteDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qtw-sqlite-db-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ / "t.db").close();  // an empty file is an empty database
    auto db = Db::open(dir_ / "t.db");
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    ASSERT_TRUE(db_.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT UNIQUE);"));
  }
  void TearDown() override {
    db_ = Db();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  Db db_;
};

TEST_F(SqliteDbTest, SameTextIsPreparedOnceAndReused) {
  const auto before = db_.cached_sql_count();
  for (int i = 0; i < 50; ++i) {
    auto st = db_.prepare("INSERT INTO t (k, v) VALUES (?, ?)");
    ASSERT_TRUE(st);
    st->bind(1, std::int64_t{i}).bind_text(2, "v" + std::to_string(i));
    ASSERT_TRUE(st->run());
  }
  EXPECT_EQ(db_.cached_sql_count(), before + 1);
  auto n = db_.query_int("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 50);
}

TEST_F(SqliteDbTest, ReusedStatementHasNoBindingsOrRowsLeft) {
  ASSERT_TRUE(db_.exec("INSERT INTO t (k, v) VALUES (1, 'one')"));
  ASSERT_TRUE(db_.exec("INSERT INTO t (k, v) VALUES (2, 'two')"));
  {
    auto st = db_.prepare("SELECT v FROM t WHERE k = ? OR ? IS NULL ORDER BY k");
    ASSERT_TRUE(st);
    st->bind(1, std::int64_t{2}).bind(2, std::int64_t{0});
    auto row = st->step();
    ASSERT_TRUE(row && *row);
    EXPECT_EQ(st->text(0), "two");
    // Abandoned mid-result: the cache resets it.
  }
  auto st = db_.prepare("SELECT v FROM t WHERE k = ? OR ? IS NULL ORDER BY k");
  ASSERT_TRUE(st);
  // Nothing bound: both parameters are NULL again, so every row matches
  // from the first (a statement not reset would continue after 'two').
  auto row = st->step();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ(st->text(0), "one");
}

TEST_F(SqliteDbTest, TwoLiveStatementsOfTheSameTextAreDistinct) {
  ASSERT_TRUE(db_.exec("INSERT INTO t (k, v) VALUES (1, 'one')"));
  ASSERT_TRUE(db_.exec("INSERT INTO t (k, v) VALUES (2, 'two')"));
  auto a = db_.prepare("SELECT v FROM t WHERE k = ?");
  auto b = db_.prepare("SELECT v FROM t WHERE k = ?");
  ASSERT_TRUE(a && b);
  a->bind(1, std::int64_t{1});
  b->bind(1, std::int64_t{2});
  ASSERT_TRUE(a->step().value_or(false));
  ASSERT_TRUE(b->step().value_or(false));
  EXPECT_EQ(a->text(0), "one");
  EXPECT_EQ(b->text(0), "two");
}

TEST_F(SqliteDbTest, FailedStepLeavesTheCachedStatementUsable) {
  ASSERT_TRUE(db_.exec("INSERT INTO t (k, v) VALUES (1, 'one')"));
  {
    auto st = db_.prepare("INSERT INTO t (k, v) VALUES (?, ?)");
    ASSERT_TRUE(st);
    st->bind(1, std::int64_t{2}).bind_text(2, "one");  // v is UNIQUE
    auto s = st->run();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::kAlreadyExists);
  }
  auto st = db_.prepare("INSERT INTO t (k, v) VALUES (?, ?)");
  ASSERT_TRUE(st);
  st->bind(1, std::int64_t{2}).bind_text(2, "two");
  EXPECT_TRUE(st->run());
}

TEST_F(SqliteDbTest, SchemaChangeAfterCachingIsSeen) {
  {
    auto st = db_.prepare("SELECT * FROM t");
    ASSERT_TRUE(st);
    ASSERT_TRUE(st->run());
  }
  ASSERT_TRUE(db_.exec("ALTER TABLE t ADD COLUMN w INTEGER NOT NULL DEFAULT 7;"));
  ASSERT_TRUE(db_.exec("INSERT INTO t (k, v) VALUES (1, 'one')"));
  auto st = db_.prepare("SELECT * FROM t");
  ASSERT_TRUE(st);
  ASSERT_TRUE(st->step().value_or(false));
  EXPECT_EQ(st->int64(2), 7);  // re-prepared against the new schema
}

TEST_F(SqliteDbTest, CacheIsBoundedAndUncachedTextsStillWork) {
  for (std::size_t i = 0; i < Db::kMaxCachedSql + 20; ++i) {
    auto n = db_.query_int("SELECT " + std::to_string(i));
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, static_cast<std::int64_t>(i));
  }
  EXPECT_EQ(db_.cached_sql_count(), Db::kMaxCachedSql);
}

TEST_F(SqliteDbTest, BadSqlAndEmptyExec) {
  auto st = db_.prepare("SELEC nonsense");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kStore);
  EXPECT_TRUE(db_.exec("   "));
  EXPECT_FALSE(db_.exec("INSERT INTO nowhere VALUES (1)"));
}

}  // namespace
}  // namespace qtw::store::sqlite
