/* SQLite backend internals shared by its two files. */
#ifndef IXEDGE_STORE_SQLITE_PRIV_H
#define IXEDGE_STORE_SQLITE_PRIV_H

#include <sqlite3.h>

#include "store/store_priv.h"

#define SQ_CACHE 32

/* One connection and its prepared statements, keyed by their SQL text. */
struct sq {
	sqlite3 *db;
	struct {
		char *sql;
		sqlite3_stmt *stmt;
	} cache[SQ_CACHE];
	size_t next; /* cache slot to replace next */
};

int sq_open(struct store *st, const char *dir, struct store_err *err);
int sq_exec(sqlite3 *db, const char *sql);
/* SQLite result code (extended) to negative errno. */
int sq_errno(int rc);

#endif
