#pragma once
// A thin RAII wrapper over SQLite 3: connections, prepared statements, IMMEDIATE transactions and
// schema migrations by version.
//
// Errors: SQL errors are not expected flow (the SQL is ours), so the wrapper throws SqliteError
// (a std::runtime_error carrying the SQLite message and result code) from every call, SQLITE_BUSY
// after busy_timeout included. Code at the edge (request handlers, main) catches it. Database::open,
// integrity_check and migrate also exist in Result form for start-up code that reports and exits.
//
// Threads: one Database per thread (or guarded by the caller); the statement cache is not locked.

#include <sqlite3.h>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace swarm {

/// Thrown for any SQLite failure; what() holds the SQLite message, the code name and the context.
class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& message) : std::runtime_error(message), m_code(code) {}
  /// The extended SQLite result code (e.g. SQLITE_BUSY, SQLITE_CONSTRAINT_UNIQUE).
  int code() const { return m_code; }
  /// The primary result code (low byte of code()).
  int primary_code() const { return m_code & 0xff; }
  /// True for SQLITE_BUSY/SQLITE_LOCKED: another connection holds the lock past busy_timeout.
  /// True for SQLITE_BUSY/SQLITE_LOCKED: another connection held the lock past busy_timeout.
  bool is_busy() const { return primary_code() == SQLITE_BUSY || primary_code() == SQLITE_LOCKED; }
  /// True for a constraint violation (UNIQUE, FOREIGN KEY, CHECK, NOT NULL).
  /// True for a constraint violation (UNIQUE, FOREIGN KEY, CHECK, NOT NULL).
  bool is_constraint() const { return primary_code() == SQLITE_CONSTRAINT; }

 private:
  int m_code;
};

using Blob = std::vector<std::uint8_t>;

/// A prepared statement; move-only, finalized on destruction.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// Binds an integer (bool included) to the 1-based parameter `index`.
  template <std::integral T>
  Statement& bind(int index, T value) {
    return bind_int64(index, static_cast<std::int64_t>(value));
  }
  /// Binds a floating-point value to parameter `index`.
  template <std::floating_point T>
  Statement& bind(int index, T value) {
    return bind_double(index, static_cast<double>(value));
  }
  /// Binds text (copied by SQLite) to parameter `index`.
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  /// Binds a blob (copied by SQLite) to parameter `index`.
  Statement& bind(int index, std::span<const std::uint8_t> value);
  Statement& bind(int index, const Blob& value) { return bind(index, std::span<const std::uint8_t>(value)); }
  /// Binds NULL to parameter `index`.
  Statement& bind(int index, std::nullptr_t);
  /// Binds the value, or NULL when the optional is empty.
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, nullptr);
  }
  /// Binds by parameter name including its prefix (":id", "@id", "$id"); throws if there is none.
  template <typename T>
  Statement& bind(const char* name, T&& value) {
    return bind(parameter_index(name), std::forward<T>(value));
  }
  template <typename T>
  Statement& bind(const std::string& name, T&& value) {
    return bind(parameter_index(name.c_str()), std::forward<T>(value));
  }
  /// The 1-based index of a named parameter; throws SqliteError when the statement has none.
  int parameter_index(const char* name) const;

  /// Runs one step: true when a row is available, false when the statement is done.
  bool step();
  /// Steps until done (for statements returning no rows); returns the number of rows changed.
  int run();
  /// Makes the statement runnable again and clears its bindings.
  void reset();

  /// Number of result columns.
  int column_count() const;
  /// Name of result column `col` (0-based, as are all column getters).
  std::string column_name(int col) const;
  /// True when column `col` of the current row is NULL.
  bool column_is_null(int col) const;
  /// Column `col` as an integer (NULL reads as 0).
  std::int64_t column_int64(int col) const;
  /// Column `col` as an int (truncated from int64).
  int column_int(int col) const { return static_cast<int>(column_int64(col)); }
  /// Column `col` as a double (NULL reads as 0.0).
  double column_double(int col) const;
  /// Column `col` as text, embedded NULs kept (NULL reads as "").
  std::string column_text(int col) const;
  /// Column `col` as bytes (NULL reads as empty).
  Blob column_blob(int col) const;
  /// Column `col`, or nullopt when it is NULL.
  std::optional<std::int64_t> column_optional_int64(int col) const;
  /// Column `col`, or nullopt when it is NULL.
  std::optional<double> column_optional_double(int col) const;
  /// Column `col`, or nullopt when it is NULL.
  std::optional<std::string> column_optional_text(int col) const;

  /// The SQL text the statement was prepared from.
  const char* sql() const;
  /// The raw handle, for SQLite calls the wrapper does not cover.
  sqlite3_stmt* handle() const { return m_stmt; }

 private:
  Statement& bind_int64(int index, std::int64_t value);
  Statement& bind_double(int index, double value);
  void check_bind(int rc, int index) const;

  sqlite3* m_db = nullptr;
  sqlite3_stmt* m_stmt = nullptr;
};

/// PRAGMA synchronous levels.
enum class Synchronous { off = 0, normal = 1, full = 2, extra = 3 };

struct DatabaseOptions {
  Synchronous synchronous = Synchronous::full;
  std::chrono::milliseconds busy_timeout{5000};
  bool foreign_keys = true;
  bool wal = true;  // ignored for ":memory:", which has no WAL
  bool read_only = false;
};

/// A connection; closed on destruction (after its cached statements).
class Database {
 public:
  /// Opens (creating if needed) `path` or ":memory:" and applies `options`; throws SqliteError.
  explicit Database(const std::string& path, const DatabaseOptions& options = {});
  ~Database();
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Like the constructor, but an io error instead of an exception.
  static Result<Database> open(const std::string& path, const DatabaseOptions& options = {});

  /// Runs one or more SQL statements that return no rows of interest.
  void exec(std::string_view sql);
  /// Prepares a statement owned by the caller.
  Statement prepare(std::string_view sql);
  /// A statement prepared once per connection and kept, reset and unbound before it is returned;
  /// a second cached() call with the same SQL resets the same object, so do not nest them.
  Statement& cached(const char* sql);
  /// Runs a query that returns one integer (e.g. "PRAGMA user_version"); nullopt when no row.
  std::optional<std::int64_t> query_int64(std::string_view sql);
  /// Runs a query that returns one text value; nullopt when no row or NULL.
  std::optional<std::string> query_text(std::string_view sql);

  /// Rowid of the last successful INSERT on this connection.
  std::int64_t last_insert_rowid() const;
  /// Rows changed by the last INSERT, UPDATE or DELETE.
  int changes() const;
  /// True between BEGIN and COMMIT/ROLLBACK.
  bool in_transaction() const;
  /// PRAGMA integrity_check: ok, or an io error listing what SQLite found.
  Status integrity_check();

  /// Runs f() (or f(*this)) inside a BEGIN IMMEDIATE transaction and commits; rolls back when f
  /// throws (rethrown) or returns a Result/Status that is not ok (returned as is).
  template <typename F>
  auto with_transaction(F&& f);

  /// The path the database was opened with.
  const std::string& path() const { return m_path; }
  /// The raw handle, for SQLite calls the wrapper does not cover.
  sqlite3* handle() const { return m_db; }

 private:
  void close() noexcept;

  sqlite3* m_db = nullptr;
  std::string m_path;
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> m_cache;
};

/// BEGIN IMMEDIATE on construction (takes the write lock now, so a busy database fails here and
/// not at the first write); ROLLBACK on destruction unless commit() ran.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  /// Commits; throws SqliteError on failure (the transaction is then rolled back by the destructor).
  void commit();
  /// Rolls back now; a no-op once committed or rolled back.
  void rollback() noexcept;
  /// True until commit() or rollback().
  /// True until commit() or rollback().
  bool active() const { return m_active; }

 private:
  Database& m_db;
  bool m_active = false;
};

namespace detail {
template <typename T>
concept HasOk = requires(const T& t) {
  { t.ok() } -> std::convertible_to<bool>;
};
}  // namespace detail

template <typename F>
auto Database::with_transaction(F&& f) {
  Transaction tx(*this);
  auto call = [&]() -> auto{
    if constexpr (std::is_invocable_v<F, Database&>) {
      return std::forward<F>(f)(*this);
    } else {
      return std::forward<F>(f)();
    }
  };
  using R = decltype(call());
  if constexpr (std::is_void_v<R>) {
    call();
    tx.commit();
  } else {
    R result = call();
    if constexpr (detail::HasOk<R>) {
      if (!result.ok()) return result;  // the destructor rolls back
    }
    tx.commit();
    return result;
  }
}

/// Free-function form of Database::with_transaction.
template <typename F>
auto with_transaction(Database& db, F&& f) {
  return db.with_transaction(std::forward<F>(f));
}

/// Brings the schema to version steps.size(): steps[i] moves version i to i+1 (kept in PRAGMA
/// user_version), each in its own IMMEDIATE transaction; conflict when the database is newer.
Status migrate(Database& db, const std::vector<std::string>& steps);

/// The schema version (PRAGMA user_version).
std::int64_t schema_version(Database& db);

}  // namespace swarm
