/* The relay's journal: SQLite in WAL mode (chosen by bench/journal-store.c,
   docs/spool.md). One row per notification the relay acknowledged and has
   not finished with: its record in the spool format (trusted fields only)
   and its retry state. */
#include "pushadm-relay.h"
#include "pushcore.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct relay_journal {
	sqlite3 *db;
	/* the configured policy, and whether commits fsync right now */
	bool sync_full, syncing;
	sqlite3_stmt *insert, *remove, *update, *retry_one;
	/* run once per loop turn: parsed once (the relay's profile showed
	   SQLite's parser beside its executor). Not the synchronous pragma:
	   SQLite applies it when it is prepared, not when it is run. */
	sqlite3_stmt *begin, *commit, *rollback;
	char error[512];
};

static const char *const schema =
	"CREATE TABLE IF NOT EXISTS entries ("
	" id TEXT NOT NULL,"
	" driver TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" user TEXT NOT NULL,"
	" attempts INTEGER NOT NULL,"
	" next_attempt INTEGER NOT NULL,"
	" last_error TEXT,"
	" record BLOB NOT NULL,"
	" PRIMARY KEY (id, driver)) WITHOUT ROWID";

static const char *journal_error(struct relay_journal *j, const char *what)
{
	snprintf(j->error, sizeof(j->error), "journal %s: %s", what,
		 sqlite3_errmsg(j->db));
	return j->error;
}

static int prepare(struct relay_journal *j, const char *sql,
		   sqlite3_stmt **stmt_r, const char **error_r)
{
	if (sqlite3_prepare_v2(j->db, sql, -1, stmt_r, NULL) != SQLITE_OK) {
		*error_r = journal_error(j, "prepare");
		return -1;
	}
	return 0;
}

/* SQLite's word for a damaged file, as opposed to a locked, unreadable
   or full one: only a damaged journal is moved aside. */
static bool damaged_code(int code)
{
	code &= 0xff;
	return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

/* The whole file read (the relay's start): 0.18 s for 100000 entries
   beside 0.73 s to load them. */
static bool journal_check(struct relay_journal *j, bool *damaged_r)
{
	sqlite3_stmt *stmt;
	const char *result = NULL;
	bool ok = false;

	/* (a failed prepare leaves stmt NULL, which finalize ignores) */
	if (sqlite3_prepare_v2(j->db, "PRAGMA quick_check", -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		*damaged_r = damaged_code(sqlite3_errcode(j->db));
		journal_error(j, "check");
	} else if ((result = (const char *)sqlite3_column_text(stmt, 0)) == NULL ||
		   strcmp(result, "ok") != 0) {
		/* its first finding names the damage */
		*damaged_r = true;
		snprintf(j->error, sizeof(j->error), "journal check: %s",
			 result == NULL ? "no result" : result);
	} else {
		ok = true;
	}
	sqlite3_finalize(stmt);
	return ok;
}

/* Closes j after a failure to open it; the error outlives j. */
static struct relay_journal *journal_open_failed(struct relay_journal **j,
						 const char **error_r)
{
	static char error[sizeof((*j)->error)];

	snprintf(error, sizeof(error), "%s", (*j)->error);
	*error_r = error;
	relay_journal_close(j);
	return NULL;
}

/* NULL with *error_r; *damaged_r says whether the file is damaged. */
static struct relay_journal *
journal_open(const char *path, bool sync_full, bool check, bool *damaged_r,
	     const char **error_r)
{
	struct relay_journal *j = pushcore_xmalloc(sizeof(*j));
	char pragmas[128];

	memset(j, 0, sizeof(*j));
	*damaged_r = false;
	j->sync_full = j->syncing = sync_full;
	if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		journal_error(j, path);
		return journal_open_failed(&j, error_r);
	}
	snprintf(pragmas, sizeof(pragmas), "PRAGMA journal_mode=WAL; "
		 "PRAGMA synchronous=%s;",
		 sync_full ? "FULL" : "NORMAL");
	/* a second relay on the same journal waits, bounded, then fails */
	sqlite3_busy_timeout(j->db, 2000);
	if (sqlite3_exec(j->db, pragmas, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(j->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		*damaged_r = damaged_code(sqlite3_errcode(j->db));
		journal_error(j, path);
		return journal_open_failed(&j, error_r);
	}
	if (check && !journal_check(j, damaged_r))
		return journal_open_failed(&j, error_r);
	if (prepare(j, "INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		    &j->insert, error_r) < 0 ||
	    prepare(j, "DELETE FROM entries WHERE id = ? AND driver = ?", &j->remove, error_r) < 0 ||
	    prepare(j, "UPDATE entries SET attempts = ?, next_attempt = ?, "
		    "last_error = ? WHERE id = ? AND driver = ?", &j->update, error_r) < 0 ||
	    prepare(j, "UPDATE entries SET next_attempt = ? WHERE id = ?",
		    &j->retry_one, error_r) < 0 ||
	    prepare(j, "BEGIN IMMEDIATE", &j->begin, error_r) < 0 ||
	    prepare(j, "COMMIT", &j->commit, error_r) < 0 ||
	    prepare(j, "ROLLBACK", &j->rollback, error_r) < 0)
		return journal_open_failed(&j, error_r);
	return j;
}

struct relay_journal *relay_journal_open(const char *path, bool sync_full,
					 const char **error_r)
{
	bool damaged;

	return journal_open(path, sync_full, false, &damaged, error_r);
}

void relay_journal_close(struct relay_journal **_j)
{
	struct relay_journal *j = *_j;

	if (j == NULL)
		return;
	*_j = NULL;
	sqlite3_finalize(j->insert);
	sqlite3_finalize(j->remove);
	sqlite3_finalize(j->update);
	sqlite3_finalize(j->retry_one);
	sqlite3_finalize(j->begin);
	sqlite3_finalize(j->commit);
	sqlite3_finalize(j->rollback);
	sqlite3_close(j->db);
	free(j);
}

/* Runs a prepared statement that returns no rows. */
static int run(struct relay_journal *j, sqlite3_stmt *stmt, const char *what,
	       const char **error_r)
{
	int ret = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	if (ret != SQLITE_DONE && ret != SQLITE_ROW) {
		*error_r = journal_error(j, what);
		return -1;
	}
	return 0;
}

int relay_journal_begin(struct relay_journal *j, bool acknowledged,
			const char **error_r)
{
	/* Only what the relay acknowledges must survive a power loss before
	   the ack. A transaction of outcomes alone (sent, retry times) may be
	   lost with the last moments before a crash: those notifications are
	   sent again, with their ids (at-least-once), so it need not wait for
	   the disk; the next acknowledged commit's fsync covers it. */
	bool sync = j->sync_full && acknowledged;

	if (sync != j->syncing) {
		if (sqlite3_exec(j->db, sync ? "PRAGMA synchronous=FULL" :
				 "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
			*error_r = journal_error(j, "synchronous");
			return -1;
		}
		j->syncing = sync;
	}
	return run(j, j->begin, "BEGIN", error_r);
}

int relay_journal_commit(struct relay_journal *j, const char **error_r)
{
	if (run(j, j->commit, "COMMIT", error_r) < 0) {
		relay_journal_rollback(j);
		return -1;
	}
	return 0;
}

void relay_journal_rollback(struct relay_journal *j)
{
	const char *error;

	if (!sqlite3_get_autocommit(j->db))
		(void)run(j, j->rollback, "ROLLBACK", &error);
}

static int step(struct relay_journal *j, sqlite3_stmt *stmt, const char *what,
		const char **error_r)
{
	int ret = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (ret != SQLITE_DONE) {
		*error_r = journal_error(j, what);
		return -1;
	}
	return 0;
}

int relay_journal_add(struct relay_journal *j, const struct pushcore_spool_entry *e,
		      const char **error_r)
{
	struct pushcore_buf rec;
	int ret;

	pushcore_buf_init(&rec);
	pushcore_spool_serialize(&rec, e);
	sqlite3_bind_text(j->insert, 1, e->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(j->insert, 2, e->driver, -1, SQLITE_STATIC);
	sqlite3_bind_int64(j->insert, 3, e->created_usecs);
	sqlite3_bind_text(j->insert, 4, e->user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(j->insert, 5, e->attempts);
	sqlite3_bind_int64(j->insert, 6, e->next_attempt);
	if (e->last_error != NULL)
		sqlite3_bind_text(j->insert, 7, e->last_error, -1, SQLITE_STATIC);
	sqlite3_bind_blob(j->insert, 8, rec.data, (int)rec.len, SQLITE_STATIC);
	ret = step(j, j->insert, "insert", error_r);
	pushcore_buf_free(&rec);
	if (ret == 0 && sqlite3_changes(j->db) == 0)
		ret = 1;
	return ret;
}

int relay_journal_remove(struct relay_journal *j, const char *id,
			 const char *driver, const char **error_r)
{
	sqlite3_bind_text(j->remove, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(j->remove, 2, driver, -1, SQLITE_STATIC);
	return step(j, j->remove, "delete", error_r);
}

int relay_journal_update(struct relay_journal *j, const char *id,
			 const char *driver, unsigned int attempts,
			 long long next_attempt, const char *last_error,
			 const char **error_r)
{
	sqlite3_bind_int64(j->update, 1, attempts);
	sqlite3_bind_int64(j->update, 2, next_attempt);
	if (last_error != NULL)
		sqlite3_bind_text(j->update, 3, last_error, -1, SQLITE_STATIC);
	sqlite3_bind_text(j->update, 4, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(j->update, 5, driver, -1, SQLITE_STATIC);
	return step(j, j->update, "update", error_r);
}

int relay_journal_retry(struct relay_journal *j, const char *const *ids,
			const char **error_r)
{
	long long now = (long long)time(NULL);
	int count = 0;

	if (ids == NULL) {
		sqlite3_stmt *all;

		if (prepare(j, "UPDATE entries SET next_attempt = ?", &all, error_r) < 0)
			return -1;
		sqlite3_bind_int64(all, 1, now);
		if (step(j, all, "update", error_r) < 0) {
			sqlite3_finalize(all);
			return -1;
		}
		sqlite3_finalize(all);
		return sqlite3_changes(j->db);
	}
	for (; *ids != NULL; ids++) {
		sqlite3_bind_int64(j->retry_one, 1, now);
		sqlite3_bind_text(j->retry_one, 2, *ids, -1, SQLITE_STATIC);
		if (step(j, j->retry_one, "update", error_r) < 0)
			return -1;
		count += sqlite3_changes(j->db);
	}
	return count;
}

int relay_journal_load(struct relay_journal *j,
		       void (*load)(const struct pushcore_spool_entry *e, void *context),
		       void *context, const char **error_r)
{
	sqlite3_stmt *stmt;
	struct pushcore_spool_entry *e;
	struct pushcore_pool *pool;
	const char *error;
	int ret, count = 0;

	if (prepare(j, "SELECT attempts, next_attempt, last_error, record "
		    "FROM entries ORDER BY created, id", &stmt, error_r) < 0)
		return -1;
	while ((ret = sqlite3_step(stmt)) == SQLITE_ROW) {
		pool = pushcore_pool_new();
		if (pushcore_spool_parse(pool, sqlite3_column_blob(stmt, 3),
					 (size_t)sqlite3_column_bytes(stmt, 3),
					 &e, &error) < 0) {
			/* only the relay writes here: a bug, not an attack */
			pushcore_log(PUSHCORE_LOG_ERROR, NULL, "journal: skipping "
				     "an unreadable record: %s", error);
		} else {
			e->attempts = (unsigned int)sqlite3_column_int64(stmt, 0);
			e->next_attempt = sqlite3_column_int64(stmt, 1);
			if (sqlite3_column_type(stmt, 2) != SQLITE_NULL)
				e->last_error = pushcore_pstrdup(pool,
					(const char *)sqlite3_column_text(stmt, 2));
			load(e, context);
			count++;
		}
		pushcore_pool_free(&pool);
	}
	if (ret != SQLITE_DONE) {
		*error_r = journal_error(j, "select");
		count = -1;
	}
	sqlite3_finalize(stmt);
	return count;
}

/* Moves path and its WAL files to aside (the WAL belongs to it). */
static int journal_move_aside(const char *path, const char *aside,
			      const char **error_r)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	static char error[700];
	char from[600], to[600];
	unsigned int i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(from, sizeof(from), "%s%s", path, suffixes[i]);
		snprintf(to, sizeof(to), "%s%s", aside, suffixes[i]);
		if (rename(from, to) < 0 && errno != ENOENT) {
			snprintf(error, sizeof(error), "journal %s is damaged and "
				 "can't be moved aside to %s: %s", path, to,
				 strerror(errno));
			*error_r = error;
			return -1;
		}
	}
	return 0;
}

/* Copies the entries that can still be read from the damaged file
   aside into j (in key order: up to the first damaged page). */
static int journal_salvage(struct relay_journal *j, const char *aside)
{
	sqlite3 *from;
	sqlite3_stmt *stmt = NULL;
	const char *error;
	int i, count = 0;

	if (sqlite3_open_v2(aside, &from, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(from, "SELECT id, driver, created, user, attempts, "
			       "next_attempt, last_error, record FROM entries",
			       -1, &stmt, NULL) != SQLITE_OK ||
	    relay_journal_begin(j, true, &error) < 0) {
		sqlite3_finalize(stmt);
		sqlite3_close(from);
		return 0;
	}
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		for (i = 0; i < 8; i++)
			sqlite3_bind_value(j->insert, i + 1, sqlite3_column_value(stmt, i));
		if (step(j, j->insert, "insert", &error) == 0)
			count++;
	}
	sqlite3_finalize(stmt);
	sqlite3_close(from);
	return relay_journal_commit(j, &error) < 0 ? 0 : count;
}

struct relay_journal *relay_journal_open_repairing(const char *path, bool sync_full,
						   const char **error_r)
{
	struct relay_journal *j;
	char aside[600];
	const char *why;
	bool damaged;
	int count;

	j = journal_open(path, sync_full, true, &damaged, error_r);
	if (j != NULL || !damaged)
		return j;
	/* Postfix and Dovecot alike set a damaged file aside and go on:
	   a relay that stayed down would leave every notification to the
	   deliveries and the spool to no one */
	why = *error_r;
	snprintf(aside, sizeof(aside), "%s.damaged-%lld", path, (long long)time(NULL));
	if (journal_move_aside(path, aside, error_r) < 0 ||
	    (j = journal_open(path, sync_full, false, &damaged, error_r)) == NULL)
		return NULL;
	count = journal_salvage(j, aside);
	pushcore_log(PUSHCORE_LOG_ERROR, NULL, "pushadm relay: the journal %s "
		     "is damaged (%s): moved aside to %s; %d of its notifications "
		     "could still be read and are in a new journal, any others "
		     "stay in %s", path, why, aside, count, aside);
	return j;
}
