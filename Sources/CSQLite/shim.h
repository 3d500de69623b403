#ifndef DKRUN_CSQLITE_SHIM_H
#define DKRUN_CSQLITE_SHIM_H
// libsqlite3 for Swift. SQLITE_TRANSIENT is a macro casting -1 to a destructor, which Swift
// cannot import: one wrapper per bind that copies its bytes.
#include <sqlite3.h>

/// sqlite3_bind_text(statement, index, text, length, SQLITE_TRANSIENT): SQLite copies the text.
static inline int dk_sqlite3_bind_text(sqlite3_stmt *s, int i, const char *text, int length) {
    return sqlite3_bind_text(s, i, text, length, SQLITE_TRANSIENT);
}

/// sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL), which is variadic.
static inline int dk_sqlite3_no_checkpoint_on_close(sqlite3 *db) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0);
}
#endif
