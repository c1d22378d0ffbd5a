#ifndef PUSHADM_RELAY_SERVER_H
#define PUSHADM_RELAY_SERVER_H

/* The relay's socket side: listening, clients (non-blocking, bounded),
   submissions checked against the trust policy, the group commit. */

#include "pushadm-relay.h"

#include <time.h>

struct pushadm_trust;
struct pushadm_resolver;
struct relay_client;
struct relay_pending;
struct pollfd;

enum relay_outcome_type {
	RELAY_OUTCOME_SENT,
	RELAY_OUTCOME_RETRY,
	RELAY_OUTCOME_FAILED,
};

struct relay_outcome {
	enum relay_outcome_type type;
	char id[37];
	char *driver;
	unsigned int attempts;
	long long next_attempt;
	char *last_error;
};

struct relay_server {
	struct relay_conf conf;
	const char *socket_path, *spool_dir;
	int listen_fd;
	ino_t socket_ino;
	/* out of descriptors: no accept() before this */
	time_t accept_paused_until;
	struct relay_journal *journal;
	struct pushadm_trust *trust;
	struct pushadm_resolver *resolver;
	struct relay_queue *queue;

	struct relay_client **clients;
	unsigned int client_count;
	/* relay_iteration()'s poll set: the listener and the clients, grown
	   when they outnumber it and kept (no allocation every turn) */
	struct pollfd *poll_fds;
	unsigned int poll_size;
	/* messages not acknowledged yet: read in this round, waiting for
	   the group commit, or sent first (relay.conf send_first) */
	struct relay_pending *pending, **pending_tail;
	unsigned int pending_count;
	unsigned long long pending_serial;
	/* what the queue reported, for the next transaction */
	struct relay_outcome *outcomes;
	unsigned int outcome_count, outcome_size;
	/* when the oldest of them came (CLOCK_MONOTONIC msecs) */
	long long outcomes_since;
};

/* Creates the socket's directory and the socket (owner, group, mode from
   relay.conf); an empty socket path listens nowhere. */
int relay_listen(struct relay_server *srv, const char **error_r);
/* One round of the loop: the queue, the wait (at most max_wait_msecs),
   accepting, reading, the group commit, acks. */
void relay_iteration(struct relay_server *srv, unsigned int max_wait_msecs);
/* The group commit: acknowledges the messages sent first whose entries
   their endpoints took (no journal), journals those due (all others, and
   those sent first whose deadline came or that must wait; force: all),
   applies the queue's outcomes, then acknowledges and queues. Unless
   force, outcomes alone wait (RELAY_OUTCOME_WAIT_MSECS at most) to ride
   with the next acknowledged transaction. */
void relay_commit(struct relay_server *srv, bool force);
void relay_close_all(struct relay_server *srv);

/* An outcome of an entry sent first (tag: relay_queue_add_first()'s; 0:
   none). done: sent or failed for good, so it needs no journal; else it
   must wait, and its message is journaled in this round. Returns whether
   the entry was settled without the journal (false: it is, or will be,
   journaled, and its outcome is one like any other). */
bool relay_pending_settle(struct relay_server *srv, unsigned long long tag,
			  bool done);

/* A queue outcome for the next transaction; e (FAILED only) is written to
   the spool's failed area at once. */
void relay_outcome_add(struct relay_server *srv, enum relay_outcome_type type,
		       const struct pushcore_spool_entry *e, unsigned int attempts,
		       long long next_attempt, const char *last_error);

/* pushadm relay retry's side: a RETRY message, bounded wait for the ack.
   -1 with *error_r and errno (ENOENT, ECONNREFUSED: no relay running). */
int relay_send_retry(const char *socket_path, const char *const *ids,
		     unsigned int count, unsigned int *done_r,
		     const char **error_r);

#endif
