#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace switchyard::registry {

// One prepared statement, finalized on scope exit. Bind from 1, read from 0.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    status_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int i, const std::string& v) {
    if (stmt_) sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, int64_t v) {
    if (stmt_) sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // True while a row is available; errors end the loop and show in Done().
  bool Next() {
    if (!stmt_) return false;
    status_ = sqlite3_step(stmt_);
    return status_ == SQLITE_ROW;
  }
  // Runs a statement that returns no rows.
  absl::Status Run() {
    Next();
    return Done();
  }
  absl::Status Done() const {
    if (status_ == SQLITE_OK || status_ == SQLITE_DONE || status_ == SQLITE_ROW) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("registry: ", sqlite3_errmsg(db_)));
  }
  std::string Text(int i) const {
    const unsigned char* t = sqlite3_column_text(stmt_, i);
    return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(stmt_, i)) : std::string();
  }
  int64_t Int(int i) const { return sqlite3_column_int64(stmt_, i); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int status_ = SQLITE_OK;
};

}  // namespace switchyard::registry
