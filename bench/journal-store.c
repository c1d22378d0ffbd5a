/* Which embedded store for the relay's journal: commits per second and
   records per second for batches of 1, 4 and 16 records of about 1 KB,
   each batch one durable transaction (what a group commit costs), for
   SQLite in WAL mode with synchronous=FULL and =NORMAL and for LMDB
   (default, fsync on commit). docs/spool.md records a run and the choice.

   Build and run (not part of the build; LMDB only with -DWITH_LMDB):
     cc -O2 -DWITH_LMDB -o /tmp/journal-store bench/journal-store.c -lsqlite3 -llmdb
     /tmp/journal-store [DIR] [SECONDS_PER_CASE]
   DIR must be on the disk the journal will live on (default /var/tmp). */
#include <sqlite3.h>
#ifdef WITH_LMDB
#  include <lmdb.h>
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECORD_SIZE 1024

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "journal-store: %s: %s\n", what, why);
	exit(1);
}

static char record[RECORD_SIZE];
static unsigned long long next_id;

/* Returns commits per second for batches of batch records. */
static double bench_sqlite(const char *dir, const char *sync, unsigned int batch,
			   double secs)
{
	char path[512], sql[600];
	sqlite3 *db;
	sqlite3_stmt *ins;
	unsigned long commits = 0;
	double start;

	snprintf(path, sizeof(path), "%s/journal-bench-%s.db", dir, sync);
	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die(path, sqlite3_errmsg(db));
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;", sync);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE TABLE entries (id TEXT PRIMARY KEY, "
			 "record BLOB)", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO entries VALUES (?, ?)", -1,
			       &ins, NULL) != SQLITE_OK)
		die(path, sqlite3_errmsg(db));
	start = now();
	while (now() - start < secs) {
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		for (unsigned int i = 0; i < batch; i++) {
			char id[40];

			snprintf(id, sizeof(id), "%036llu", next_id++);
			sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_blob(ins, 2, record, RECORD_SIZE, SQLITE_STATIC);
			if (sqlite3_step(ins) != SQLITE_DONE)
				die("insert", sqlite3_errmsg(db));
			sqlite3_reset(ins);
		}
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			die("commit", sqlite3_errmsg(db));
		commits++;
	}
	secs = now() - start;
	sqlite3_finalize(ins);
	sqlite3_close(db);
	unlink(path);
	snprintf(sql, sizeof(sql), "%s-wal", path);
	unlink(sql);
	snprintf(sql, sizeof(sql), "%s-shm", path);
	unlink(sql);
	return commits / secs;
}

#ifdef WITH_LMDB
static double bench_lmdb(const char *dir, unsigned int batch, double secs)
{
	char path[512];
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *txn;
	unsigned long commits = 0;
	double start;
	int ret;

	snprintf(path, sizeof(path), "%s/journal-bench.mdb", dir);
	unlink(path);
	if ((ret = mdb_env_create(&env)) != 0 ||
	    (ret = mdb_env_set_mapsize(env, 1UL << 32)) != 0 ||
	    (ret = mdb_env_open(env, path, MDB_NOSUBDIR, 0600)) != 0)
		die(path, mdb_strerror(ret));
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, NULL, 0, &dbi);
	mdb_txn_commit(txn);
	start = now();
	while (now() - start < secs) {
		if ((ret = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
			die("begin", mdb_strerror(ret));
		for (unsigned int i = 0; i < batch; i++) {
			char id[40];
			MDB_val key = { 36, id }, val = { RECORD_SIZE, record };

			snprintf(id, sizeof(id), "%036llu", next_id++);
			if ((ret = mdb_put(txn, dbi, &key, &val, 0)) != 0)
				die("put", mdb_strerror(ret));
		}
		if ((ret = mdb_txn_commit(txn)) != 0)
			die("commit", mdb_strerror(ret));
		commits++;
	}
	secs = now() - start;
	mdb_env_close(env);
	unlink(path);
	snprintf(path, sizeof(path), "%s/journal-bench.mdb-lock", dir);
	unlink(path);
	return commits / secs;
}
#endif

int main(int argc, char *argv[])
{
	static const unsigned int batches[] = { 1, 4, 16 };
	const char *dir = argc > 1 ? argv[1] : "/var/tmp";
	double secs = argc > 2 ? atof(argv[2]) : 3.0, c;
	unsigned int i;

	memset(record, 'x', sizeof(record));
	printf("%-22s %6s %12s %12s\n", "store", "batch", "commits/s", "records/s");
	for (i = 0; i < 3; i++) {
		c = bench_sqlite(dir, "FULL", batches[i], secs);
		printf("%-22s %6u %12.0f %12.0f\n", "sqlite wal FULL", batches[i], c, c * batches[i]);
		c = bench_sqlite(dir, "NORMAL", batches[i], secs);
		printf("%-22s %6u %12.0f %12.0f\n", "sqlite wal NORMAL", batches[i], c, c * batches[i]);
#ifdef WITH_LMDB
		c = bench_lmdb(dir, batches[i], secs);
		printf("%-22s %6u %12.0f %12.0f\n", "lmdb (sync)", batches[i], c, c * batches[i]);
#endif
	}
	return 0;
}
