// SQLite-only behaviour: file creation and mode, migrations and version
// checks, refusal of corrupt/foreign files, the append-only audit trigger.
#include "qtw/store/sqlite_store.h"

#include "qtw/store/audit_chain.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

namespace qtw::store {
namespace {

KeyFilter filter(std::optional<KeyTier> tier, std::optional<KeyState> state = std::nullopt,
                 std::optional<std::int64_t> bank = std::nullopt, std::size_t limit = 0) {
  KeyFilter f;
  f.tier = tier;
  f.state = state;
  f.funding_bank_id = bank;
  f.limit = limit;
  return f;
}

std::vector<char> read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::filesystem::path& p, const std::vector<char>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct FileSnapshot {
  std::vector<char> bytes;
  std::filesystem::file_time_type mtime;
  static FileSnapshot of(const std::filesystem::path& p) {
    return {read_all(p), std::filesystem::last_write_time(p)};
  }
  bool operator==(const FileSnapshot&) const = default;
};

void raw_exec(const std::filesystem::path& p, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(p.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

solana::Pubkey pk(std::uint8_t n) {
  solana::Pubkey p;
  p.bytes.fill(n);
  return p;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qtw-sqlite-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ / "qtw.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<std::unique_ptr<KeyStore>> open(bool create = false) {
    SqliteStoreOptions o;
    o.create_if_missing = create;
    return open_sqlite_store(path_, o);
  }

  // A closed store holding a wallet, a Bank and 50 Explorers.
  void make_populated() {
    auto s = open(true);
    ASSERT_TRUE(s.has_value()) << to_string(s.error());
    const std::vector<std::uint8_t> sealed(100, 0x5a);
    ASSERT_TRUE((*s)->create_wallet(sealed));
    auto bank = (*s)->add_bank(0, pk(1));
    ASSERT_TRUE(bank.has_value());
    ASSERT_TRUE((*s)->reserve_explorers(bank->id, 50, [](std::uint32_t j) -> Result<solana::Pubkey> {
      solana::Pubkey p;
      p.bytes.fill(static_cast<std::uint8_t>(j + 10));
      p.bytes[0] = 0xEE;
      return p;
    }));
  }

  std::filesystem::path dir_;
  std::filesystem::path path_;
};

TEST_F(SqliteStoreTest, MissingStoreIsNotFoundAndNotCreated) {
  auto s = open(false);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("qtw init"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(SqliteStoreTest, CreatesFile0600InWalModeAtCurrentSchema) {
  auto s = open(true);
  ASSERT_TRUE(s.has_value()) << to_string(s.error());
  ASSERT_TRUE((*s)->add_bank(0, pk(1)));  // forces the WAL to exist
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto wal = path_.string() + "-wal";
  ASSERT_EQ(::stat(wal.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ((*s)->describe(), "sqlite:" + path_.string());
  s->reset();

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  auto q = [&](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    std::string v(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    sqlite3_finalize(stmt);
    return v;
  };
  EXPECT_EQ(q("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(q("PRAGMA user_version"), std::to_string(kSqliteSchemaVersion));
  EXPECT_EQ(q("PRAGMA application_id"), std::to_string(kSqliteApplicationId));
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, DataSurvivesReopen) {
  make_populated();
  auto s = open(false);
  ASSERT_TRUE(s.has_value()) << to_string(s.error());
  EXPECT_EQ((*s)->get_wallet()->sealed_seed, std::vector<std::uint8_t>(100, 0x5a));
  EXPECT_EQ((*s)->list_keys(filter(KeyTier::Explorer))->size(), 50u);
  EXPECT_EQ((*s)->get_key(pk(1))->next_child_index, 50u);
}

TEST_F(SqliteStoreTest, NewerSchemaIsRefusedAndFileUntouched) {
  make_populated();
  raw_exec(path_, "PRAGMA user_version = 99");
  const auto before = FileSnapshot::of(path_);
  auto s = open(true);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kSchemaTooNew);
  EXPECT_NE(s.error().message.find("99"), std::string::npos);
  EXPECT_EQ(exit_code_for(s.error().code), 2);
  EXPECT_TRUE(FileSnapshot::of(path_) == before);
}

TEST_F(SqliteStoreTest, OlderSchemaIsMigrated) {
  // A version-0 store is an empty, never-migrated file: opening migrates it.
  raw_exec(path_, "PRAGMA user_version = 0");
  ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);
  auto s = open(false);
  ASSERT_TRUE(s.has_value()) << to_string(s.error());
  EXPECT_TRUE((*s)->add_bank(0, pk(1)).has_value());
}

TEST_F(SqliteStoreTest, Version1StoreGainsTheColdHodlTables) {
  // A store written before the cold HODL migration (v3: no nonce/top-up
  // tables) keeps its data and gets migration 3 on open.
  make_populated();
  raw_exec(path_, "DROP TABLE topup_transfers; DROP TABLE topup_requests; "
                  "DROP TABLE nonce_accounts; PRAGMA user_version = 2");
  auto s = open(false);
  ASSERT_TRUE(s.has_value()) << to_string(s.error());
  EXPECT_EQ((*s)->list_keys(filter(KeyTier::Explorer))->size(), 50u);
  EXPECT_TRUE((*s)->list_topup_requests(std::nullopt)->empty());
  EXPECT_TRUE((*s)->list_nonce_accounts()->empty());
}

// A store written by the v1 schema (tests/data/store_v1.sql) opens, migrates
// to the current schema with every row, id, reference and state intact, and
// then accepts the stranded state it could not hold before.
TEST_F(SqliteStoreTest, V1StoreFileMigratesAndKeepsEveryKey) {
  std::ifstream in(std::string(QTW_SOURCE_DIR) + "/tests/data/store_v1.sql");
  ASSERT_TRUE(in.good());
  const std::string dump{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  raw_exec(path_, dump.c_str());
  ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);
  {
    // The v1 CHECK refuses state 8: the reason for the migration.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    EXPECT_NE(sqlite3_exec(db, "UPDATE keys SET state = 8 WHERE id = 5", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = open(false);
  ASSERT_TRUE(s.has_value()) << to_string(s.error());
  auto& st = **s;
  EXPECT_EQ(st.get_wallet()->schema_version, kSqliteSchemaVersion);
  auto all = st.list_keys(filter(std::nullopt));
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 9u);
  const KeyState want[] = {KeyState::kUsed, KeyState::kRetired, KeyState::kAvailable,
                           KeyState::kDraining, KeyState::kDropped};
  auto explorers = st.list_keys(filter(KeyTier::Explorer));
  ASSERT_EQ(explorers->size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(explorers->at(i).id, static_cast<std::int64_t>(5 + i));
    EXPECT_EQ(explorers->at(i).state, want[i]);
    EXPECT_EQ(explorers->at(i).explorer_index, i);
    EXPECT_EQ(explorers->at(i).funding_bank_id, 3);
    EXPECT_TRUE(explorers->at(i).stranded_reason.empty());
  }
  EXPECT_EQ(st.get_key_by_id(3)->next_child_index, 5u);
  EXPECT_TRUE(st.get_key_by_id(2)->watch_only());
  EXPECT_EQ(st.funding_bank_of(explorers->at(0).pubkey)->id, 3);
  // The new state, its reason, and the old unique indexes still enforced.
  ASSERT_TRUE(st.transition(explorers->at(0).pubkey, KeyState::kUsed, KeyState::kStranded,
                            "data allocated (80 bytes)"));
  EXPECT_EQ(st.get_key_by_id(5)->stranded_reason, "data allocated (80 bytes)");
  EXPECT_FALSE(st.add_bank(0, pk(0x42)).has_value());
  auto more = st.reserve_explorers(3, 2, [](std::uint32_t j) -> Result<solana::Pubkey> {
    return pk(static_cast<std::uint8_t>(0x60 + j));
  });
  ASSERT_TRUE(more.has_value()) << to_string(more.error());
  EXPECT_EQ(more->at(0).explorer_index, 5u);
  s->reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  auto count = [&](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK);
    int rows = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW) ++rows;
    sqlite3_finalize(stmt);
    return rows;
  };
  EXPECT_EQ(count("PRAGMA foreign_key_check"), 0);
  EXPECT_EQ(count("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'keys' "
                  "AND name LIKE 'keys_%'"),
            6);
  EXPECT_EQ(count("SELECT name FROM sqlite_master WHERE name = 'keys_v2'"), 0);
  // A stranded key without a reason (or a reason on another state) is refused.
  EXPECT_NE(sqlite3_exec(db, "UPDATE keys SET stranded_reason = NULL WHERE id = 5", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE keys SET stranded_reason = 'x' WHERE id = 6", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, CorruptPagesAreRefusedAndFileUntouched) {
  make_populated();
  auto bytes = read_all(path_);
  ASSERT_GT(bytes.size(), 4096u * 3);
  // Scribble over page 3 (a b-tree page: header, cell pointers, cells),
  // keep the file header on page 1 intact so SQLite still opens it.
  for (std::size_t i = 4096 * 2; i < 4096 * 3; ++i) bytes[i] = static_cast<char>(i * 7 + 3);
  write_all(path_, bytes);
  const auto before = FileSnapshot::of(path_);
  auto s = open(false);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kCorrupt) << to_string(s.error());
  EXPECT_TRUE(FileSnapshot::of(path_) == before);
}

TEST_F(SqliteStoreTest, TruncatedFileIsRefusedAndFileUntouched) {
  make_populated();
  auto bytes = read_all(path_);
  bytes.resize(bytes.size() / 2 + 13);
  write_all(path_, bytes);
  const auto before = FileSnapshot::of(path_);
  auto s = open(false);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kCorrupt) << to_string(s.error());
  EXPECT_TRUE(FileSnapshot::of(path_) == before);
}

TEST_F(SqliteStoreTest, EmptyGarbageAndForeignFilesAreRefused) {
  write_all(path_, {});
  auto s = open(true);  // even with create: an empty file is not ours to fill
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kCorrupt);
  EXPECT_EQ(std::filesystem::file_size(path_), 0u);

  const std::string text = "this is not a database, it is a shopping list\n";
  std::vector<char> garbage(text.begin(), text.end());
  garbage.resize(8192, 'x');
  write_all(path_, garbage);
  s = open(false);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kCorrupt) << to_string(s.error());
  EXPECT_EQ(read_all(path_), garbage);

  std::filesystem::remove(path_);
  raw_exec(path_, "CREATE TABLE recipes (name TEXT)");
  const auto before = FileSnapshot::of(path_);
  s = open(false);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(s.error().message.find("not a qtw store"), std::string::npos);
  EXPECT_TRUE(FileSnapshot::of(path_) == before);
}

TEST_F(SqliteStoreTest, AuditLogIsAppendOnlyInTheFile) {
  make_populated();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit SET detail = 'x'", nullptr, nullptr, &err), SQLITE_OK);
  EXPECT_NE(std::string(err ? err : "").find("append-only"), std::string::npos);
  sqlite3_free(err);
  err = nullptr;
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit", nullptr, nullptr, &err), SQLITE_OK);
  sqlite3_free(err);
  sqlite3_close(db);
}

// An attacker with write access to the file (the append-only triggers
// dropped) edits, deletes, reorders or inserts audit rows: verify names the
// first bad entry each time.
TEST_F(SqliteStoreTest, AuditChainDetectsEditsDeletionsReorderingsAndInsertions) {
  make_populated();  // 52 rows: wallet.create, bank.add, 50 x explorer.reserve
  {
    auto s = open(false);
    ASSERT_TRUE(s.has_value());
    auto r = verify_audit_chain(**s);
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->first_bad_id) << r->problem;
    EXPECT_EQ(r->entries, 52u);
  }
  const auto pristine = read_all(path_);
  struct Case {
    const char* name;
    const char* sql;
    std::int64_t first_bad;
    const char* says;
  };
  const Case cases[] = {
      {"edit", "UPDATE audit SET detail = 'index 99' WHERE id = 10", 10, "edited"},
      {"edit actor", "UPDATE audit SET actor = 'someone' WHERE id = 52", 52, "edited"},
      {"delete", "DELETE FROM audit WHERE id = 10", 11, "deleted, inserted or moved"},
      {"delete first", "DELETE FROM audit WHERE id = 1", 2, "the start of the log"},
      {"reorder",
       "UPDATE audit SET id = -10 WHERE id = 10; UPDATE audit SET id = 10 WHERE id = 11; "
       "UPDATE audit SET id = 11 WHERE id = -10",
       10, "deleted, inserted or moved"},
      {"insert unchained",
       "INSERT INTO audit (id, at_ms, actor, action, detail) VALUES (30000, 1, 'x', 'y', 'z')",
       30000, "no hash"},
      {"insert with a made-up hash",
       "INSERT INTO audit (id, at_ms, actor, action, detail, prev_hash, hash) SELECT 30000, 1, 'x', "
       "'y', 'z', hash, zeroblob(32) FROM audit WHERE id = 52",
       30000, "edited"},
  };
  for (const auto& c : cases) {
    write_all(path_, pristine);
    ::chmod(path_.c_str(), 0600);
    std::filesystem::remove(path_.string() + "-wal");
    std::filesystem::remove(path_.string() + "-shm");
    raw_exec(path_, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;");
    raw_exec(path_, c.sql);
    auto s = open(false);
    ASSERT_TRUE(s.has_value()) << c.name;
    auto r = verify_audit_chain(**s);
    ASSERT_TRUE(r.has_value()) << c.name;
    ASSERT_TRUE(r->first_bad_id) << c.name << ": not detected";
    EXPECT_EQ(*r->first_bad_id, c.first_bad) << c.name << ": " << r->problem;
    EXPECT_NE(r->problem.find(c.says), std::string::npos) << c.name << ": " << r->problem;
  }
}

// A store from before the chain: its rows are chained by the migration, in
// the same transaction, and the append-only trigger is back afterwards.
TEST_F(SqliteStoreTest, MigrationChainsExistingAuditRows) {
  make_populated();
  raw_exec(path_,
           "DROP TABLE topup_transfers; DROP TABLE topup_requests; DROP TABLE nonce_accounts; "
           "DROP TRIGGER audit_no_update; ALTER TABLE audit DROP COLUMN prev_hash; "
           "ALTER TABLE audit DROP COLUMN hash; CREATE TRIGGER audit_no_update BEFORE UPDATE ON "
           "audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;");
  const std::string version = "PRAGMA user_version = " + std::to_string(kSqliteAuditChainVersion - 1);
  raw_exec(path_, version.c_str());
  auto s = open(false);
  ASSERT_TRUE(s.has_value()) << to_string(s.error());
  auto r = verify_audit_chain(**s);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->first_bad_id) << r->problem;
  EXPECT_EQ(r->entries, 52u);
  ASSERT_TRUE((*s)->append_audit(AuditRecord{0, 0, "cli", "after", std::nullopt, std::nullopt, ""}));
  EXPECT_EQ(verify_audit_chain(**s)->entries, 53u);
  s->reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit SET detail = 'x'", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

// One live holder per instance: a second store object (as a second process
// would) is refused, naming the holder's pid; a holder that dies (kill -9)
// frees it at once.
TEST_F(SqliteStoreTest, InstanceLockOneLiveProcess) {
  make_populated();
  auto a = open(false);
  auto b = open(false);
  ASSERT_TRUE(a && b);
  const LeaseOwner serve{"h", 1, "qtw serve/1"};
  ASSERT_TRUE((*a)->lock_instance(serve));
  auto refused = (*b)->lock_instance(LeaseOwner{"h", 2, "qtw serve/1"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_NE(refused.error().message.find("already running"), std::string::npos);
  EXPECT_NE(refused.error().message.find("pid " + std::to_string(::getpid())), std::string::npos)
      << refused.error().message;
  EXPECT_TRUE((*b)->lock_instance(LeaseOwner{"h", 2, "another"}));
  a->reset();  // the holder closes the store: free
  EXPECT_TRUE((*b)->lock_instance(LeaseOwner{"h", 2, "qtw serve/1"}));
  b->reset();

  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto mine = open(false);
    const bool ok = mine && (*mine)->lock_instance(serve).has_value();
    const char c = ok ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  auto again = open(false);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ((*again)->lock_instance(serve).error().code, ErrorCode::kConflict);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE((*again)->lock_instance(serve));
  ::close(ready[0]);
  ::close(ready[1]);
}

// qtw backup: a consistent copy, 0600, never over an existing file without
// overwrite, nothing left behind on failure, and the copy opens as a store.
TEST_F(SqliteStoreTest, BackupCopiesOnlineAndRefusesToOverwrite) {
  make_populated();
  auto live = open(false);  // a connection holding the store open, as the daemon would
  ASSERT_TRUE(live.has_value());
  ASSERT_TRUE((*live)->append_audit(AuditRecord{0, 0, "cli", "before backup", std::nullopt, std::nullopt, ""}));
  const auto out = dir_ / "copy.db";
  auto r = backup_sqlite_store(path_, out);
  ASSERT_TRUE(r.has_value()) << to_string(r.error());
  EXPECT_GT(r->bytes, 0u);
  struct stat st {};
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(out.string() + "-wal"));
  ASSERT_TRUE((*live)->append_audit(AuditRecord{0, 0, "cli", "after backup", std::nullopt, std::nullopt, ""}));
  auto again = backup_sqlite_store(path_, out);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  SqliteStoreOptions o;
  auto copy = open_sqlite_store(out, o);
  ASSERT_TRUE(copy.has_value()) << to_string(copy.error());
  EXPECT_EQ((*copy)->list_keys(filter(KeyTier::Explorer))->size(), 50u);
  auto chain = verify_audit_chain(**copy);
  ASSERT_TRUE(chain.has_value());
  EXPECT_FALSE(chain->first_bad_id) << chain->problem;
  EXPECT_EQ((*copy)->list_audit_tail(1)->front().record.action, "before backup");
  copy->reset();
  SqliteBackupOptions force;
  force.overwrite = true;
  ASSERT_TRUE(backup_sqlite_store(path_, out, force));
  EXPECT_EQ((*open_sqlite_store(out, o))->list_audit_tail(1)->front().record.action, "after backup");
  EXPECT_EQ(backup_sqlite_store(dir_ / "nope.db", dir_ / "x.db").error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(backup_sqlite_store(path_, dir_ / "no-such-dir" / "x.db"));
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
}

TEST_F(SqliteStoreTest, TwoConnectionsShareOneFile) {
  make_populated();
  auto a = open(false);
  auto b = open(false);
  ASSERT_TRUE(a && b);
  auto keys = (*a)->list_keys(filter(KeyTier::Explorer, std::nullopt, std::nullopt, 10));
  std::vector<solana::Pubkey> pks;
  for (const auto& r : *keys) pks.push_back(r.pubkey);
  ASSERT_TRUE((*a)->transition_many(pks, KeyState::kPending, KeyState::kAvailable, "funded"));
  const LeaseOwner oa{"h", 1, "a"};
  const LeaseOwner ob{"h", 2, "b"};
  auto ca = (*a)->claim_explorers(oa, 6, 1);
  auto cb = (*b)->claim_explorers(ob, 6, 1);
  ASSERT_TRUE(ca && cb);
  EXPECT_EQ(ca->size() + cb->size(), 10u);
  for (const auto& r : *cb) {
    for (const auto& q : *ca) EXPECT_NE(r.pubkey, q.pubkey);
  }
}

}  // namespace
}  // namespace qtw::store
