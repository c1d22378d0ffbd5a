/* The relay's sending engine (pushadm-relay-queue.h).

   Entries are grouped by endpoint (the resolved request's method and URL),
   and within an endpoint by user: a user queue sends its head only, so a
   user's notifications to one endpoint leave in order, while other users
   and other endpoints go on. An endpoint has a number of slots (requests
   in flight) and a circuit; a notification has its own backoff. */
#include "pushadm-relay-queue.h"
#include "pushadm-relay-resend.h"
#include "pushadm-resolve.h"
#include "pushcore.h"
#include "pushcore-unix.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* how long run() may sleep with nothing to do */
#define RELAY_IDLE_MSECS 60000
/* expired entries are looked for this often (when one may have expired:
   q->next_expiry) */
#define SWEEP_MSECS 1000
/* the entries are walked for the oldest ages of the queue figures at most
   this often (per endpoint) */
#define FIGURES_WALK_MSECS 1000
/* requests in flight to all endpoints together: bounds descriptors */
#define MAX_IN_FLIGHT 512
/* idle connections kept alive for reuse, all endpoints together */
#define MAX_CACHED_CONNECTIONS 256
/* XADDs go in batches of at most this many, one batch at a time beside
   the loop (pushadm-relay-resend.h), each waiting at most this long */
#define XADD_BATCH_MAX 100
#define XADD_MAX_MSECS 2000
/* a request whose driver names no timeout still gets one: a hanging
   endpoint must give its slot back */
#define HTTP_DEFAULT_TIMEOUT_MSECS 5000
#define HASH_INITIAL_SIZE 64
/* an endpoint's answer time before its first answer (taken as quick: a
   new endpoint gets one chance), and after a failed attempt */
#define ANSWER_UNKNOWN 0
#define ANSWER_FAILED LLONG_MAX
/* an empty endpoint's open circuit is remembered this long */
#define ENDPOINT_FORGET_MSECS (10 * 60 * 1000)
/* resolving may ask doveconf and the userdb (cached per user): a run()
   starts no new resolution after this long, the rest waits for the next */
#define RESOLVE_BUDGET_MSECS 50
/* endpoints counted one by one (a per-user URL could make many); the
   rest are counted together under one name */
#define MAX_COUNTED_ENDPOINTS 1000
#define OTHER_ENDPOINTS "(other endpoints)"
#define UNRESOLVED "(unresolved)"

struct hash_item {
	struct hash_item *next;
	const char *key;
	void *value;
};

struct hash {
	struct hash_item **buckets;
	unsigned int size, count;
};

/* the sends of one endpoint since the relay started: kept when the
   endpoint itself is forgotten */
struct endpoint_counters {
	struct endpoint_counters *next;
	char *name;
	unsigned long long sends[RELAY_SEND_RESULT_COUNT];
	/* while the figures are gathered: its row */
	unsigned int row;
};

const char *const relay_send_result_names[RELAY_SEND_RESULT_COUNT] = {
	"sent", "retry", "failed", "expired"
};

enum circuit_state {
	CIRCUIT_CLOSED,
	CIRCUIT_OPEN,		/* no request until open_until */
	CIRCUIT_PROBING,	/* one request at a time tells whether it is back */
};

struct endpoint {
	struct endpoint *next;		/* in the queue's list */
	char *key;			/* "METHOD URL" */
	char *name;			/* the key with credentials hidden */
	struct endpoint_counters *counters;
	/* its requests carry their driver's resend operation (redis's
	   XADD): sent in batches beside the loop, not over HTTP */
	bool resend;
	/* user queues, in round-robin order */
	struct user_queue *uq_head, *uq_tail;
	unsigned int uq_count, entries, in_flight;
	unsigned int failures;		/* consecutive transport failures or 5xx */
	enum circuit_state circuit;
	long long open_until, hold_until;	/* msecs */
	struct queue_entry *probe;
	/* the earliest due head; valid while !dirty */
	long long next_due;
	bool dirty;
	/* how long its last answer took (msecs; ANSWER_UNKNOWN before the
	   first, ANSWER_FAILED after a failure): whether an entry not
	   journaled yet may wait for it (relay_queue_add_first()) */
	long long answer_msecs;
	/* since when its requests in flight have had no answer (monotonic
	   msecs; 0: none in flight): a hanging endpoint is slow before its
	   first timeout tells */
	long long silent_since;
	/* for the figures: the oldest entry's birth (usecs on the queue's
	   clock) when its entries were last walked (0: not walked), and
	   when (monotonic) */
	long long oldest_usecs, oldest_walked;
};

struct user_queue {
	struct user_queue *prev, *next;	/* in the endpoint's round */
	struct endpoint *ep;
	char *hkey;			/* endpoint key, newline, user */
	struct queue_entry *head, *tail;
	bool busy;			/* its head is in flight */
};

/* what one user has waiting, everywhere in the queue */
struct user_load {
	char *user;
	unsigned int entries;
	unsigned long long bytes;
};

struct queue_entry {
	struct queue_entry *next;	/* in its user queue (or incoming) */
	struct relay_queue *q;
	struct user_queue *uq;
	unsigned long long seq;		/* order of relay_queue_add() */
	long long due;			/* msecs, wall clock */
	/* not placed yet: the configuration could not be read (resolver's
	   -2); tried again at resolve_due, after resolve_failures backoffs */
	long long resolve_due;
	unsigned int resolve_failures;
	/* when it was made, on the queue's clock (msecs): its age */
	long long born;
	bool in_flight;
	/* relay_queue_add_first()'s tag (0: none); when its attempt
	   started (monotonic msecs), for the endpoint's answer time */
	unsigned long long tag;
	long long started;
	/* trusted fields only; strings malloc()ed */
	struct pushcore_spool_entry e;
	/* the request resolved in this run() (NULL otherwise): not kept
	   longer, so that a later attempt is signed afresh and waiting
	   entries hold no copy of their request */
	struct pushcore_pool *req_pool;
	struct pushcore_http_request req;
	struct queue_entry *cprev, *cnext;	/* in the resolved list */
};

/* The XADD batch on its way: its entries keep their requests (taken out
   of the resolved list) until it has finished. */
struct xadd_batch {
	struct relay_resend *resend;
	struct endpoint *ep;
	unsigned int count;
	struct queue_entry *entries[XADD_BATCH_MAX];
	const struct pushcore_http_request *reqs[XADD_BATCH_MAX];
};

struct relay_queue {
	struct relay_queue_settings set;
	struct relay_queue_store store;
	relay_queue_resolve_t *resolve;
	void *resolve_ctx;
	struct hash endpoints, user_queues, user_loads;
	struct endpoint *endpoint_list;
	/* not placed yet, in order: new, or waiting to be resolved */
	struct queue_entry *incoming_head, *incoming_tail;
	long long incoming_due;
	bool incoming_changed;		/* added to, or made due, since the last pass */
	struct queue_entry *resolved;
	unsigned long long seq;
	unsigned int count, in_flight;
	/* the bodies of all entries (max_queued_bytes) */
	unsigned long long bytes;
	long long now, next_sweep;
	/* the earliest time (msecs) an entry expires, LLONG_MAX: none. The
	   sweep walks the entries only once it has come: with 100000
	   waiting, a walk per second took 2 % of a CPU and held the loop
	   20 ms each time, though with max_age = 1d nothing expires for
	   hours. */
	long long next_expiry;
	/* the figures' oldest unplaced entry, as for an endpoint's */
	long long incoming_oldest_usecs, incoming_oldest_walked;
	long long run_started;		/* monotonic msecs */
	struct xadd_batch xadd;
	/* something needs another run() at once */
	bool again, closing;
	/* queue figures: counters by endpoint name */
	struct hash counters;
	struct endpoint_counters *counter_list;
	struct relay_queue_extra_fds extra;
	struct relay_queue_work work;
	/* the queue's clock: clock_base when the boot clock said boot_base;
	   skew: the queue's clock minus the wall clock, as of q->now */
	long long clock_base, boot_base, skew;
};

/* --- small helpers ------------------------------------------------------ */

static long long clock_msecs(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long wall_msecs(const struct relay_queue *q)
{
	return q->set.wall_msecs != NULL ? q->set.wall_msecs() :
		clock_msecs(CLOCK_REALTIME);
}

/* The queue's clock (q->now, msecs): the wall clock when the queue was
   made, advanced by the boot clock since, so that a step of the wall
   clock (NTP's first sync after boot, an administrator's date -s) moves
   no due time and ages no entry. On the wall clock, a step back of an
   hour held every retry for an hour, and one forward past max_age failed
   every waiting notification. The times records carry (created, next
   attempt) are wall-clock times: translated with q->skew as they come
   in and as they go to the journal. The resolve budget of one run is
   monotonic (pushcore_mono_msecs()). */
static void clock_update(struct relay_queue *q)
{
	q->now = q->clock_base + (clock_msecs(CLOCK_BOOTTIME) - q->boot_base);
	q->skew = q->now - wall_msecs(q);
}

/* A wall-clock time (msecs) on the queue's clock, and back. */
static long long from_wall(const struct relay_queue *q, long long msecs)
{
	return msecs + q->skew;
}

static long long to_wall(const struct relay_queue *q, long long msecs)
{
	return msecs - q->skew;
}

static char *xstrdup_or_null(const char *s)
{
	return s == NULL ? NULL : pushcore_xstrdup(s);
}

static unsigned int hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void hash_init(struct hash *h)
{
	h->size = HASH_INITIAL_SIZE;
	h->count = 0;
	h->buckets = pushcore_xmalloc(sizeof(*h->buckets) * h->size);
	memset(h->buckets, 0, sizeof(*h->buckets) * h->size);
}

static void *hash_lookup(const struct hash *h, const char *key)
{
	struct hash_item *i;

	for (i = h->buckets[hash_str(key) & (h->size - 1)]; i != NULL; i = i->next) {
		if (strcmp(i->key, key) == 0)
			return i->value;
	}
	return NULL;
}

static void hash_grow(struct hash *h)
{
	struct hash_item **old = h->buckets, *i, *next;
	unsigned int b, old_size = h->size;

	h->size *= 2;
	h->buckets = pushcore_xmalloc(sizeof(*h->buckets) * h->size);
	memset(h->buckets, 0, sizeof(*h->buckets) * h->size);
	for (b = 0; b < old_size; b++) {
		for (i = old[b]; i != NULL; i = next) {
			next = i->next;
			i->next = h->buckets[hash_str(i->key) & (h->size - 1)];
			h->buckets[hash_str(i->key) & (h->size - 1)] = i;
		}
	}
	free(old);
}

/* key must live as long as the item */
static void hash_insert(struct hash *h, const char *key, void *value)
{
	struct hash_item *i = pushcore_xmalloc(sizeof(*i));
	unsigned int b;

	if (h->count >= h->size)
		hash_grow(h);
	b = hash_str(key) & (h->size - 1);
	i->key = key;
	i->value = value;
	i->next = h->buckets[b];
	h->buckets[b] = i;
	h->count++;
}

static void hash_remove(struct hash *h, const char *key)
{
	struct hash_item **p, *i;

	for (p = &h->buckets[hash_str(key) & (h->size - 1)]; *p != NULL; p = &(*p)->next) {
		if (strcmp((*p)->key, key) == 0) {
			i = *p;
			*p = i->next;
			free(i);
			h->count--;
			return;
		}
	}
}

static void hash_deinit(struct hash *h)
{
	struct hash_item *i, *next;
	unsigned int b;

	for (b = 0; b < h->size; b++) {
		for (i = h->buckets[b]; i != NULL; i = next) {
			next = i->next;
			free(i);
		}
	}
	free(h->buckets);
}

/* --- counters ------------------------------------------------------------ */

static struct endpoint_counters *counters_get(struct relay_queue *q,
					      const char *name)
{
	struct endpoint_counters *c = hash_lookup(&q->counters, name);

	if (c != NULL)
		return c;
	if (q->counters.count >= MAX_COUNTED_ENDPOINTS &&
	    strcmp(name, OTHER_ENDPOINTS) != 0)
		return counters_get(q, OTHER_ENDPOINTS);
	c = pushcore_xmalloc(sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->name = pushcore_xstrdup(name);
	c->next = q->counter_list;
	q->counter_list = c;
	hash_insert(&q->counters, c->name, c);
	return c;
}

static void count_send(struct relay_queue *q, const char *endpoint,
		       enum relay_send_result result)
{
	counters_get(q, endpoint)->sends[result]++;
}

unsigned int relay_queue_backoff_msecs(const struct relay_queue_settings *set,
				       unsigned int attempts)
{
	unsigned long long base = (unsigned long long)set->backoff_secs * 1000;
	unsigned long long max = (unsigned long long)set->max_backoff_secs * 1000;
	unsigned int i;

	for (i = 1; i < attempts && base < max; i++)
		base *= 2;
	if (base > max)
		base = max;
	/* between 3/4 of the backoff and all of it: retries of entries that
	   failed together spread out, and the maximum stays a maximum */
	return (unsigned int)(base - (unsigned long long)rand() % (base / 4 + 1));
}

/* --- entries ------------------------------------------------------------ */

static struct queue_entry *entry_copy(struct relay_queue *q,
				      const struct pushcore_spool_entry *src)
{
	struct queue_entry *qe = pushcore_xmalloc(sizeof(*qe));
	long long now, latest, due;
	char *body;

	memset(qe, 0, sizeof(*qe));
	qe->q = q;
	memcpy(qe->e.id, src->id, sizeof(qe->e.id));
	qe->e.id[sizeof(qe->e.id) - 1] = '\0';
	qe->e.created_usecs = src->created_usecs;
	qe->e.attempts = src->attempts;
	qe->e.next_attempt = src->next_attempt;
	qe->e.user = pushcore_xstrdup(src->user == NULL ? "" : src->user);
	qe->e.driver = pushcore_xstrdup(src->driver == NULL ? "" : src->driver);
	qe->e.method = pushcore_xstrdup(src->method == NULL ? "" : src->method);
	qe->e.last_error = xstrdup_or_null(src->last_error);
	/* url, headers, secret_file, tls_* and timeout are not copied: the
	   resolver takes them from the configuration */
	body = pushcore_xmalloc(src->body_len + 1);
	if (src->body_len > 0)
		memcpy(body, src->body, src->body_len);
	body[src->body_len] = '\0';
	qe->e.body = body;
	qe->e.body_len = src->body_len;
	/* a record dated in the future (a spool file says what it likes)
	   would hold back its user's later notifications for good: it is
	   due within the longest backoff, and ages from now */
	clock_update(q);
	now = q->now;
	latest = now + (long long)q->set.max_backoff_secs * 1000;
	due = src->next_attempt > to_wall(q, latest) / 1000 ? latest :
		from_wall(q, src->next_attempt * 1000);
	qe->due = due;
	qe->born = from_wall(q, qe->e.created_usecs / 1000);
	if (qe->born > now)
		qe->born = now;
	if (qe->e.created_usecs > to_wall(q, now) * 1000)
		qe->e.created_usecs = to_wall(q, now) * 1000;
	return qe;
}

static void entry_set_error(struct queue_entry *qe, const char *error)
{
	char *copy = pushcore_xstrdup(error);

	free((char *)qe->e.last_error);
	qe->e.last_error = copy;
}

/* Takes qe out of the resolved list (whose requests run() drops). */
static void entry_keep_request(struct queue_entry *qe)
{
	struct relay_queue *q = qe->q;

	if (qe->cprev != NULL)
		qe->cprev->cnext = qe->cnext;
	else if (q->resolved == qe)
		q->resolved = qe->cnext;
	if (qe->cnext != NULL)
		qe->cnext->cprev = qe->cprev;
	qe->cprev = qe->cnext = NULL;
}

static void entry_drop_request(struct queue_entry *qe)
{
	if (qe->req_pool == NULL)
		return;
	pushcore_pool_free(&qe->req_pool);
	memset(&qe->req, 0, sizeof(qe->req));
	entry_keep_request(qe);
}

static void entry_free(struct queue_entry *qe)
{
	entry_drop_request(qe);
	free((char *)qe->e.user);
	free((char *)qe->e.driver);
	free((char *)qe->e.method);
	free((char *)qe->e.last_error);
	free((char *)qe->e.body);
	free(qe);
}

/* When qe expires (msecs; LLONG_MAX: never). */
static long long entry_expiry(const struct relay_queue *q,
			      const struct queue_entry *qe)
{
	return q->set.max_age_secs == 0 ? LLONG_MAX :
		qe->born + (long long)q->set.max_age_secs * 1000;
}

static bool entry_expired(const struct relay_queue *q,
			  const struct queue_entry *qe)
{
	return entry_expiry(q, qe) <= q->now;
}

/* Resolves qe's request (once per run) and its endpoint key: 0, or -1
   (permanent) or -2 (the configuration can't be read now) with *error_r,
   as pushadm_resolve() returns; 1 when this run's time for resolving is
   used up. */
#define RESOLVE_DEFERRED 1
static int entry_resolve(struct relay_queue *q, struct queue_entry *qe,
			 const char **key_r, const char **error_r)
{
	const char *error = NULL, *method;
	int ret;

	if (qe->req_pool == NULL &&
	    pushcore_mono_msecs() - q->run_started > RESOLVE_BUDGET_MSECS) {
		q->again = true;
		return RESOLVE_DEFERRED;
	}
	if (qe->req_pool == NULL) {
		qe->req_pool = pushcore_pool_new();
		memset(&qe->req, 0, sizeof(qe->req));
		ret = q->resolve(q->resolve_ctx, qe->req_pool, &qe->e, &qe->req,
				 &error);
		if (ret < 0 || qe->req.url == NULL) {
			entry_set_error(qe, ret == 0 ? "the resolved request has no URL" :
					error != NULL ? error : "cannot be resolved");
			pushcore_pool_free(&qe->req_pool);
			*error_r = qe->e.last_error;
			return ret == -2 ? -2 : -1;
		}
		qe->cnext = q->resolved;
		if (q->resolved != NULL)
			q->resolved->cprev = qe;
		q->resolved = qe;
	}
	method = qe->req.method != NULL ? qe->req.method : qe->e.method;
	*key_r = pushcore_psprintf(qe->req_pool, "%s %s", method, qe->req.url);
	return 0;
}

/* --- endpoints and user queues ------------------------------------------ */

static struct endpoint *endpoint_get(struct relay_queue *q, const char *key,
				     bool resend)
{
	struct endpoint *ep = hash_lookup(&q->endpoints, key);
	struct pushcore_pool *pool;

	if (ep != NULL)
		return ep;
	ep = pushcore_xmalloc(sizeof(*ep));
	memset(ep, 0, sizeof(*ep));
	ep->answer_msecs = ANSWER_UNKNOWN;
	ep->key = pushcore_xstrdup(key);
	pool = pushcore_pool_new();
	ep->name = pushcore_xstrdup(pushcore_redact(pool, key));
	pushcore_pool_free(&pool);
	ep->counters = counters_get(q, ep->name);
	ep->resend = resend;
	ep->dirty = true;
	ep->next = q->endpoint_list;
	q->endpoint_list = ep;
	hash_insert(&q->endpoints, ep->key, ep);
	return ep;
}

static void endpoint_free(struct relay_queue *q, struct endpoint *ep)
{
	struct endpoint **p;

	for (p = &q->endpoint_list; *p != ep; p = &(*p)->next) ;
	*p = ep->next;
	hash_remove(&q->endpoints, ep->key);
	free(ep->key);
	free(ep->name);
	free(ep);
}

static void uq_unlink(struct user_queue *uq)
{
	struct endpoint *ep = uq->ep;

	if (uq->prev != NULL)
		uq->prev->next = uq->next;
	else
		ep->uq_head = uq->next;
	if (uq->next != NULL)
		uq->next->prev = uq->prev;
	else
		ep->uq_tail = uq->prev;
	uq->prev = uq->next = NULL;
}

static void uq_append(struct user_queue *uq)
{
	struct endpoint *ep = uq->ep;

	uq->prev = ep->uq_tail;
	uq->next = NULL;
	if (ep->uq_tail != NULL)
		ep->uq_tail->next = uq;
	else
		ep->uq_head = uq;
	ep->uq_tail = uq;
}

static struct user_queue *uq_get(struct relay_queue *q, struct endpoint *ep,
				 const char *user)
{
	size_t key_len = strlen(ep->key), user_len = strlen(user);
	char *hkey = pushcore_xmalloc(key_len + 1 + user_len + 1);
	struct user_queue *uq;

	memcpy(hkey, ep->key, key_len);
	hkey[key_len] = '\n';
	memcpy(hkey + key_len + 1, user, user_len + 1);
	if ((uq = hash_lookup(&q->user_queues, hkey)) != NULL) {
		free(hkey);
		return uq;
	}
	uq = pushcore_xmalloc(sizeof(*uq));
	memset(uq, 0, sizeof(*uq));
	uq->ep = ep;
	uq->hkey = hkey;
	hash_insert(&q->user_queues, uq->hkey, uq);
	uq_append(uq);
	ep->uq_count++;
	return uq;
}

/* Inserts qe in the order of relay_queue_add() (at the tail, normally). */
static void uq_insert(struct relay_queue *q, struct endpoint *ep,
		      struct queue_entry *qe)
{
	struct user_queue *uq = uq_get(q, ep, qe->e.user);
	struct queue_entry **p;

	if (uq->tail == NULL || uq->tail->seq < qe->seq) {
		qe->next = NULL;
		if (uq->tail != NULL)
			uq->tail->next = qe;
		else
			uq->head = qe;
		uq->tail = qe;
	} else {
		/* the head may be in flight: insert after it */
		for (p = &uq->head; *p != NULL && ((*p)->seq < qe->seq ||
						   (*p)->in_flight); p = &(*p)->next) ;
		qe->next = *p;
		*p = qe;
	}
	qe->uq = uq;
	ep->entries++;
	ep->dirty = true;
}

/* Takes qe out of its user queue (freeing the queue when it empties). */
static void uq_remove(struct relay_queue *q, struct queue_entry *qe)
{
	struct user_queue *uq = qe->uq;
	struct endpoint *ep = uq->ep;
	struct queue_entry **p;

	for (p = &uq->head; *p != qe; p = &(*p)->next) ;
	*p = qe->next;
	if (uq->tail == qe) {
		for (uq->tail = uq->head; uq->tail != NULL && uq->tail->next != NULL;
		     uq->tail = uq->tail->next) ;
	}
	qe->next = NULL;
	qe->uq = NULL;
	if (ep->probe == qe)
		ep->probe = NULL;
	ep->entries--;
	ep->dirty = true;
	if (uq->head == NULL) {
		uq_unlink(uq);
		ep->uq_count--;
		hash_remove(&q->user_queues, uq->hkey);
		free(uq->hkey);
		free(uq);
	}
}

/* --- what each user has waiting ---------------------------------------- */

static void user_load_add(struct relay_queue *q, const struct queue_entry *qe)
{
	struct user_load *load = hash_lookup(&q->user_loads, qe->e.user);

	if (load == NULL) {
		load = pushcore_xmalloc(sizeof(*load));
		memset(load, 0, sizeof(*load));
		load->user = pushcore_xstrdup(qe->e.user);
		hash_insert(&q->user_loads, load->user, load);
	}
	load->entries++;
	load->bytes += qe->e.body_len;
	q->bytes += qe->e.body_len;
}

static void user_load_remove(struct relay_queue *q, const struct queue_entry *qe)
{
	struct user_load *load = hash_lookup(&q->user_loads, qe->e.user);

	q->bytes -= q->bytes < qe->e.body_len ? q->bytes : qe->e.body_len;
	if (load == NULL)
		return;
	load->bytes -= load->bytes < qe->e.body_len ? load->bytes : qe->e.body_len;
	if (--load->entries > 0)
		return;
	hash_remove(&q->user_loads, load->user);
	free(load->user);
	free(load);
}

/* Whether entries (bytes) plus one more (body_len) go beyond a bound;
   0 bounds nothing. */
static bool beyond(unsigned int entries, unsigned long long bytes, size_t body_len,
		   unsigned int max_entries, unsigned long long max_bytes,
		   bool *bytes_r)
{
	*bytes_r = max_bytes > 0 && bytes + body_len > max_bytes;
	return (max_entries > 0 && entries >= max_entries) || *bytes_r;
}

bool relay_queue_full_for(struct relay_queue *q, const char *user, size_t body_len,
			  struct relay_queue_bound *bound_r)
{
	const struct user_load *load = hash_lookup(&q->user_loads, user);
	static const struct user_load none;
	bool bytes;

	if (load == NULL)
		load = &none;
	if (beyond(q->count, q->bytes, body_len, q->set.max_entries,
		   q->set.max_bytes, &bytes)) {
		bound_r->setting = bytes ? "max_queued_bytes" : "max_queued";
		bound_r->per_user = false;
		return true;
	}
	if (beyond(load->entries, load->bytes, body_len, q->set.max_user_entries,
		   q->set.max_user_bytes, &bytes)) {
		bound_r->setting = bytes ? "max_queued_bytes_per_user" : "max_queued_per_user";
		bound_r->per_user = true;
		return true;
	}
	return false;
}

/* An entry leaves the queue for good. */
static void entry_done(struct relay_queue *q, struct queue_entry *qe)
{
	if (qe->uq != NULL)
		uq_remove(q, qe);
	q->count--;
	user_load_remove(q, qe);
	entry_free(qe);
}

/* endpoint: its name (credentials hidden), for the log and the counts */
static void entry_fail_as(struct relay_queue *q, struct queue_entry *qe,
			  const char *endpoint, const char *reason,
			  enum relay_send_result result)
{
	count_send(q, endpoint, result);
	entry_set_error(qe, reason);
	pushcore_log(PUSHCORE_LOG_ERROR, NULL, "relay: notification %s for %s "
		     "(%s) to %s failed for good after %u attempts: %s; kept "
		     "aside in failed/", qe->e.id, qe->e.user, qe->e.driver,
		     endpoint, qe->e.attempts, qe->e.last_error);
	q->store.failed(q->store.ctx, &qe->e, qe->tag, qe->e.last_error);
	entry_done(q, qe);
}

static void entry_fail(struct relay_queue *q, struct queue_entry *qe,
		       const char *endpoint, const char *reason)
{
	entry_fail_as(q, qe, endpoint, reason, RELAY_SEND_FAILED);
}

static void entry_expire(struct relay_queue *q, struct queue_entry *qe,
			 const char *endpoint)
{
	struct pushcore_pool *pool = pushcore_pool_new();

	entry_fail_as(q, qe, endpoint, pushcore_psprintf(pool,
		"expired after %u attempts (last: %s)", qe->e.attempts,
		qe->e.last_error == NULL ? "none" : qe->e.last_error),
		RELAY_SEND_EXPIRED);
	pushcore_pool_free(&pool);
}

/* --- the circuit --------------------------------------------------------- */

static void circuit_open(struct relay_queue *q, struct endpoint *ep,
			 const char *error)
{
	ep->circuit = CIRCUIT_OPEN;
	ep->probe = NULL;
	ep->open_until = q->now + (long long)q->set.circuit_secs * 1000;
	ep->dirty = true;
	pushcore_log(PUSHCORE_LOG_WARNING, NULL, "relay: %s failed %u times in a "
		     "row (last: %s); its %u waiting notifications wait %us, "
		     "then one probe", ep->name, ep->failures, error, ep->entries,
		     q->set.circuit_secs);
}

/* An attempt's outcome as the circuit sees it: dead is a transport
   failure or 5xx; anything else means the endpoint answers. */
static void circuit_update(struct relay_queue *q, struct endpoint *ep,
			   struct queue_entry *qe, bool dead, const char *error)
{
	if (!dead) {
		if (ep->circuit != CIRCUIT_CLOSED)
			pushcore_log(PUSHCORE_LOG_INFO, NULL, "relay: %s answers "
				     "again; sending resumes", ep->name);
		ep->circuit = CIRCUIT_CLOSED;
		ep->failures = 0;
		ep->probe = NULL;
		return;
	}
	ep->failures++;
	if (ep->probe == qe)
		circuit_open(q, ep, error);
	else if (ep->circuit == CIRCUIT_CLOSED && q->set.circuit_failures > 0 &&
		 ep->failures >= q->set.circuit_failures)
		circuit_open(q, ep, error);
}

/* --- outcomes ----------------------------------------------------------- */

struct attempt_result {
	enum pushcore_http_outcome outcome;
	int status;
	unsigned int retry_after_secs;
	const char *error;
	/* whether the circuit hears of it (once per XADD batch) */
	bool count;
};

static void entry_retry_later(struct relay_queue *q, struct endpoint *ep,
			      struct queue_entry *qe,
			      const struct attempt_result *r)
{
	long long delay = relay_queue_backoff_msecs(&q->set, qe->e.attempts);
	long long ra;

	if (r->retry_after_secs > 0) {
		/* honoured for the whole endpoint, up to the longest backoff */
		ra = (long long)(r->retry_after_secs < q->set.max_backoff_secs ?
				 r->retry_after_secs : q->set.max_backoff_secs) * 1000;
		if (ra > delay)
			delay = ra;
		if (q->now + ra > ep->hold_until)
			ep->hold_until = q->now + ra;
	}
	qe->due = q->now + delay;
	qe->e.next_attempt = (to_wall(q, qe->due) + 999) / 1000;
	ep->counters->sends[RELAY_SEND_RETRY]++;
	pushcore_log(PUSHCORE_LOG_WARNING, NULL, "relay: notification %s for %s "
		     "(%s) to %s failed: %s (attempt %u); next attempt in %llds",
		     qe->e.id, qe->e.user, qe->e.driver, ep->name,
		     qe->e.last_error, qe->e.attempts, (delay + 999) / 1000);
	q->store.retry(q->store.ctx, &qe->e, qe->tag, qe->e.attempts,
		       qe->e.next_attempt, qe->e.last_error);
}

/* Returns whether qe is still queued (waiting for a retry). */
static bool entry_finished(struct relay_queue *q, struct endpoint *ep,
			   struct queue_entry *qe, const struct attempt_result *r)
{
	bool dead = r->outcome == PUSHCORE_HTTP_TEMPFAIL &&
		(r->status == 0 || r->status >= 500);

	clock_update(q);
	qe->e.attempts++;
	if (r->outcome != PUSHCORE_HTTP_OK)
		entry_set_error(qe, r->error != NULL ? r->error : "failed");
	if (r->count || r->outcome == PUSHCORE_HTTP_OK)
		circuit_update(q, ep, qe, dead, qe->e.last_error);
	if (r->outcome == PUSHCORE_HTTP_OK) {
		if (q->set.debug) {
			pushcore_log(PUSHCORE_LOG_DEBUG, NULL, "relay: sent %s for "
				     "%s (%s) to %s (attempt %u)", qe->e.id,
				     qe->e.user, qe->e.driver, ep->name,
				     qe->e.attempts);
		}
		ep->counters->sends[RELAY_SEND_SENT]++;
		q->store.sent(q->store.ctx, &qe->e, qe->tag);
		entry_done(q, qe);
		return false;
	}
	if (r->outcome == PUSHCORE_HTTP_PERMFAIL)
		entry_fail(q, qe, ep->name, qe->e.last_error);
	else if (entry_expired(q, qe))
		entry_expire(q, qe, ep->name);
	else {
		entry_retry_later(q, ep, qe, r);
		return true;
	}
	return false;
}

static void http_done(const struct pushcore_http_result *result, void *context)
{
	struct queue_entry *qe = context;
	struct relay_queue *q = qe->q;
	struct endpoint *ep = qe->uq->ep;
	struct attempt_result r = {
		.outcome = result->outcome, .status = result->status,
		.retry_after_secs = result->retry_after_secs,
		.error = result->error, .count = true,
	};

	ep->answer_msecs = result->outcome != PUSHCORE_HTTP_OK ? ANSWER_FAILED :
		pushcore_mono_msecs() - qe->started;
	qe->in_flight = false;
	qe->uq->busy = false;
	ep->in_flight--;
	ep->silent_since = ep->in_flight > 0 ? pushcore_mono_msecs() : 0;
	q->in_flight--;
	ep->dirty = true;
	q->again = true;
	if (q->closing)
		return;
	entry_finished(q, ep, qe, &r);
}

/* --- starting attempts ---------------------------------------------------- */

enum prepared {
	PREPARED,	/* to be sent to ep now */
	PREPARED_GONE,	/* failed for good or expired: no longer queued */
	PREPARED_WAIT,	/* still queued (retry later, resolve later, or moved
			   to the endpoint the configuration names now) */
};

/* Resolves qe afresh for an attempt. */
static enum prepared entry_prepare(struct relay_queue *q, struct endpoint *ep,
				   struct queue_entry *qe)
{
	struct attempt_result r = {
		.outcome = PUSHCORE_HTTP_TEMPFAIL, .count = false,
	};
	const char *key = NULL, *error = NULL;
	struct endpoint *to;
	int ret;

	if (entry_expired(q, qe)) {
		entry_expire(q, qe, ep->name);
		return PREPARED_GONE;
	}
	if ((ret = entry_resolve(q, qe, &key, &error)) == RESOLVE_DEFERRED)
		return PREPARED_WAIT;
	if (ret == -1) {
		entry_fail(q, qe, ep->name, error);
		return PREPARED_GONE;
	}
	if (ret == -2) {
		/* not the endpoint's fault: a retry that the circuit ignores */
		r.error = error;
		return entry_finished(q, ep, qe, &r) ? PREPARED_WAIT : PREPARED_GONE;
	}
	if (strcmp(key, ep->key) == 0)
		return PREPARED;
	/* the configuration changed since it was queued */
	to = endpoint_get(q, key, qe->req.resend != NULL);
	uq_remove(q, qe);
	uq_insert(q, to, qe);
	q->again = true;
	return PREPARED_WAIT;
}

static bool start_http(struct relay_queue *q, struct endpoint *ep,
		       struct queue_entry *qe)
{
	struct pushcore_http_request req;
	const char *error;

	if (entry_prepare(q, ep, qe) != PREPARED)
		return false;
	req = qe->req;
	req.max_attempts = 1;
	if (req.timeout_msecs == 0)
		req.timeout_msecs = HTTP_DEFAULT_TIMEOUT_MSECS;
	req.callback = http_done;
	req.context = qe;
	if (!pushcore_http_submit(&req, &error)) {
		struct pushcore_pool *pool = pushcore_pool_new();

		qe->e.attempts++;
		entry_fail(q, qe, ep->name, pushcore_psprintf(pool,
			"unusable request: %s", error));
		pushcore_pool_free(&pool);
		return false;
	}
	/* the request was copied */
	entry_drop_request(qe);
	qe->started = pushcore_mono_msecs();
	if (ep->in_flight == 0)
		ep->silent_since = qe->started;
	qe->in_flight = true;
	qe->uq->busy = true;
	ep->in_flight++;
	q->in_flight++;
	if (ep->circuit == CIRCUIT_PROBING)
		ep->probe = qe;
	return true;
}

/* How many attempts ep may start now. */
static unsigned int endpoint_slots(struct relay_queue *q, struct endpoint *ep)
{
	unsigned int slots;

	/* one XADD batch at a time (its end wakes the loop) */
	if (ep->resend && relay_resend_busy(q->xadd.resend))
		return 0;
	if (ep->hold_until > q->now)
		return 0;
	if (ep->circuit == CIRCUIT_OPEN) {
		if (ep->open_until > q->now)
			return 0;
		ep->circuit = CIRCUIT_PROBING;
		ep->probe = NULL;
	}
	if (ep->circuit == CIRCUIT_PROBING)
		slots = ep->probe == NULL ? 1 : 0;
	else
		slots = ep->in_flight < q->set.endpoint_concurrency ?
			q->set.endpoint_concurrency - ep->in_flight : 0;
	if (ep->in_flight + slots > q->set.endpoint_concurrency)
		slots = q->set.endpoint_concurrency > ep->in_flight ?
			q->set.endpoint_concurrency - ep->in_flight : 0;
	if (q->in_flight + slots > MAX_IN_FLIGHT)
		slots = MAX_IN_FLIGHT - q->in_flight;
	return slots;
}

/* One pass over ep's user queues, round robin: starts due heads while
   slots last; notes the earliest head not started. */
static void start_due_http(struct relay_queue *q, struct endpoint *ep,
			   unsigned int slots)
{
	struct user_queue *uq = ep->uq_head, *next;
	unsigned int n = ep->uq_count;
	long long next_due = LLONG_MAX;
	bool again = false;

	for (; uq != NULL && n > 0; uq = next, n--) {
		next = uq->next;
		if (uq->busy)
			continue;
		if (uq->head->due > q->now || slots == 0) {
			if (uq->head->due < next_due)
				next_due = uq->head->due;
			continue;
		}
		/* the queue may be freed by a failure: move it first */
		uq_unlink(uq);
		uq_append(uq);
		if (start_http(q, ep, uq->head))
			slots--;
		else
			again = true;
	}
	ep->next_due = next_due;
	/* not started (waits for a resolution, failed, moved): the queues
	   changed behind the pass, so look again next time */
	ep->dirty = again;
	if (again)
		q->again = true;
}

/* The due entries of ep, in order per user, up to max. */
static unsigned int xadd_collect(struct relay_queue *q, struct endpoint *ep,
				 struct queue_entry **batch, unsigned int max)
{
	struct user_queue *uq;
	struct queue_entry *qe;
	unsigned int n = 0;

	ep->next_due = LLONG_MAX;
	for (uq = ep->uq_head; uq != NULL; uq = uq->next) {
		for (qe = uq->head; qe != NULL; qe = qe->next) {
			if (qe->due > q->now || n == max) {
				if (qe->due < ep->next_due)
					ep->next_due = qe->due;
				break;
			}
			batch[n++] = qe;
		}
	}
	return n;
}

/* The outcome of the batch on its way, once it has finished. */
static void xadd_finish(struct relay_queue *q)
{
	struct xadd_batch *b = &q->xadd;
	struct attempt_result r = { .outcome = PUSHCORE_HTTP_OK, .count = true };
	struct endpoint *ep = b->ep;
	struct queue_entry *qe;
	unsigned int i, added;
	const char *error;

	if (!relay_resend_finished(b->resend, &added, &error))
		return;
	ep->in_flight--;
	q->in_flight--;
	ep->dirty = true;
	q->again = true;
	for (i = 0; i < b->count; i++) {
		qe = b->entries[i];
		qe->in_flight = false;
		entry_drop_request(qe);
		if (i == added) {
			r.outcome = PUSHCORE_HTTP_TEMPFAIL;
			r.error = error;
		} else if (i > added) {
			r.count = false;	/* one failure of the batch */
		}
		entry_finished(q, ep, qe, &r);
	}
	b->count = 0;
	b->ep = NULL;
}

/* One pipelined XADD batch to ep, sent beside the loop (bounded by the
   smallest timeout of its requests and XADD_MAX_MSECS). */
static void start_xadd(struct relay_queue *q, struct endpoint *ep,
		       unsigned int slots)
{
	struct xadd_batch *b = &q->xadd;
	struct queue_entry *batch[XADD_BATCH_MAX];
	unsigned int i, n, timeout = XADD_MAX_MSECS;
	struct user_queue *held = NULL, *uq;

	/* a probe is one XADD; else a whole batch, on the one connection */
	n = xadd_collect(q, ep, batch, ep->circuit == CIRCUIT_PROBING ?
			 slots : XADD_BATCH_MAX);
	ep->dirty = n > 0;
	b->count = 0;
	for (i = 0; i < n; i++) {
		/* a user's entries are side by side in the batch: once one
		   waits, the user's later ones wait too */
		if ((uq = batch[i]->uq) == held)
			continue;
		switch (entry_prepare(q, ep, batch[i])) {
		case PREPARED:
			break;
		case PREPARED_GONE:
			continue;
		case PREPARED_WAIT:
			held = uq;
			continue;
		}
		if (batch[i]->req.resend == NULL) {
			/* the configuration changed its driver since */
			batch[i]->e.attempts++;
			entry_fail(q, batch[i], ep->name, "the driver has no "
				   "resend operation any more");
			continue;
		}
		if (batch[i]->req.timeout_msecs > 0 && batch[i]->req.timeout_msecs < timeout)
			timeout = batch[i]->req.timeout_msecs;
		b->reqs[b->count] = &batch[i]->req;
		b->entries[b->count++] = batch[i];
	}
	if (b->count == 0)
		return;
	for (i = 0; i < b->count; i++) {
		entry_keep_request(b->entries[i]);
		b->entries[i]->in_flight = true;
	}
	b->ep = ep;
	ep->in_flight++;
	q->in_flight++;
	if (ep->circuit == CIRCUIT_PROBING)
		ep->probe = b->entries[0];
	relay_resend_start(b->resend, b->reqs, b->count, timeout);
	/* sent in the loop after all (no thread): its outcome now */
	xadd_finish(q);
}

static void start_due(struct relay_queue *q)
{
	struct endpoint *ep, *next;
	unsigned int slots;

	for (ep = q->endpoint_list; ep != NULL; ep = next) {
		next = ep->next;
		if (ep->entries == 0 || (slots = endpoint_slots(q, ep)) == 0)
			continue;
		if (!ep->dirty && ep->next_due > q->now)
			continue;
		if (!ep->resend)
			start_due_http(q, ep, slots);
		else
			start_xadd(q, ep, slots);
	}
}

/* --- run ---------------------------------------------------------------- */

static void incoming_remove(struct relay_queue *q, struct queue_entry *prev,
			    struct queue_entry *qe)
{
	if (prev != NULL)
		prev->next = qe->next;
	else
		q->incoming_head = qe->next;
	if (q->incoming_tail == qe)
		q->incoming_tail = prev;
	qe->next = NULL;
}

/* The configuration could not be read for qe: it stays unplaced, and
   so do its user's later entries, until a retry resolves it. */
static void incoming_later(struct relay_queue *q, struct queue_entry *qe)
{
	long long delay = relay_queue_backoff_msecs(&q->set, ++qe->resolve_failures);

	qe->resolve_due = q->now + delay;
	qe->e.next_attempt = (to_wall(q, qe->resolve_due) + 999) / 1000;
	count_send(q, UNRESOLVED, RELAY_SEND_RETRY);
	pushcore_log(PUSHCORE_LOG_WARNING, NULL, "relay: notification %s for %s "
		     "(%s) waits: %s; next try in %llds", qe->e.id, qe->e.user,
		     qe->e.driver, qe->e.last_error, (delay + 999) / 1000);
	q->store.retry(q->store.ctx, &qe->e, qe->tag, qe->e.attempts,
		       qe->e.next_attempt, qe->e.last_error);
}

/* Whether ep is likely to take an entry within send_first_msecs: its
   last answer came as quick, and it has not kept silent longer since.
   XADD batches go beside the loop, one at a time: never. */
static bool endpoint_quick(const struct relay_queue *q, const struct endpoint *ep)
{
	long long bound = q->set.send_first_msecs;

	return !ep->resend && ep->circuit == CIRCUIT_CLOSED &&
		ep->hold_until <= q->now && ep->answer_msecs <= bound &&
		(ep->silent_since == 0 ||
		 pushcore_mono_msecs() - ep->silent_since <= bound);
}

static void entry_place(struct relay_queue *q, struct endpoint *ep,
			struct queue_entry *qe)
{
	uq_insert(q, ep, qe);
	if (qe->tag != 0 && !endpoint_quick(q, ep))
		q->store.waits(q->store.ctx, &qe->e, qe->tag);
}

/* New entries find their endpoint, in order. */
static void place_incoming(struct relay_queue *q)
{
	struct queue_entry *qe, *prev = NULL, *next;
	struct hash waiting_users;
	const char *key = NULL, *error = NULL;
	int ret = 0;

	/* entries waiting for the configuration are not looked at again
	   before one of them is due */
	if (!q->incoming_changed && q->incoming_due > q->now)
		return;
	q->incoming_changed = false;
	q->incoming_due = LLONG_MAX;
	if (q->incoming_head == NULL)
		return;
	hash_init(&waiting_users);
	for (qe = q->incoming_head; qe != NULL; qe = next) {
		next = qe->next;
		if (hash_lookup(&waiting_users, qe->e.user) != NULL) {
			prev = qe;
			continue;
		}
		if (qe->resolve_due > q->now ||
		    (ret = entry_resolve(q, qe, &key, &error)) == -2) {
			if (qe->resolve_due <= q->now)
				incoming_later(q, qe);
			if (qe->resolve_due < q->incoming_due)
				q->incoming_due = qe->resolve_due;
			hash_insert(&waiting_users, qe->e.user, qe);
			prev = qe;
			continue;
		}
		if (ret == RESOLVE_DEFERRED) {
			q->incoming_changed = true;	/* the rest next time */
			break;
		}
		incoming_remove(q, prev, qe);
		if (ret < 0)
			entry_fail(q, qe, UNRESOLVED, error);
		else
			entry_place(q, endpoint_get(q, key, qe->req.resend != NULL), qe);
	}
	hash_deinit(&waiting_users);
}

static long long min_ll(long long a, long long b)
{
	return a < b ? a : b;
}

/* Fails expired entries (also those held back by a circuit) and forgets
   endpoints that have nothing left to remember. The entries are walked
   only when the earliest of them may have expired; the walk notes when
   the next one does. */
static void sweep(struct relay_queue *q)
{
	struct endpoint *ep, *next_ep;
	struct user_queue *uq, *next_uq;
	struct queue_entry *qe, *next_qe, *prev = NULL;
	bool walk = q->now >= q->next_expiry;

	if (walk)
		q->next_expiry = LLONG_MAX;
	for (qe = walk ? q->incoming_head : NULL; qe != NULL; qe = next_qe) {
		next_qe = qe->next;
		q->work.sweep_visited++;
		if (!entry_expired(q, qe)) {
			q->next_expiry = min_ll(q->next_expiry, entry_expiry(q, qe));
			prev = qe;
			continue;
		}
		incoming_remove(q, prev, qe);
		entry_expire(q, qe, UNRESOLVED);
	}
	for (ep = q->endpoint_list; ep != NULL; ep = next_ep) {
		next_ep = ep->next;
		for (uq = walk ? ep->uq_head : NULL; uq != NULL; uq = next_uq) {
			next_uq = uq->next;
			/* the queue is freed with its last entry */
			for (qe = uq->head; qe != NULL; qe = next_qe) {
				next_qe = qe->next;
				q->work.sweep_visited++;
				if (!qe->in_flight && entry_expired(q, qe))
					entry_expire(q, qe, ep->name);
				else	/* (in flight: its outcome expires it) */
					q->next_expiry = min_ll(q->next_expiry,
								entry_expiry(q, qe));
			}
		}
		if (ep->entries == 0 && ep->in_flight == 0 &&
		    ep->hold_until <= q->now &&
		    (ep->circuit == CIRCUIT_CLOSED ||
		     ep->open_until + ENDPOINT_FORGET_MSECS <= q->now))
			endpoint_free(q, ep);
	}
	q->next_sweep = q->now + SWEEP_MSECS;
}

static unsigned int next_wake(struct relay_queue *q)
{
	long long wake = q->count == 0 ? q->now + RELAY_IDLE_MSECS : q->next_sweep;
	struct endpoint *ep;
	int curl_msecs;

	if (q->again)
		return 0;
	wake = min_ll(wake, q->incoming_due);
	for (ep = q->endpoint_list; ep != NULL; ep = ep->next) {
		if (ep->entries == 0)
			continue;
		if (ep->hold_until > q->now)
			wake = min_ll(wake, ep->hold_until);
		else if (ep->circuit == CIRCUIT_OPEN)
			wake = min_ll(wake, ep->open_until);
		else if (endpoint_slots(q, ep) == 0)
			continue;	/* a completion wakes the loop */
		else if (ep->dirty)
			return 0;
		else if (ep->next_due != LLONG_MAX)
			wake = min_ll(wake, ep->next_due);
	}
	if ((curl_msecs = pushcore_http_timeout_msecs()) >= 0)
		wake = min_ll(wake, q->now + curl_msecs);
	return wake <= q->now ? 0 : (unsigned int)(wake - q->now);
}

unsigned int relay_queue_run(struct relay_queue *q)
{
	clock_update(q);
	q->run_started = pushcore_mono_msecs();
	q->again = false;
	xadd_finish(q);
	place_incoming(q);
	if (q->now >= q->next_sweep)
		sweep(q);
	pushcore_http_perform();
	clock_update(q);
	start_due(q);
	/* sends what was just started; finishes what completed meanwhile */
	pushcore_http_perform();
	while (q->resolved != NULL)
		entry_drop_request(q->resolved);
	clock_update(q);
	return next_wake(q);
}

int relay_queue_wait(struct relay_queue *q, struct pollfd *fds,
		     unsigned int nfds, unsigned int timeout_msecs)
{
	struct pollfd stack[128], *all = stack;
	unsigned int i, extra = 0, count;
	int ret;

	/* the extra descriptors and the XADD batch's after the caller's (on
	   the stack when few: this is every turn of the relay's loop) */
	if (nfds + q->extra.max + 1 > sizeof(stack) / sizeof(stack[0]))
		all = pushcore_xmalloc(sizeof(*all) * (nfds + q->extra.max + 1));
	if (nfds > 0)
		memcpy(all, fds, sizeof(*all) * nfds);
	if (q->extra.max > 0)
		extra = q->extra.add(q->extra.context, all + nfds, q->extra.max);
	count = nfds + extra;
	/* its end is seen by the next run() */
	if (relay_resend_busy(q->xadd.resend))
		all[count++] = (struct pollfd){
			.fd = relay_resend_fd(q->xadd.resend), .events = POLLIN };
	ret = pushcore_http_poll(all, count, timeout_msecs);
	if (ret > 0) {
		if (extra > 0)
			q->extra.ready(q->extra.context, all + nfds, extra);
		/* what the caller hears of: its own descriptors */
		ret = 0;
		for (i = 0; i < nfds; i++) {
			fds[i].revents = all[i].revents;
			if (fds[i].revents != 0)
				ret++;
		}
	}
	if (all != stack)
		free(all);
	return ret;
}

void relay_queue_set_extra_fds(struct relay_queue *q,
			       const struct relay_queue_extra_fds *extra)
{
	if (extra == NULL)
		memset(&q->extra, 0, sizeof(q->extra));
	else
		q->extra = *extra;
}

/* --- figures ------------------------------------------------------------ */

/* *oldest: the earlier of it and created (0: none yet) */
static void oldest_of(long long *oldest, long long created)
{
	if (created != 0 && (*oldest == 0 || created < *oldest))
		*oldest = created;
}

static int figures_cmp(const void *a, const void *b)
{
	const struct relay_queue_endpoint_figures *fa = a, *fb = b;

	return strcmp(fa->name, fb->name);
}

/* Whether a cached oldest (a birth in usecs, 0: none) must be looked up
   again by a walk: not when there is nothing (it is 0 then), nor within
   FIGURES_WALK_MSECS of the last walk. When due, it is reset for the
   walk to fill. */
static bool oldest_walk_due(long long *oldest_usecs, long long *walked,
			    bool empty, long long now)
{
	if (empty) {
		*oldest_usecs = 0;
		return false;
	}
	if (*oldest_usecs != 0 && now - *walked < FIGURES_WALK_MSECS)
		return false;
	*oldest_usecs = 0;
	*walked = now;
	return true;
}

void relay_queue_figures(struct relay_queue *q, struct pushcore_pool *pool,
			 struct relay_queue_figures *figures_r)
{
	struct relay_queue_endpoint_figures *row;
	struct endpoint_counters *c;
	struct endpoint *ep;
	struct user_queue *uq;
	struct queue_entry *qe;
	unsigned int n = 0;
	long long now;

	memset(figures_r, 0, sizeof(*figures_r));
	figures_r->queued = q->count;
	figures_r->in_flight = q->in_flight;
	figures_r->endpoints = pushcore_palloc(pool, sizeof(*row) *
					       (q->counters.count + 1));
	for (c = q->counter_list; c != NULL; c = c->next) {
		row = &figures_r->endpoints[n];
		memset(row, 0, sizeof(*row));
		row->name = pushcore_pstrdup(pool, c->name);
		memcpy(row->sends, c->sends, sizeof(row->sends));
		c->row = n++;
	}
	figures_r->endpoint_count = n;
	/* The oldest ages need a walk of every entry: with 100000 waiting
	   one took 20 ms of the relay's loop, and any local user may scrape
	   a loopback metrics_listen port again and again. So each endpoint's
	   (and the unplaced entries') oldest is looked up at most once per
	   FIGURES_WALK_MSECS, and may be that much behind; the counts are
	   always those of now. */
	now = pushcore_mono_msecs();
	if (oldest_walk_due(&q->incoming_oldest_usecs, &q->incoming_oldest_walked,
			    q->incoming_head == NULL, now)) {
		for (qe = q->incoming_head; qe != NULL; qe = qe->next) {
			q->work.figures_visited++;
			oldest_of(&q->incoming_oldest_usecs, qe->born * 1000);
		}
	}
	oldest_of(&figures_r->oldest_created_usecs, q->incoming_oldest_usecs);
	for (ep = q->endpoint_list; ep != NULL; ep = ep->next) {
		row = &figures_r->endpoints[ep->counters->row];
		row->queued += ep->entries;
		row->in_flight += ep->in_flight;
		if (oldest_walk_due(&ep->oldest_usecs, &ep->oldest_walked,
				    ep->entries == 0, now)) {
			for (uq = ep->uq_head; uq != NULL; uq = uq->next) {
				for (qe = uq->head; qe != NULL; qe = qe->next) {
					q->work.figures_visited++;
					oldest_of(&ep->oldest_usecs, qe->born * 1000);
				}
			}
		}
		oldest_of(&row->oldest_created_usecs, ep->oldest_usecs);
		oldest_of(&figures_r->oldest_created_usecs, row->oldest_created_usecs);
	}
	/* the ages are the queue's; the times reported, wall-clock ones */
	clock_update(q);
	for (unsigned int i = 0; i < n; i++) {
		if (figures_r->endpoints[i].oldest_created_usecs != 0)
			figures_r->endpoints[i].oldest_created_usecs -= q->skew * 1000;
	}
	if (figures_r->oldest_created_usecs != 0)
		figures_r->oldest_created_usecs -= q->skew * 1000;
	qsort(figures_r->endpoints, n, sizeof(*row), figures_cmp);
}

/* --- the rest of the interface ---------------------------------------------- */

void relay_queue_add(struct relay_queue *q, const struct pushcore_spool_entry *e)
{
	relay_queue_add_first(q, e, 0);
}

void relay_queue_add_first(struct relay_queue *q,
			   const struct pushcore_spool_entry *e,
			   unsigned long long tag)
{
	struct queue_entry *qe = entry_copy(q, e);

	qe->tag = tag;
	qe->seq = ++q->seq;
	if (q->incoming_tail != NULL)
		q->incoming_tail->next = qe;
	else
		q->incoming_head = qe;
	q->incoming_tail = qe;
	q->incoming_changed = true;
	q->count++;
	user_load_add(q, qe);
	q->next_expiry = min_ll(q->next_expiry, entry_expiry(q, qe));
}

/* Whether id is one of the ids (a hash of them; NULL: all are). */
static bool id_listed(struct relay_queue *q, const struct hash *ids, const char *id)
{
	struct hash_item *i;

	if (ids == NULL)
		return true;
	for (i = ids->buckets[hash_str(id) & (ids->size - 1)]; i != NULL; i = i->next) {
		q->work.retry_compared++;
		if (strcmp(i->key, id) == 0)
			return true;
	}
	return false;
}

unsigned int relay_queue_retry(struct relay_queue *q, const char *const *id_list)
{
	struct endpoint *ep;
	struct user_queue *uq;
	struct queue_entry *qe;
	unsigned int count = 0, before;
	struct hash id_hash, *ids = NULL;
	long long now;

	/* Every entry is looked up among the ids: in a hash, not compared
	   with each (pushadm relay retry of 1000 ids with 100000 waiting
	   took 1.15 s, nearly all of it in this loop; 0.3 s with the hash). */
	clock_update(q);
	now = q->now;
	if (id_list != NULL) {
		hash_init(&id_hash);
		for (; *id_list != NULL; id_list++)
			hash_insert(&id_hash, *id_list, (void *)*id_list);
		ids = &id_hash;
	}

	for (qe = q->incoming_head; qe != NULL; qe = qe->next) {
		if (id_listed(q, ids, qe->e.id)) {
			qe->due = 0;
			qe->resolve_due = 0;
			q->incoming_changed = true;
			count++;
		}
	}
	for (ep = q->endpoint_list; ep != NULL; ep = ep->next) {
		before = count;
		for (uq = ep->uq_head; uq != NULL; uq = uq->next) {
			for (qe = uq->head; qe != NULL; qe = qe->next) {
				if (!qe->in_flight && id_listed(q, ids, qe->e.id)) {
					qe->due = now;
					count++;
				}
			}
		}
		if (count == before)
			continue;
		/* the administrator asks for now: a probe at once, and no
		   Retry-After wait */
		if (ep->circuit == CIRCUIT_OPEN)
			ep->open_until = now;
		ep->hold_until = 0;
		ep->dirty = true;
	}
	if (ids != NULL)
		hash_deinit(ids);
	return count;
}

const struct relay_queue_work *relay_queue_work(const struct relay_queue *q)
{
	return &q->work;
}

unsigned int relay_queue_pending(const struct relay_queue *q)
{
	return q->count;
}

static int resolve_with_pushadm(void *context, struct pushcore_pool *pool,
				const struct pushcore_spool_entry *e,
				struct pushcore_http_request *req_r,
				const char **error_r)
{
	return pushadm_resolve(context, pool, e, req_r, error_r);
}

struct relay_queue *relay_queue_new(const struct relay_queue_settings *set,
				    struct pushadm_resolver *resolver,
				    const struct relay_queue_store *store)
{
	return relay_queue_new_with_resolver(set, resolve_with_pushadm,
					     resolver, store);
}

struct relay_queue *
relay_queue_new_with_resolver(const struct relay_queue_settings *set,
			      relay_queue_resolve_t *resolve, void *context,
			      const struct relay_queue_store *store)
{
	struct relay_queue *q = pushcore_xmalloc(sizeof(*q));

	memset(q, 0, sizeof(*q));
	q->set = *set;
	/* values that would stop sending altogether get the smallest that
	   works; relay.conf's parser refuses them before */
	if (q->set.endpoint_concurrency == 0)
		q->set.endpoint_concurrency = 1;
	if (q->set.backoff_secs == 0)
		q->set.backoff_secs = 1;
	if (q->set.max_backoff_secs < q->set.backoff_secs)
		q->set.max_backoff_secs = q->set.backoff_secs;
	if (q->set.circuit_secs == 0)
		q->set.circuit_secs = 1;
	q->store = *store;
	q->resolve = resolve;
	q->resolve_ctx = context;
	q->next_expiry = LLONG_MAX;
	q->clock_base = wall_msecs(q);
	q->boot_base = clock_msecs(CLOCK_BOOTTIME);
	clock_update(q);
	q->xadd.resend = relay_resend_new();
	hash_init(&q->endpoints);
	hash_init(&q->user_queues);
	hash_init(&q->user_loads);
	hash_init(&q->counters);
	/* the queue orders and bounds requests per endpoint itself; curl
	   keeps their connections alive */
	pushcore_http_set_connection_limits(0, MAX_CACHED_CONNECTIONS);
	return q;
}

static void user_loads_free(struct relay_queue *q)
{
	struct hash_item *i;
	struct user_load *load;
	unsigned int b;

	for (b = 0; b < q->user_loads.size; b++) {
		for (i = q->user_loads.buckets[b]; i != NULL; i = i->next) {
			load = i->value;
			free(load->user);
			free(load);
		}
	}
	hash_deinit(&q->user_loads);
}

void relay_queue_free(struct relay_queue **_q)
{
	struct relay_queue *q = *_q;
	struct queue_entry *qe;

	if (q == NULL)
		return;
	*_q = NULL;
	/* what is on the wire stays in the journal and is sent again; an
	   XADD batch is waited for (bounded by its timeout) */
	q->closing = true;
	pushcore_http_abort_all("the relay is stopping");
	relay_resend_free(&q->xadd.resend);
	while (q->xadd.count > 0)
		q->xadd.entries[--q->xadd.count]->in_flight = false;
	while ((qe = q->incoming_head) != NULL) {
		q->incoming_head = qe->next;
		entry_free(qe);
	}
	while (q->endpoint_list != NULL) {
		struct endpoint *ep = q->endpoint_list;

		while (ep->uq_head != NULL)
			entry_done(q, ep->uq_head->head);
		endpoint_free(q, ep);
	}
	hash_deinit(&q->endpoints);
	hash_deinit(&q->user_queues);
	user_loads_free(q);
	while (q->counter_list != NULL) {
		struct endpoint_counters *c = q->counter_list;

		q->counter_list = c->next;
		free(c->name);
		free(c);
	}
	hash_deinit(&q->counters);
	free(q);
}
