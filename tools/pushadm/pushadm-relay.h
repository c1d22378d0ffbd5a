#ifndef PUSHADM_RELAY_H
#define PUSHADM_RELAY_H

/* pushadm relay: the long-running process that takes notifications from
   delivery processes over a unix socket, journals them durably and sends
   them (pushadm-relay-queue.c). Its own settings come from relay.conf
   (pushadm-relay-conf.c), the journal is SQLite (pushadm-relay-journal.c).
   docs/spool.md "The relay". */

#include <stdbool.h>
#include <sys/types.h>

#include "pushadm-relay-queue.h"

struct pushcore_spool_entry;

#define RELAY_CONF_DEFAULT_PATH "/etc/dovecot-push-notify/relay.conf"
/* the environment variable that names another relay.conf (tests) */
#define RELAY_CONF_ENV "PUSHADM_RELAY_CONF"
#define RELAY_JOURNAL_DEFAULT_PATH "/var/lib/dovecot-push-notify/journal.db"
#define RELAY_MAX_ALLOWED_UIDS 64

struct pushadm_ctx;
/* pushadm relay run [--config FILE] (also what the deprecated spool run
   runs); returns the exit code. */
int pushadm_relay_run(struct pushadm_ctx *ctx, int argc, char *argv[]);

/* The relay's unix socket listeners (pushadm-relay-listen.c). */
/* Creates the directories above path (with mode, if new). */
int relay_mkdir_parent(const char *path, mode_t mode, const char **error_r);
/* A non-blocking socket listening at path, owned by uid:gid with mode
   before it listens; its directory is made (0755) and a dead listener's
   socket file replaced. A live listener's socket, or a path that is not
   a socket (never followed if a symlink), fails: the error names
   setting, the one that changes path. *ino_r is for relay_unix_close().
   Returns the descriptor or -1 with *error_r. */
int relay_unix_listen(const char *path, const char *setting, uid_t uid,
		      gid_t gid, mode_t mode, int backlog, ino_t *ino_r,
		      const char **error_r);
/* Closes *fd (if >= 0; then -1) and removes path if it is still the
   socket of inode ino (a new relay may have replaced it). path may be
   NULL: not a unix socket. */
void relay_unix_close(int *fd, const char *path, ino_t ino);

/* relay.conf */
struct relay_conf {
	const char *path;
	uid_t socket_uid;
	gid_t socket_gid;
	unsigned int socket_mode;
	uid_t allowed_uids[RELAY_MAX_ALLOWED_UIDS];
	unsigned int allowed_uid_count;
	struct relay_queue_settings queue;
	/* synchronous=FULL: an acknowledged batch survives a power loss;
	   NORMAL: it survives the relay's crash, not the machine's */
	bool sync_full;
	const char *journal;
	/* a client that stalls mid-message or doesn't read its acks is
	   disconnected after this long */
	unsigned int client_timeout_secs;
	unsigned int max_clients;
	/* the queue figures (pushadm-relay-metrics.h): the stats socket (""
	   beside the relay's socket), metrics_listen ("" off) and a unix
	   metrics_listen socket's mode and group */
	const char *stats_socket, *metrics_listen;
	unsigned int metrics_socket_mode;
	gid_t metrics_socket_gid;
};

/* Reads path (missing: defaults). -1 after printing an error that names
   the file, the line and the setting. */
int relay_conf_read(const char *path, struct relay_conf *conf_r);
void relay_conf_free(struct relay_conf *conf);

/* The journal: every notification the relay acknowledged and has not
   finished with. */
struct relay_journal;
struct relay_journal *relay_journal_open(const char *path, bool sync_full,
					 const char **error_r);
/* The same, for the relay's start: the whole file is checked, and a
   damaged one (SQLite: corrupt, not a database) is moved aside to
   PATH.damaged-TIME with its WAL, logged, and replaced by a new journal
   holding the entries that could still be read. */
struct relay_journal *relay_journal_open_repairing(const char *path, bool sync_full,
						   const char **error_r);
void relay_journal_close(struct relay_journal **j);
/* One transaction: everything between begin and commit is on disk (as
   the sync policy says) when commit returns 0. */
/* acknowledged: the transaction holds submissions the relay acknowledges
   after it (synced to disk with sync = full); false: outcomes only. */
int relay_journal_begin(struct relay_journal *j, bool acknowledged,
			const char **error_r);
int relay_journal_commit(struct relay_journal *j, const char **error_r);
void relay_journal_rollback(struct relay_journal *j);
/* An entry is its id and its driver together (each driver's notification
   of one event carries the event's id). 0: added; 1: it was there already
   (a resubmission after a lost ack, a spool file of an entry also
   relayed): kept once. */
int relay_journal_add(struct relay_journal *j, const struct pushcore_spool_entry *e,
		      const char **error_r);
int relay_journal_remove(struct relay_journal *j, const char *id,
			 const char *driver, const char **error_r);
int relay_journal_update(struct relay_journal *j, const char *id,
			 const char *driver, unsigned int attempts,
			 long long next_attempt, const char *last_error,
			 const char **error_r);
/* Makes entries due now (all when ids is NULL); returns how many or -1. */
int relay_journal_retry(struct relay_journal *j, const char *const *ids,
			const char **error_r);
/* Calls load() for every entry, oldest first. Returns the count or -1. */
int relay_journal_load(struct relay_journal *j,
		       void (*load)(const struct pushcore_spool_entry *e, void *context),
		       void *context, const char **error_r);

#endif
