#include "common/sqlite.hpp"

#include <string>

namespace swarm {

namespace {

SqliteError make_sqlite_error(sqlite3* db, int rc, std::string_view context) {
  // Prefer the connection's message, unless it describes some other, older error.
  bool from_db = db && (sqlite3_extended_errcode(db) & 0xff) == (rc & 0xff);
  int code = from_db ? sqlite3_extended_errcode(db) : rc;
  std::string msg = "sqlite: ";
  msg += from_db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (";
  msg += sqlite3_errstr(code);
  msg += ", code ";
  msg += std::to_string(code);
  msg += ")";
  if (!context.empty()) {
    msg += " in: ";
    msg += context;
  }
  return SqliteError(code, msg);
}

[[noreturn]] void throw_error(sqlite3* db, int rc, std::string_view context) {
  throw make_sqlite_error(db, rc, context);
}

const char* synchronous_name(Synchronous s) {
  switch (s) {
    case Synchronous::off:
      return "OFF";
    case Synchronous::normal:
      return "NORMAL";
    case Synchronous::full:
      return "FULL";
    case Synchronous::extra:
      return "EXTRA";
  }
  return "FULL";
}

}  // namespace

// ---- Statement ----

Statement::Statement(sqlite3* db, std::string_view sql) : m_db(db) {
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &m_stmt, &tail);
  if (rc != SQLITE_OK) throw_error(db, rc, sql);
  if (!m_stmt) throw SqliteError(SQLITE_MISUSE, "sqlite: empty statement: " + std::string(sql));
  // A second statement in the text would be silently ignored by prepare: refuse it instead.
  if (tail) {
    std::string_view rest(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail));
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      sqlite3_finalize(m_stmt);
      m_stmt = nullptr;
      throw SqliteError(SQLITE_MISUSE, "sqlite: more than one statement given to prepare: " + std::string(sql));
    }
  }
}

Statement::~Statement() {
  if (m_stmt) sqlite3_finalize(m_stmt);
}

Statement::Statement(Statement&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_stmt(std::exchange(other.m_stmt, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (m_stmt) sqlite3_finalize(m_stmt);
    m_db = std::exchange(other.m_db, nullptr);
    m_stmt = std::exchange(other.m_stmt, nullptr);
  }
  return *this;
}

void Statement::check_bind(int rc, int index) const {
  if (rc != SQLITE_OK) throw_error(m_db, rc, "bind parameter " + std::to_string(index) + " of: " + sql());
}

Statement& Statement::bind_int64(int index, std::int64_t value) {
  check_bind(sqlite3_bind_int64(m_stmt, index, value), index);
  return *this;
}

Statement& Statement::bind_double(int index, double value) {
  check_bind(sqlite3_bind_double(m_stmt, index, value), index);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  check_bind(sqlite3_bind_text64(m_stmt, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8), index);
  return *this;
}

Statement& Statement::bind(int index, std::span<const std::uint8_t> value) {
  // A null data pointer would bind NULL; an empty blob must stay an empty blob.
  static const std::uint8_t empty = 0;
  const void* data = value.empty() ? &empty : value.data();
  check_bind(sqlite3_bind_blob64(m_stmt, index, data, value.size(), SQLITE_TRANSIENT), index);
  return *this;
}

Statement& Statement::bind(int index, std::nullptr_t) {
  check_bind(sqlite3_bind_null(m_stmt, index), index);
  return *this;
}

int Statement::parameter_index(const char* name) const {
  int index = sqlite3_bind_parameter_index(m_stmt, name);
  if (index == 0) {
    throw SqliteError(SQLITE_RANGE, std::string("sqlite: no parameter named ") + name + " in: " + sql());
  }
  return index;
}

bool Statement::step() {
  int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  SqliteError error = make_sqlite_error(m_db, rc, sql());
  // Reset now so the statement (often a cached one) is usable again after the caller catches.
  sqlite3_reset(m_stmt);
  throw error;
}

int Statement::run() {
  while (step()) {
  }
  return sqlite3_changes(m_db);
}

void Statement::reset() {
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
}

int Statement::column_count() const { return sqlite3_column_count(m_stmt); }

std::string Statement::column_name(int col) const {
  const char* name = sqlite3_column_name(m_stmt, col);
  return name ? name : "";
}

bool Statement::column_is_null(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }

std::int64_t Statement::column_int64(int col) const { return sqlite3_column_int64(m_stmt, col); }

double Statement::column_double(int col) const { return sqlite3_column_double(m_stmt, col); }

std::string Statement::column_text(int col) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
  int size = sqlite3_column_bytes(m_stmt, col);
  return text ? std::string(text, static_cast<std::size_t>(size)) : std::string();
}

Blob Statement::column_blob(int col) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_stmt, col));
  int size = sqlite3_column_bytes(m_stmt, col);
  return data ? Blob(data, data + size) : Blob();
}

std::optional<std::int64_t> Statement::column_optional_int64(int col) const {
  if (column_is_null(col)) return std::nullopt;
  return column_int64(col);
}

std::optional<double> Statement::column_optional_double(int col) const {
  if (column_is_null(col)) return std::nullopt;
  return column_double(col);
}

std::optional<std::string> Statement::column_optional_text(int col) const {
  if (column_is_null(col)) return std::nullopt;
  return column_text(col);
}

const char* Statement::sql() const { return m_stmt ? sqlite3_sql(m_stmt) : ""; }

// ---- Database ----

Database::Database(const std::string& path, const DatabaseOptions& options) : m_path(path) {
  int flags = options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg =
        std::string("sqlite: cannot open ") + path + ": " + (m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc));
    int code = m_db ? sqlite3_extended_errcode(m_db) : rc;
    close();
    throw SqliteError(code, msg);
  }
  sqlite3_extended_result_codes(m_db, 1);
  try {
    sqlite3_busy_timeout(m_db, static_cast<int>(options.busy_timeout.count()));
    if (options.wal && path != ":memory:" && !path.empty() && !options.read_only) {
      auto mode = query_text("PRAGMA journal_mode=WAL");
      if (!mode || *mode != "wal") {
        throw SqliteError(SQLITE_ERROR, "sqlite: cannot switch " + path + " to WAL (journal_mode is " +
                                            mode.value_or("unknown") + ")");
      }
    }
    exec(std::string("PRAGMA synchronous=") + synchronous_name(options.synchronous));
    exec(options.foreign_keys ? "PRAGMA foreign_keys=ON" : "PRAGMA foreign_keys=OFF");
  } catch (...) {
    close();
    throw;
  }
}

Database::~Database() { close(); }

Database::Database(Database&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_path(std::move(other.m_path)), m_cache(std::move(other.m_cache)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    close();
    m_db = std::exchange(other.m_db, nullptr);
    m_path = std::move(other.m_path);
    m_cache = std::move(other.m_cache);
  }
  return *this;
}

void Database::close() noexcept {
  m_cache.clear();
  // close_v2 defers the close until statements still held by callers are finalized.
  if (m_db) sqlite3_close_v2(m_db);
  m_db = nullptr;
}

Result<Database> Database::open(const std::string& path, const DatabaseOptions& options) {
  try {
    return Database(path, options);
  } catch (const SqliteError& e) {
    return make_error(ErrorKind::io, e.what());
  }
}

void Database::exec(std::string_view sql) {
  // sqlite3_exec needs a NUL-terminated string.
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw SqliteError(sqlite3_extended_errcode(m_db), "sqlite: " + msg + " (" + sqlite3_errstr(rc) + ", code " +
                                                          std::to_string(sqlite3_extended_errcode(m_db)) +
                                                          ") in: " + text);
  }
}

Statement Database::prepare(std::string_view sql) { return Statement(m_db, sql); }

Statement& Database::cached(const char* sql) {
  auto it = m_cache.find(std::string_view(sql));
  if (it == m_cache.end()) {
    it = m_cache.emplace(sql, std::make_unique<Statement>(m_db, sql)).first;
  } else {
    it->second->reset();
  }
  return *it->second;
}

std::optional<std::int64_t> Database::query_int64(std::string_view sql) {
  Statement st(m_db, sql);
  if (!st.step()) return std::nullopt;
  return st.column_optional_int64(0);
}

std::optional<std::string> Database::query_text(std::string_view sql) {
  Statement st(m_db, sql);
  if (!st.step()) return std::nullopt;
  return st.column_optional_text(0);
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(m_db); }

int Database::changes() const { return sqlite3_changes(m_db); }

bool Database::in_transaction() const { return sqlite3_get_autocommit(m_db) == 0; }

Status Database::integrity_check() {
  try {
    Statement st(m_db, "PRAGMA integrity_check");
    std::string problems;
    while (st.step()) {
      std::string line = st.column_text(0);
      if (line == "ok") continue;
      if (!problems.empty()) problems += "; ";
      problems += line;
    }
    if (!problems.empty()) return make_error(ErrorKind::io, "integrity check of " + m_path + " failed: " + problems);
    return {};
  } catch (const SqliteError& e) {
    return make_error(ErrorKind::io, std::string("integrity check of ") + m_path + " failed: " + e.what());
  }
}

// ---- Transaction ----

Transaction::Transaction(Database& db) : m_db(db) {
  m_db.exec("BEGIN IMMEDIATE");
  m_active = true;
}

Transaction::~Transaction() { rollback(); }

void Transaction::commit() {
  if (!m_active) throw SqliteError(SQLITE_MISUSE, "sqlite: commit of a transaction that is not active");
  m_db.exec("COMMIT");
  m_active = false;
}

void Transaction::rollback() noexcept {
  if (!m_active) return;
  m_active = false;
  // SQLite may already have rolled back by itself (e.g. after SQLITE_FULL); ROLLBACK then fails harmlessly.
  if (m_db.in_transaction()) sqlite3_exec(m_db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

// ---- Migrations ----

std::int64_t schema_version(Database& db) { return db.query_int64("PRAGMA user_version").value_or(0); }

Status migrate(Database& db, const std::vector<std::string>& steps) {
  const auto target = static_cast<std::int64_t>(steps.size());
  std::int64_t version = 0;
  try {
    version = schema_version(db);
  } catch (const SqliteError& e) {
    return make_error(ErrorKind::io, e.what());
  }
  if (version > target) {
    return make_error(ErrorKind::conflict, "database " + db.path() + " has schema version " + std::to_string(version) +
                                               ", newer than this program's " + std::to_string(target));
  }
  while (version < target) {
    try {
      Transaction tx(db);
      // Re-read under the write lock: another process may have migrated meanwhile.
      version = schema_version(db);
      if (version >= target) break;
      db.exec(steps[static_cast<std::size_t>(version)]);
      db.exec("PRAGMA user_version=" + std::to_string(version + 1));
      tx.commit();
      ++version;
    } catch (const SqliteError& e) {
      return make_error(ErrorKind::io,
                        "schema migration to version " + std::to_string(version + 1) + " failed: " + e.what());
    }
  }
  return {};
}

}  // namespace swarm
