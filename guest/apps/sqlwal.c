/*
 * sqlwal.c: SQLite in WAL mode (its -shm index is a MAP_SHARED file mapping): two connections, a
 * reader that keeps its snapshot while the writer commits, a checkpoint, a reopen. Built with gcc -static
 * against Debian's libsqlite3.a (glibc); prints what it reads, the same natively and in ukvm.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fails;

static int row(void *u, int n, char **v, char **c)
{
	(void)u, (void)c;
	for (int i = 0; i < n; i++)
		printf("%s%s", v[i] ? v[i] : "NULL", i + 1 < n ? "|" : "\n");
	return 0;
}

static void run(sqlite3 *db, const char *who, const char *sql)
{
	char *e = NULL;
	printf("%s> %s\n", who, sql);
	if (sqlite3_exec(db, sql, row, NULL, &e) != SQLITE_OK) {
		printf("error: %s\n", e ? e : "?");
		sqlite3_free(e);
		fails++;
	}
}

int main(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/sqlwal-%d.db", (int)getpid());
	sqlite3 *w, *r;
	if (sqlite3_open(path, &w) != SQLITE_OK || sqlite3_open(path, &r) != SQLITE_OK)
		return printf("open failed\n"), 1;
	run(w, "w", "PRAGMA journal_mode=WAL;");
	run(w, "w", "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);");
	run(w, "w", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<2000) "
		    "INSERT INTO t SELECT x, printf('row %d', x) FROM c;");
	/* The reader's transaction pins its snapshot through the shared index while the writer goes on. */
	run(r, "r", "BEGIN; SELECT count(*), sum(k) FROM t;");
	run(w, "w", "UPDATE t SET v = 'changed' WHERE k % 7 = 0; DELETE FROM t WHERE k > 1900;");
	run(r, "r", "SELECT count(*), sum(k), count(*) FILTER (WHERE v = 'changed') FROM t; COMMIT;");
	run(r, "r", "SELECT count(*), sum(k), count(*) FILTER (WHERE v = 'changed') FROM t;");
	run(w, "w", "PRAGMA wal_checkpoint(TRUNCATE);");
	run(w, "w", "INSERT INTO t VALUES (5000, 'after checkpoint');");
	run(r, "r", "SELECT v FROM t WHERE k = 5000;");
	sqlite3_close(r);
	sqlite3_close(w);
	/* Reopened: still WAL, the data intact. */
	if (sqlite3_open(path, &w) != SQLITE_OK)
		return printf("reopen failed\n"), 1;
	run(w, "w", "PRAGMA journal_mode; PRAGMA integrity_check; SELECT count(*), max(k) FROM t;");
	sqlite3_close(w);
	unlink(path);
	printf("sqlwal %s\n", fails ? "FAILED" : "ok");
	return fails != 0;
}
