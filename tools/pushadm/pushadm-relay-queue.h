#ifndef PUSHADM_RELAY_QUEUE_H
#define PUSHADM_RELAY_QUEUE_H

/* The relay's sending engine: the notifications the journal holds, sent to
   their endpoints without ever blocking the relay's loop. Per endpoint
   (the resolved request's method and URL): kept-alive connections, at
   most endpoint_concurrency requests in flight, each user's notifications
   in order, and a circuit that stops connecting to a dead endpoint. Per
   notification: exponential backoff with jitter, Retry-After, maximum
   age. docs/spool.md, "How the relay sends".

   Requests are built only by the resolver (pushadm_resolve()), from
   Dovecot's configuration, never from what a record says. The callbacks
   of the store are called from relay_queue_run() only, once per outcome. */

#include <poll.h>
#include <stdbool.h>

#include "pushcore-spool.h"

struct pushadm_resolver;
struct pushcore_pool;
struct pushcore_http_request;

struct relay_queue_settings {
	unsigned int backoff_secs, max_backoff_secs, max_age_secs;
	unsigned int endpoint_concurrency;	/* requests in flight per endpoint */
	unsigned int circuit_failures;	/* consecutive failures that open a circuit */
	unsigned int circuit_secs;	/* open this long, then one probe */
	/* what one user, and what all, may have waiting: beyond it
	   relay_queue_full_for() says no, so neither one local account nor
	   a long outage fills the root relay's memory (0: no bound) */
	unsigned int max_user_entries, max_entries;
	unsigned long long max_user_bytes, max_bytes;
	/* pushadm -D: the relay's debug lines per notification and per
	   transaction. Off, they are not even formatted (their formatting
	   and redaction showed in the relay's profile). */
	bool debug;
	/* an entry added with relay_queue_add_first() is quick to send when
	   its endpoint's last answer came within this long (0: none is) */
	unsigned int send_first_msecs;
	/* tests: the wall clock in msecs (NULL: CLOCK_REALTIME) */
	long long (*wall_msecs)(void);
};
/* What the queue tells the journal, once per outcome. An entry is
   named by its id and its driver together: every driver's notification of
   one event carries the event's id. tag is relay_queue_add_first()'s
   (0: the entry came with relay_queue_add()). */
struct relay_queue_store {
	void (*sent)(void *ctx, const struct pushcore_spool_entry *e,
		     unsigned long long tag);
	void (*retry)(void *ctx, const struct pushcore_spool_entry *e,
		      unsigned long long tag, unsigned int attempts,
		      long long next_attempt, const char *last_error);
	/* permanent failure or expired: keep aside for inspection */
	void (*failed)(void *ctx, const struct pushcore_spool_entry *e,
		       unsigned long long tag, const char *reason);
	/* an entry of relay_queue_add_first() that will not be quick (its
	   endpoint is slow, failing or held): journal it without waiting */
	void (*waits)(void *ctx, const struct pushcore_spool_entry *e,
		      unsigned long long tag);
	void *ctx;
};
struct relay_queue *relay_queue_new(const struct relay_queue_settings *set,
				    struct pushadm_resolver *resolver,
				    const struct relay_queue_store *store);
/* An entry already durable in the journal (copied). */
void relay_queue_add(struct relay_queue *q, const struct pushcore_spool_entry *e);
/* An entry not in the journal yet, sent at once (copied): its outcome,
   or waits(), comes with tag (not 0), so the caller can acknowledge a
   hand-off its endpoints took without ever journaling it. */
void relay_queue_add_first(struct relay_queue *q,
			   const struct pushcore_spool_entry *e,
			   unsigned long long tag);
/* The bound that leaves no room: its relay.conf setting, and whether it
   is one user's or the whole relay's. */
struct relay_queue_bound {
	const char *setting;
	bool per_user;
};
/* Whether the waiting notifications, the relay's or user's, leave no room
   for one more of user's of body_len bytes; *bound_r says which bound,
   for the submitter. */
bool relay_queue_full_for(struct relay_queue *q, const char *user, size_t body_len,
			  struct relay_queue_bound *bound_r);
/* Waiting entries due now: all when ids is NULL; returns how many. */
unsigned int relay_queue_retry(struct relay_queue *q, const char *const *ids);
/* Starts what is due, finishes what completed; never blocks. Returns the
   msecs until it wants to run again. */
unsigned int relay_queue_run(struct relay_queue *q);
/* Waits up to timeout_msecs for the queue's network activity or for one of
   fds to become readable (curl_multi_poll with extra fds); revents set. */
int relay_queue_wait(struct relay_queue *q, struct pollfd *fds,
		     unsigned int nfds, unsigned int timeout_msecs);
unsigned int relay_queue_pending(const struct relay_queue *q);
void relay_queue_free(struct relay_queue **q);

/* --- queue figures (docs/spool.md "Queue figures") ------------------------ */

/* What became of an attempt (or of a notification, for expired). */
enum relay_send_result {
	RELAY_SEND_SENT,	/* the endpoint took it */
	RELAY_SEND_RETRY,	/* failed for now: tried again later */
	RELAY_SEND_FAILED,	/* failed for good (4xx, unusable): kept aside */
	RELAY_SEND_EXPIRED,	/* max_age passed: kept aside */
	RELAY_SEND_RESULT_COUNT
};
extern const char *const relay_send_result_names[RELAY_SEND_RESULT_COUNT];

struct relay_queue_endpoint_figures {
	/* "METHOD URL" with credentials hidden, or "(unresolved)" */
	const char *name;
	/* now: notifications waiting for it, requests on the wire, when the
	   oldest waiting one was made (0: none) */
	unsigned int queued, in_flight;
	long long oldest_created_usecs;
	/* since the relay started */
	unsigned long long sends[RELAY_SEND_RESULT_COUNT];
};

struct relay_queue_figures {
	/* every notification the relay holds, also those not placed yet */
	unsigned int queued, in_flight;
	long long oldest_created_usecs;		/* 0: none */
	/* every endpoint with a count or a queue, sorted by name */
	unsigned int endpoint_count;
	struct relay_queue_endpoint_figures *endpoints;
};

/* The figures now, allocated from pool: for a scrape, not for the sending
   path. The oldest ages walk every entry, at most once a second per
   endpoint; in between they are those of the last walk. */
void relay_queue_figures(struct relay_queue *q, struct pushcore_pool *pool,
			 struct relay_queue_figures *figures_r);

/* Descriptors relay_queue_wait() waits for besides the caller's (the
   metrics listeners, pushadm-relay-metrics.c): add() fills at most max,
   ready() gets them back with revents once the wait ends. */
struct relay_queue_extra_fds {
	unsigned int max;
	unsigned int (*add)(void *context, struct pollfd *fds, unsigned int max);
	void (*ready)(void *context, const struct pollfd *fds, unsigned int count);
	void *context;
};
/* NULL: none */
void relay_queue_set_extra_fds(struct relay_queue *q,
			       const struct relay_queue_extra_fds *extra);

/* --- for tests ---------------------------------------------------------- */

/* A resolver with pushadm_resolve()'s contract, so that tests can drive the
   queue without Dovecot's configuration. */
typedef int relay_queue_resolve_t(void *context, struct pushcore_pool *pool,
				  const struct pushcore_spool_entry *e,
				  struct pushcore_http_request *req_r,
				  const char **error_r);
struct relay_queue *
relay_queue_new_with_resolver(const struct relay_queue_settings *set,
			      relay_queue_resolve_t *resolve, void *context,
			      const struct relay_queue_store *store);
/* How many entries the queue looked at, for the tests of its cost with
   a large backlog (docs/spool.md, "Queue figures"). */
struct relay_queue_work {
	/* entries walked for the oldest ages of relay_queue_figures() */
	unsigned long long figures_visited;
	/* entries walked by the expiry sweep */
	unsigned long long sweep_visited;
	/* ids compared by relay_queue_retry() */
	unsigned long long retry_compared;
};
const struct relay_queue_work *relay_queue_work(const struct relay_queue *q);
/* The delay before retry number attempts+1, jitter included (msecs). */
unsigned int relay_queue_backoff_msecs(const struct relay_queue_settings *set,
				       unsigned int attempts);

#endif
