#ifndef DKRUN_CSQLITE_SHIM_H
#define DKRUN_CSQLITE_SHIM_H
// libsqlite3 for Swift. SQLITE_TRANSIENT is a macro casting -1 to a destructor, which Swift
// cannot import: one wrapper per bind that copies its bytes.
#include <sqlite3.h>

/// sqlite3_bind_text(statement, index, text, length, SQLITE_TRANSIENT): SQLite copies the text.
static inline int dk_sqlite3_bind_text(sqlite3_stmt *s, int i, const char *text, int length) {
    return sqlite3_bind_text(s, i, text, length, SQLITE_TRANSIENT);
}
#endif
