#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace switchyard::registry {

// An SQLite result code as a Status: an unreadable file is DataLoss, a
// violated constraint FailedPrecondition, a locked database Unavailable.
absl::Status SqliteError(sqlite3* db, int code);

// Runs one or more statements that return no rows.
absl::Status ExecuteSql(sqlite3* db, const char* sql);

// One prepared statement, finalized on scope exit. Bind from 1, read from 0.
// The first error (prepare, bind or step) sticks and shows in status().
class Statement {
 public:
  Statement(sqlite3* db, absl::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, absl::string_view text);
  Statement& Bind(int index, int64_t value);
  // For optional references: "" is stored as NULL, which a foreign key allows.
  Statement& BindOptional(int index, absl::string_view text);

  // True while a row is available; an error ends the loop.
  bool Next();
  // Runs a statement that returns no rows.
  absl::Status Run();
  const absl::Status& status() const { return status_; }

  // NULL reads as "" and 0.
  std::string Text(int column) const;
  int64_t Int(int column) const;

 private:
  void Check(int code);

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool done_ = false;
  absl::Status status_;
};

// A transaction that rolls back unless committed. Inside another one it is a
// savepoint, so a nested Apply that fails undoes only its own writes.
class Transaction {
 public:
  explicit Transaction(sqlite3* db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Whether BEGIN succeeded.
  const absl::Status& status() const { return status_; }
  absl::Status Commit();

 private:
  sqlite3* db_;
  bool nested_;
  bool open_ = false;
  absl::Status status_;
};

}  // namespace switchyard::registry
