#include "libs/registry/sqlite_wrapper.h"

#include "absl/strings/str_cat.h"

namespace switchyard::registry {

absl::Status SqliteError(sqlite3* db, int code) {
  const std::string message = absl::StrCat("registry: ", db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
  switch (code & 0xff) {  // the primary code; extended codes carry detail only
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return absl::DataLossError(message);
    case SQLITE_CONSTRAINT:
      return absl::FailedPreconditionError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status ExecuteSql(sqlite3* db, const char* sql) {
  const int code = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return code == SQLITE_OK ? absl::OkStatus() : SqliteError(db, code);
}

Statement::Statement(sqlite3* db, absl::string_view sql) : db_(db) {
  Check(sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr));
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::Check(int code) {
  if (status_.ok() && code != SQLITE_OK && code != SQLITE_ROW && code != SQLITE_DONE) {
    status_ = SqliteError(db_, code);
  }
}

Statement& Statement::Bind(int index, absl::string_view text) {
  if (status_.ok()) {
    Check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
  }
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  if (status_.ok()) Check(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Statement& Statement::BindOptional(int index, absl::string_view text) {
  if (!text.empty()) return Bind(index, text);
  if (status_.ok()) Check(sqlite3_bind_null(stmt_, index));
  return *this;
}

bool Statement::Next() {
  if (done_ || !status_.ok()) return false;
  const int code = sqlite3_step(stmt_);
  Check(code);
  done_ = code != SQLITE_ROW;  // stepping again would rerun the statement
  return !done_;
}

absl::Status Statement::Run() {
  while (Next()) {
  }
  return status_;
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column));
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

Transaction::Transaction(sqlite3* db) : db_(db), nested_(sqlite3_get_autocommit(db) == 0) {
  // IMMEDIATE takes the write lock up front: a read-then-write transaction
  // never fails halfway because another writer got there first.
  status_ = ExecuteSql(db_, nested_ ? "SAVEPOINT apply" : "BEGIN IMMEDIATE");
  open_ = status_.ok();
}

Transaction::~Transaction() {
  // Errors are ignored: SQLite may already have rolled back on its own.
  if (open_) (void)ExecuteSql(db_, nested_ ? "ROLLBACK TO apply; RELEASE apply" : "ROLLBACK");
}

absl::Status Transaction::Commit() {
  if (!open_) return status_;
  absl::Status committed = ExecuteSql(db_, nested_ ? "RELEASE apply" : "COMMIT");
  if (committed.ok()) open_ = false;
  return committed;
}

}  // namespace switchyard::registry
