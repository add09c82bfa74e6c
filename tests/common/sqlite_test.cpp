#include "common/sqlite.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include "support/test_support.hpp"

namespace swarm {
namespace {

using test::TempDir;

std::string db_path(const TempDir& dir) { return (dir / "test.db").string(); }

TEST(Sqlite, OpensFileInWalModeWithFullSync) {
  TempDir dir;
  Database db(db_path(dir));
  EXPECT_EQ(db.query_text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(db.query_int64("PRAGMA synchronous"), 2);  // FULL
  EXPECT_EQ(db.query_int64("PRAGMA foreign_keys"), 1);
  EXPECT_EQ(db.query_int64("PRAGMA busy_timeout"), 5000);
}

TEST(Sqlite, OptionsAreApplied) {
  TempDir dir;
  DatabaseOptions opts;
  opts.synchronous = Synchronous::normal;
  opts.busy_timeout = std::chrono::milliseconds(123);
  opts.foreign_keys = false;
  Database db(db_path(dir), opts);
  EXPECT_EQ(db.query_int64("PRAGMA synchronous"), 1);
  EXPECT_EQ(db.query_int64("PRAGMA busy_timeout"), 123);
  EXPECT_EQ(db.query_int64("PRAGMA foreign_keys"), 0);
}

TEST(Sqlite, InMemoryDatabaseWorks) {
  Database db(":memory:");
  db.exec("CREATE TABLE t(x INTEGER)");
  db.prepare("INSERT INTO t VALUES (7)").run();
  EXPECT_EQ(db.query_int64("SELECT x FROM t"), 7);
}

TEST(Sqlite, OpenFailureIsAnError) {
  TempDir dir;
  EXPECT_THROW(Database((dir / "missing-dir" / "x.db").string()), SqliteError);
  auto r = Database::open((dir / "missing-dir" / "x.db").string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::io);
  EXPECT_NE(r.error().message.find("missing-dir"), std::string::npos);
}

TEST(Sqlite, BindsAndReadsAllTypes) {
  Database db(":memory:");
  db.exec("CREATE TABLE t(i INTEGER, d REAL, s TEXT, b BLOB, n TEXT)");
  auto ins = db.prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)");
  Blob blob{0x00, 0xff, 0x10, 0x00};
  ins.bind(1, std::int64_t{9'000'000'000}).bind(2, 2.5).bind(3, std::string("h\xc3\xa9llo\0x", 8)).bind(4, blob);
  ins.bind(5, nullptr);
  EXPECT_FALSE(ins.step());
  EXPECT_EQ(db.changes(), 1);
  EXPECT_EQ(db.last_insert_rowid(), 1);

  auto sel = db.prepare("SELECT i, d, s, b, n FROM t");
  ASSERT_TRUE(sel.step());
  EXPECT_EQ(sel.column_count(), 5);
  EXPECT_EQ(sel.column_name(2), "s");
  EXPECT_EQ(sel.column_int64(0), 9'000'000'000);
  EXPECT_DOUBLE_EQ(sel.column_double(1), 2.5);
  EXPECT_EQ(sel.column_text(2), std::string("h\xc3\xa9llo\0x", 8));  // embedded NUL survives
  EXPECT_EQ(sel.column_blob(3), blob);
  EXPECT_TRUE(sel.column_is_null(4));
  EXPECT_EQ(sel.column_optional_text(4), std::nullopt);
  EXPECT_EQ(sel.column_optional_int64(0), 9'000'000'000);
  EXPECT_EQ(sel.column_optional_double(1), 2.5);
  EXPECT_FALSE(sel.step());
}

TEST(Sqlite, BindsOptionalsBoolsAndNames) {
  Database db(":memory:");
  db.exec("CREATE TABLE t(a INTEGER, b TEXT, c REAL, e BLOB)");
  auto ins = db.prepare("INSERT INTO t VALUES (:a, @b, $c, :e)");
  std::optional<std::int64_t> none;
  ins.bind(":a", none)
      .bind("@b", std::optional<std::string>("x"))
      .bind("$c", std::optional<double>())
      .bind(":e", Blob{});
  ins.run();
  ins.reset();
  ins.bind(":a", true).bind(std::string("@b"), "literal").bind("$c", 1.0f).bind(":e", nullptr);
  ins.run();

  auto sel = db.prepare("SELECT a, b, c, e, typeof(e) FROM t ORDER BY rowid");
  ASSERT_TRUE(sel.step());
  EXPECT_TRUE(sel.column_is_null(0));
  EXPECT_EQ(sel.column_text(1), "x");
  EXPECT_TRUE(sel.column_is_null(2));
  EXPECT_EQ(sel.column_text(4), "blob");  // an empty blob stays a blob, not NULL
  ASSERT_TRUE(sel.step());
  EXPECT_EQ(sel.column_int(0), 1);
  EXPECT_EQ(sel.column_text(1), "literal");
  EXPECT_EQ(sel.column_double(2), 1.0);
  EXPECT_EQ(sel.column_text(4), "null");
  EXPECT_THROW(ins.bind(":nope", 1), SqliteError);
}

TEST(Sqlite, BadSqlGivesClearError) {
  Database db(":memory:");
  try {
    db.prepare("SELEC 1");
    FAIL() << "expected SqliteError";
  } catch (const SqliteError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("syntax error"), std::string::npos) << what;
    EXPECT_NE(what.find("SELEC 1"), std::string::npos) << what;
    EXPECT_EQ(e.primary_code(), SQLITE_ERROR);
  }
  try {
    db.exec("INSERT INTO nowhere VALUES (1)");
    FAIL() << "expected SqliteError";
  } catch (const SqliteError& e) {
    EXPECT_NE(std::string(e.what()).find("no such table: nowhere"), std::string::npos) << e.what();
  }
  EXPECT_THROW(db.prepare("SELECT 1; SELECT 2"), SqliteError);
  EXPECT_THROW(db.prepare("   "), SqliteError);
}

TEST(Sqlite, ConstraintViolationHasExtendedCode) {
  Database db(":memory:");
  db.exec(
      "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(p INTEGER REFERENCES p(id));"
      "CREATE TABLE u(x TEXT UNIQUE)");
  db.exec("INSERT INTO u VALUES ('a')");
  auto& st = db.cached("INSERT INTO u VALUES (?)");
  st.bind(1, "a");
  try {
    st.step();
    FAIL() << "expected SqliteError";
  } catch (const SqliteError& e) {
    EXPECT_TRUE(e.is_constraint());
    EXPECT_EQ(e.code(), SQLITE_CONSTRAINT_UNIQUE);
  }
  // The failed cached statement is usable again.
  auto& again = db.cached("INSERT INTO u VALUES (?)");
  EXPECT_EQ(&again, &st);
  again.bind(1, "b");
  EXPECT_FALSE(again.step());
  // foreign_keys is on by default.
  try {
    db.exec("INSERT INTO c VALUES (42)");
    FAIL() << "expected SqliteError";
  } catch (const SqliteError& e) {
    EXPECT_EQ(e.code(), SQLITE_CONSTRAINT_FOREIGNKEY);
  }
}

TEST(Sqlite, CachedStatementIsPreparedOnceAndReset) {
  Database db(":memory:");
  db.exec("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1), (2), (3)");
  auto& a = db.cached("SELECT x FROM t ORDER BY x");
  ASSERT_TRUE(a.step());
  EXPECT_EQ(a.column_int(0), 1);
  auto& b = db.cached("SELECT x FROM t ORDER BY x");
  EXPECT_EQ(&a, &b);
  ASSERT_TRUE(b.step());
  EXPECT_EQ(b.column_int(0), 1);  // starts over

  auto& c = db.cached("SELECT x FROM t WHERE x > ?");
  c.bind(1, 2);
  ASSERT_TRUE(c.step());
  EXPECT_EQ(c.column_int(0), 3);
  auto& d = db.cached("SELECT x FROM t WHERE x > ?");
  // Bindings were cleared: NULL compares false.
  EXPECT_FALSE(d.step());
}

TEST(Sqlite, TransactionCommits) {
  TempDir dir;
  {
    Database db(db_path(dir));
    db.exec("CREATE TABLE t(x INTEGER)");
    Transaction tx(db);
    EXPECT_TRUE(db.in_transaction());
    db.exec("INSERT INTO t VALUES (1)");
    tx.commit();
    EXPECT_FALSE(db.in_transaction());
  }
  Database db(db_path(dir));
  EXPECT_EQ(db.query_int64("SELECT count(*) FROM t"), 1);
}

TEST(Sqlite, TransactionRollsBackWithoutCommit) {
  Database db(":memory:");
  db.exec("CREATE TABLE t(x INTEGER)");
  {
    Transaction tx(db);
    db.exec("INSERT INTO t VALUES (1)");
  }
  EXPECT_FALSE(db.in_transaction());
  EXPECT_EQ(db.query_int64("SELECT count(*) FROM t"), 0);
}

TEST(Sqlite, WithTransactionRollsBackOnException) {
  Database db(":memory:");
  db.exec("CREATE TABLE t(x INTEGER)");
  EXPECT_THROW(db.with_transaction([&] {
    db.exec("INSERT INTO t VALUES (1)");
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_FALSE(db.in_transaction());
  EXPECT_EQ(db.query_int64("SELECT count(*) FROM t"), 0);

  int v = db.with_transaction([](Database& d) {
    d.exec("INSERT INTO t VALUES (5)");
    return 5;
  });
  EXPECT_EQ(v, 5);
  EXPECT_EQ(db.query_int64("SELECT count(*) FROM t"), 1);
}

TEST(Sqlite, WithTransactionRollsBackOnErrorResult) {
  Database db(":memory:");
  db.exec("CREATE TABLE t(x INTEGER)");
  Status s = with_transaction(db, [&]() -> Status {
    db.exec("INSERT INTO t VALUES (1)");
    return make_error(ErrorKind::conflict, "nope");
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(db.query_int64("SELECT count(*) FROM t"), 0);

  Result<int> r = with_transaction(db, [&]() -> Result<int> {
    db.exec("INSERT INTO t VALUES (2)");
    return 2;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(db.query_int64("SELECT count(*) FROM t"), 1);
}

TEST(Sqlite, BeginImmediateExcludesSecondWriter) {
  TempDir dir;
  Database first(db_path(dir));
  first.exec("CREATE TABLE t(x INTEGER)");
  DatabaseOptions opts;
  opts.busy_timeout = std::chrono::milliseconds(50);
  Database second(db_path(dir), opts);

  Transaction tx(first);
  auto start = std::chrono::steady_clock::now();
  try {
    Transaction other(second);
    FAIL() << "second writer got the lock";
  } catch (const SqliteError& e) {
    EXPECT_TRUE(e.is_busy()) << e.what();
    EXPECT_EQ(e.primary_code(), SQLITE_BUSY);
  }
  // busy_timeout was honoured: SQLite retried before giving up.
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(40));
  // Readers are not blocked under WAL.
  EXPECT_EQ(second.query_int64("SELECT count(*) FROM t"), 0);

  first.exec("INSERT INTO t VALUES (1)");
  tx.commit();
  Transaction later(second);
  second.exec("INSERT INTO t VALUES (2)");
  later.commit();
  EXPECT_EQ(first.query_int64("SELECT count(*) FROM t"), 2);
}

TEST(Sqlite, MigrationsApplyOnceAndAreIdempotent) {
  TempDir dir;
  std::vector<std::string> steps = {
      "CREATE TABLE a(x INTEGER)",
      "INSERT INTO a VALUES (1)",
  };
  {
    Database db(db_path(dir));
    EXPECT_EQ(schema_version(db), 0);
    ASSERT_TRUE(migrate(db, steps).ok());
    EXPECT_EQ(schema_version(db), 2);
    ASSERT_TRUE(migrate(db, steps).ok());  // nothing to do
    EXPECT_EQ(db.query_int64("SELECT count(*) FROM a"), 1);
  }
  steps.push_back("CREATE TABLE b(y TEXT); INSERT INTO a VALUES (2)");
  Database db(db_path(dir));
  ASSERT_TRUE(migrate(db, steps).ok());
  EXPECT_EQ(schema_version(db), 3);
  EXPECT_EQ(db.query_int64("SELECT count(*) FROM a"), 2);

  // A database newer than the program is refused.
  steps.pop_back();
  auto newer = migrate(db, steps);
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.error().kind, ErrorKind::conflict);
}

TEST(Sqlite, FailedMigrationStepRollsBackThatStepOnly) {
  Database db(":memory:");
  std::vector<std::string> steps = {
      "CREATE TABLE a(x INTEGER)",
      "CREATE TABLE b(y INTEGER); INSERT INTO nowhere VALUES (1)",
  };
  auto s = migrate(db, steps);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("version 2"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("nowhere"), std::string::npos) << s.error().message;
  EXPECT_EQ(schema_version(db), 1);
  EXPECT_EQ(db.query_int64("SELECT count(*) FROM sqlite_master WHERE name = 'b'"), 0);
  EXPECT_FALSE(db.in_transaction());
}

TEST(Sqlite, IntegrityCheckOk) {
  TempDir dir;
  Database db(db_path(dir));
  db.exec("CREATE TABLE t(x INTEGER PRIMARY KEY, y TEXT UNIQUE); INSERT INTO t(y) VALUES ('a'), ('b')");
  EXPECT_TRUE(db.integrity_check().ok());
}

TEST(Sqlite, IntegrityCheckReportsCorruption) {
  TempDir dir;
  auto path = db_path(dir);
  {
    DatabaseOptions opts;
    opts.wal = false;  // keep every page in the main file so the damage below lands there
    Database db(path, opts);
    db.exec(
        "PRAGMA journal_mode=DELETE; PRAGMA page_size=1024; VACUUM;"
        "CREATE TABLE t(x INTEGER PRIMARY KEY, y TEXT); CREATE INDEX ty ON t(y)");
    Transaction tx(db);
    auto& ins = db.cached("INSERT INTO t(y) VALUES (?)");
    for (int i = 0; i < 500; ++i) {
      ins.reset();
      ins.bind(1, "value-" + std::to_string(i));
      ins.run();
    }
    tx.commit();
  }
  // Scribble over the pages after the first two (the header and schema stay readable).
  std::string bytes = test::read_file(path);
  ASSERT_GT(bytes.size(), 8u * 1024);
  for (std::size_t i = 3 * 1024; i < 6 * 1024; ++i) bytes[i] = static_cast<char>(0x5a);
  test::write_file(path, bytes);

  DatabaseOptions opts;
  opts.wal = false;
  Database db(path, opts);
  auto s = db.integrity_check();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::io);
}

}  // namespace
}  // namespace swarm
