#define _GNU_SOURCE	/* strcasestr */
/* The relay's sending engine (tools/pushadm/pushadm-relay-queue.c) against
   real HTTP servers on loopback (threaded, in this process) that count
   connections, requests and requests in flight, and answer as each test
   scripts: order per user and endpoint under retries, one endpoint never
   delaying another, bounded concurrency with kept-alive connections, the
   circuit, Retry-After, permanent failures, maximum age, backoff. */
#include "unit-test.h"
#include "pushcore.h"
#include "pushadm-relay-queue.h"
#include "pushadm-resolve.h"
#include "pushcore-redis.h"
#include "pushcore-driver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_STATUSES 16
#define MAX_RECORDS 256
#define MAX_EVENTS 256

/* Replies: statuses[i] answers the i-th request (the last one repeats);
   HANG never answers, DROP closes the connection without an answer. */
#define HANG 0
#define DROP (-1)

struct record {
	long long msecs;	/* when it arrived */
	int status;		/* what it was answered */
	char body[64];
};

struct server {
	int fd, port;
	pthread_t thread;
	pthread_mutex_t lock;
	volatile bool stop;
	int statuses[MAX_STATUSES];
	unsigned int status_count, delay_msecs;
	const char *retry_after;	/* sent with 429 and 503 */
	volatile int heal;		/* non-zero: answer this from now on */
	/* observations */
	unsigned int connections, requests, in_flight, max_in_flight;
	struct record records[MAX_RECORDS];
};

struct conn {
	struct server *srv;
	int fd;
};

static long long now_msecs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads one request (headers and Content-Length body); false at EOF. */
static bool read_request(struct conn *c, char *buf, size_t size, char **body_r)
{
	size_t len = 0, body = 0;
	char *end = NULL, *cl;
	ssize_t n;

	while (end == NULL || len < (size_t)(end - buf) + 4 + body) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

		if (c->srv->stop || len + 1 >= size)
			return false;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = read(c->fd, buf + len, size - len - 1)) <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL &&
		    (cl = strcasestr(buf, "Content-Length:")) != NULL && cl < end)
			body = strtoul(cl + 15, NULL, 10);
	}
	*body_r = end + 4;
	return true;
}

/* Records the request and picks its answer. */
static int request_arrived(struct server *srv, const char *body)
{
	struct record *r = NULL;
	unsigned int i;
	int status;

	pthread_mutex_lock(&srv->lock);
	i = srv->requests < srv->status_count ? srv->requests : srv->status_count - 1;
	status = srv->heal != 0 ? srv->heal : srv->statuses[i];
	if (srv->requests < MAX_RECORDS)
		r = &srv->records[srv->requests];
	srv->requests++;
	if (r != NULL) {
		r->msecs = now_msecs();
		r->status = status;
		snprintf(r->body, sizeof(r->body), "%s", body);
	}
	if (++srv->in_flight > srv->max_in_flight)
		srv->max_in_flight = srv->in_flight;
	pthread_mutex_unlock(&srv->lock);
	return status;
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct server *srv = c->srv;
	char buf[8192], resp[256], extra[64] = "";
	char *body;
	int status;

	while (read_request(c, buf, sizeof(buf), &body)) {
		status = request_arrived(srv, body);
		for (unsigned int t = 0; !srv->stop &&
		     (status == HANG || t < srv->delay_msecs / 10); t++)
			usleep(10000);
		pthread_mutex_lock(&srv->lock);
		srv->in_flight--;
		pthread_mutex_unlock(&srv->lock);
		if (status == HANG || status == DROP)
			break;
		if (srv->retry_after != NULL && (status == 429 || status == 503))
			snprintf(extra, sizeof(extra), "Retry-After: %s\r\n",
				 srv->retry_after);
		snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\n%sContent-Length: 2"
			 "\r\n\r\nok", status, extra);
		if (write(c->fd, resp, strlen(resp)) < 0)
			break;
	}
	close(c->fd);
	free(c);
	return NULL;
}

static void *server_thread(void *arg)
{
	struct server *srv = arg;
	pthread_t t;

	while (!srv->stop) {
		struct pollfd pfd = { .fd = srv->fd, .events = POLLIN };
		struct conn *c;
		int fd;

		if (poll(&pfd, 1, 20) <= 0 || (fd = accept(srv->fd, NULL, NULL)) < 0)
			continue;
		c = malloc(sizeof(*c));
		c->srv = srv;
		c->fd = fd;
		pthread_mutex_lock(&srv->lock);
		srv->connections++;
		pthread_mutex_unlock(&srv->lock);
		pthread_create(&t, NULL, conn_thread, c);
		pthread_detach(t);
	}
	return NULL;
}

static void server_start(struct server *srv, const int *statuses,
			 unsigned int count, unsigned int delay_msecs)
{
	memset(srv, 0, sizeof(*srv));
	memcpy(srv->statuses, statuses, count * sizeof(*statuses));
	srv->status_count = count;
	srv->delay_msecs = delay_msecs;
	pthread_mutex_init(&srv->lock, NULL);
	srv->fd = test_listen_loopback(64, &srv->port);
	pthread_create(&srv->thread, NULL, server_thread, srv);
}

static void server_stop(struct server *srv)
{
	srv->stop = true;
	pthread_join(srv->thread, NULL);
	close(srv->fd);
	usleep(150000);	/* connection threads see stop within 100 ms */
	pthread_mutex_destroy(&srv->lock);
}

static unsigned int server_count(struct server *srv, unsigned int *connections_r)
{
	unsigned int n;

	pthread_mutex_lock(&srv->lock);
	n = srv->requests;
	if (connections_r != NULL)
		*connections_r = srv->connections;
	pthread_mutex_unlock(&srv->lock);
	return n;
}

/* --- the resolver: driver "srvN" is server N, "nosuch" does not exist --- */

#define MAX_SERVERS 4
static struct server *servers[MAX_SERVERS];
static unsigned int request_timeout_msecs = 3000;
/* the configuration can't be read for this user now */
static const char *unreadable_user = NULL;
/* how long each resolution takes (doveconf, the userdb) */
static unsigned int resolve_msecs = 0;

static int redis_resolve(struct pushcore_pool *pool,
			 const struct pushcore_spool_entry *e,
			 struct pushcore_http_request *req_r);

static int test_resolve(void *context __attribute__((unused)),
			struct pushcore_pool *pool,
			const struct pushcore_spool_entry *e,
			struct pushcore_http_request *req_r, const char **error_r)
{
	static const char *const headers[] = { "Content-Type: text/plain", NULL };
	unsigned int i;

	if (resolve_msecs > 0)
		usleep(resolve_msecs * 1000);
	if (unreadable_user != NULL && strcmp(e->user, unreadable_user) == 0) {
		*error_r = "doveconf failed";
		return -2;
	}
	if (strncmp(e->driver, "redis", 5) == 0)
		return redis_resolve(pool, e, req_r);
	if (strncmp(e->driver, "srv", 3) != 0 ||
	    (i = (unsigned int)(e->driver[3] - '0')) >= MAX_SERVERS ||
	    servers[i] == NULL) {
		*error_r = pushcore_psprintf(pool, "no driver %s for %s",
					     e->driver, e->user);
		return -1;
	}
	memset(req_r, 0, sizeof(*req_r));
	req_r->method = "POST";
	req_r->url = pushcore_psprintf(pool, "http://127.0.0.1:%d/notify",
				       servers[i]->port);
	req_r->headers = headers;
	req_r->body = pushcore_pstrndup(pool, e->body, e->body_len);
	req_r->body_len = e->body_len;
	req_r->timeout_msecs = request_timeout_msecs;
	return 0;
}

/* driver "redis": XADD to this Redis, "redis2" to that one, "redisstall"
   to a server that never answers; "redisdead": to a socket that does not
   exist */
static const char *redis_socket = NULL, *redis_socket2 = NULL;
static const char *redis_stall_socket = NULL;

/* the redis driver's resend operation, as its module has it: one
   pipeline of XADDs (the stream entry's fields in the context) */
static int resend_xadd(const struct pushcore_http_request *const *reqs,
		       unsigned int count, unsigned int timeout_msecs,
		       unsigned int *sent_r, const char **error_r)
{
	struct pushcore_redis_add adds[128];
	unsigned int i;

	test_assert(count <= 128);
	for (i = 0; i < count && i < 128; i++) {
		adds[i] = *(const struct pushcore_redis_add *)reqs[i]->resend_ctx;
		adds[i].json = reqs[i]->body;
		adds[i].json_len = reqs[i]->body_len;
	}
	return pushcore_redis_xadd(reqs[0]->url, reqs[0]->tls_ca_file,
				   timeout_msecs, adds, count, sent_r, error_r);
}
static const struct pushcore_resend test_xadd_resend = { .send = resend_xadd };

static int redis_resolve(struct pushcore_pool *pool,
			 const struct pushcore_spool_entry *e,
			 struct pushcore_http_request *req_r)
{
	struct pushcore_redis_add *add = pushcore_palloc(pool, sizeof(*add));

	add->stream = "relaytest";
	add->maxlen = 0;
	add->user = pushcore_pstrdup(pool, e->user);
	add->event = "MessageNew";
	add->id = pushcore_pstrdup(pool, e->id);
	memset(req_r, 0, sizeof(*req_r));
	req_r->method = "XADD";
	req_r->url = strcmp(e->driver, "redis") == 0 ?
		pushcore_psprintf(pool, "unix:%s", redis_socket) :
		strcmp(e->driver, "redis2") == 0 ?
		pushcore_psprintf(pool, "unix:%s", redis_socket2) :
		strcmp(e->driver, "redisstall") == 0 ?
		pushcore_psprintf(pool, "unix:%s", redis_stall_socket) :
		"unix:/nonexistent/relay-test/redis.sock";
	req_r->body = pushcore_pstrndup(pool, e->body, e->body_len);
	req_r->body_len = e->body_len;
	req_r->timeout_msecs = 1000;
	req_r->resend = &test_xadd_resend;
	req_r->resend_ctx = add;
	return 0;
}

/* The queue calls this only through relay_queue_new(), which these tests
   don't use. */
int pushadm_resolve(struct pushadm_resolver *r __attribute__((unused)),
		    struct pushcore_pool *pool __attribute__((unused)),
		    const struct pushcore_spool_entry *e __attribute__((unused)),
		    struct pushcore_http_request *req_r __attribute__((unused)),
		    const char **error_r __attribute__((unused)))
{
	abort();
}

/* --- the store: what the journal would be told --------------------------- */

enum store_kind { STORE_SENT, STORE_RETRY, STORE_FAILED, STORE_WAITS };

struct store_event {
	enum store_kind kind;
	char id[37];
	unsigned long long tag;
	unsigned int attempts;
	long long next_attempt, msecs;
	char text[128];		/* last error or reason */
};

struct store_log {
	unsigned int count;
	struct store_event events[MAX_EVENTS];
};

static struct store_event *store_add(struct store_log *log, enum store_kind kind,
				     const char *id)
{
	struct store_event *ev;

	if (log->count == MAX_EVENTS)
		abort();
	ev = &log->events[log->count++];
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->msecs = now_msecs();
	snprintf(ev->id, sizeof(ev->id), "%s", id);
	return ev;
}

static void store_sent(void *ctx, const struct pushcore_spool_entry *e,
		       unsigned long long tag)
{
	store_add(ctx, STORE_SENT, e->id)->tag = tag;
}

static void store_retry(void *ctx, const struct pushcore_spool_entry *e,
			unsigned long long tag, unsigned int attempts,
			long long next_attempt, const char *last_error)
{
	struct store_event *ev = store_add(ctx, STORE_RETRY, e->id);

	ev->tag = tag;
	ev->attempts = attempts;
	ev->next_attempt = next_attempt;
	snprintf(ev->text, sizeof(ev->text), "%s", last_error);
}

static void store_failed(void *ctx, const struct pushcore_spool_entry *e,
			 unsigned long long tag, const char *reason)
{
	struct store_event *ev = store_add(ctx, STORE_FAILED, e->id);

	ev->tag = tag;
	ev->attempts = e->attempts;
	snprintf(ev->text, sizeof(ev->text), "%s", reason);
}

static void store_waits(void *ctx, const struct pushcore_spool_entry *e,
			unsigned long long tag)
{
	store_add(ctx, STORE_WAITS, e->id)->tag = tag;
}

static unsigned int store_count(const struct store_log *log, enum store_kind kind,
				const char *id)
{
	unsigned int i, n = 0;

	for (i = 0; i < log->count; i++) {
		if (log->events[i].kind == kind &&
		    (id == NULL || strcmp(log->events[i].id, id) == 0))
			n++;
	}
	return n;
}

/* The first such event; one with id "missing" if there is none. */
static const struct store_event *store_find(const struct store_log *log,
					    enum store_kind kind, const char *id)
{
	static const struct store_event missing = { .id = "missing" };
	unsigned int i;

	for (i = 0; i < log->count; i++) {
		if (log->events[i].kind == kind && strcmp(log->events[i].id, id) == 0)
			return &log->events[i];
	}
	return &missing;
}

/* --- helpers --------------------------------------------------------------- */

static struct store_log store_log;

static struct relay_queue *queue_new(const struct relay_queue_settings *set)
{
	const struct relay_queue_store store = {
		.sent = store_sent, .retry = store_retry, .failed = store_failed,
		.waits = store_waits, .ctx = &store_log,
	};

	memset(&store_log, 0, sizeof(store_log));
	return relay_queue_new_with_resolver(set, test_resolve, NULL, &store);
}

/* An entry of user for driver, body "user:n", made age_secs ago (a
   negative age: in the future), due at next_attempt; not journaled yet
   when tag is not 0 (relay_queue_add_first()). */
static void add_tagged(struct relay_queue *q, const char *user,
		       const char *driver, unsigned int n, int age_secs,
		       long long next_attempt, unsigned long long tag)
{
	struct pushcore_spool_entry e;
	char body[64];

	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "%s-%s-%u", user, driver, n);
	snprintf(body, sizeof(body), "%s:%u", user, n);
	e.created_usecs = (now_msecs() - (long long)age_secs * 1000) * 1000;
	e.user = user;
	e.driver = driver;
	e.method = "POST";
	/* a record's own destination is never used */
	e.url = "http://192.0.2.1/never";
	e.body = body;
	e.body_len = strlen(body);
	e.next_attempt = next_attempt;
	if (tag == 0)
		relay_queue_add(q, &e);
	else
		relay_queue_add_first(q, &e, tag);
}

static void add_at(struct relay_queue *q, const char *user, const char *driver,
		   unsigned int n, int age_secs, long long next_attempt)
{
	add_tagged(q, user, driver, n, age_secs, next_attempt, 0);
}

static void add(struct relay_queue *q, const char *user, const char *driver,
		unsigned int n, unsigned int age_secs)
{
	add_at(q, user, driver, n, (int)age_secs, 0);
}

/* The relay's loop, until done() or max_msecs; returns the msecs it ran. */
static long long drive(struct relay_queue *q, bool (*done)(void *), void *ctx,
		       unsigned int max_msecs)
{
	long long start = now_msecs();
	unsigned int t, rounds;

	for (rounds = 0; rounds < 100000; rounds++) {
		t = relay_queue_run(q);
		if ((done != NULL && done(ctx)) || now_msecs() - start >= max_msecs)
			break;
		test_assert(relay_queue_wait(q, NULL, 0, t < 50 ? t : 50) >= 0);
	}
	return now_msecs() - start;
}

static bool queue_empty(void *ctx)
{
	return relay_queue_pending(ctx) == 0;
}

static const struct relay_queue_settings default_set = {
	.backoff_secs = 1, .max_backoff_secs = 2, .max_age_secs = 3600,
	.endpoint_concurrency = 4, .circuit_failures = 5, .circuit_secs = 2,
};

/* --- tests ----------------------------------------------------------------- */

static void test_order_under_retries(void)
{
	/* every third request fails, temporarily */
	const int flaky[] = { 503, 200, 200, 500, 200, 200, 500, 200, 200,
			      503, 200, 200, 200 };
	struct server srv;
	struct relay_queue *q;
	unsigned int i, u, next[3] = { 0, 0, 0 };

	server_start(&srv, flaky, sizeof(flaky) / sizeof(flaky[0]), 20);
	servers[0] = &srv;
	q = queue_new(&default_set);
	for (i = 0; i < 4; i++)
		for (u = 0; u < 3; u++)
			add(q, u == 0 ? "ann" : u == 1 ? "bob" : "cy", "srv0", i, 0);
	drive(q, queue_empty, q, 15000);
	test_assert(relay_queue_pending(q) == 0);
	test_assert(store_count(&store_log, STORE_SENT, NULL) == 12);
	test_assert(store_count(&store_log, STORE_FAILED, NULL) == 0);
	test_assert(store_count(&store_log, STORE_RETRY, NULL) == 4);
	/* what each user's endpoint received: never a later notification
	   before an earlier one was answered 2xx */
	for (i = 0; i < srv.requests && i < MAX_RECORDS; i++) {
		const struct record *r = &srv.records[i];

		u = r->body[0] == 'a' ? 0 : r->body[0] == 'b' ? 1 : 2;
		test_assert((unsigned int)atoi(strchr(r->body, ':') + 1) == next[u]);
		if (r->status == 200)
			next[u]++;
	}
	test_assert(next[0] == 4 && next[1] == 4 && next[2] == 4);
	test_assert(srv.requests == 16);
	/* other users went on while one was waiting for a retry */
	test_assert(srv.max_in_flight >= 2);
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&srv);
}

static struct server *hanging_server;

/* as many attempts as *ctx (an unsigned int) have an outcome: sent or
   a retry */
static bool attempts_reach(void *ctx)
{
	return store_count(&store_log, STORE_SENT, NULL) +
		store_count(&store_log, STORE_RETRY, NULL) >= *(unsigned int *)ctx;
}

/* the fast endpoint's three were answered, and the hanging one has its
   two */
static bool fast_done(void *ctx __attribute__((unused)))
{
	return store_count(&store_log, STORE_SENT, NULL) >= 3 &&
		server_count(hanging_server, NULL) >= 2;
}

static void test_endpoint_independence(void)
{
	const int hang[] = { HANG }, ok[] = { 200 };
	struct server dead, fast;
	struct relay_queue *q;
	long long start, took;

	server_start(&dead, hang, 1, 0);
	server_start(&fast, ok, 1, 0);
	servers[0] = &dead;
	servers[1] = &fast;
	request_timeout_msecs = 2000;
	q = queue_new(&default_set);
	start = now_msecs();
	/* the same users' earlier notifications wait on the hanging one */
	add(q, "ann", "srv0", 0, 0);
	add(q, "bob", "srv0", 0, 0);
	add(q, "ann", "srv1", 1, 0);
	add(q, "bob", "srv1", 1, 0);
	add(q, "cy", "srv1", 0, 0);
	hanging_server = &dead;
	took = drive(q, fast_done, NULL, 5000);
	test_assert(server_count(&fast, NULL) == 3);
	test_assert(store_count(&store_log, STORE_SENT, NULL) == 3);
	test_assert(store_count(&store_log, STORE_RETRY, NULL) == 0);
	/* arrived long before the hanging endpoint's 2 s timeout (with room
	   for a busy machine) */
	test_assert(took < 1500);
	test_assert(fast.records[2].msecs - start < 1500);
	test_assert(server_count(&dead, NULL) == 2);
	test_assert(relay_queue_pending(q) == 2);
	/* the hanging ones time out and wait for a retry */
	drive(q, NULL, NULL, 2500);
	test_assert(store_count(&store_log, STORE_RETRY, NULL) == 2);
	test_assert(strstr(store_find(&store_log, STORE_RETRY, "ann-srv0-0")->text,
			   "timed out") != NULL);
	relay_queue_free(&q);
	request_timeout_msecs = 3000;
	servers[0] = servers[1] = NULL;
	server_stop(&dead);
	server_stop(&fast);
}

/* The queue's side of relay.conf send_first: an entry not journaled yet
   is sent at once, and the journal is asked for it (waits) only when its
   endpoint's last answer was slow or failed. */
static void test_send_first(void)
{
	const int ok[] = { 200 }, down[] = { 503 }, hang[] = { HANG };
	struct relay_queue_settings set = default_set;
	struct server fast, slow, failing, hanging;
	struct relay_queue *q;
	unsigned int attempts;
	long long start;

	server_start(&fast, ok, 1, 0);
	server_start(&slow, ok, 1, 300);
	server_start(&failing, down, 1, 0);
	server_start(&hanging, hang, 1, 0);
	servers[0] = &fast;
	servers[1] = &slow;
	servers[2] = &failing;
	servers[3] = &hanging;
	set.send_first_msecs = 100;
	q = queue_new(&set);
	/* first ones: no answer known yet, so none waits */
	add_tagged(q, "ann", "srv0", 0, 0, 0, 10);
	add_tagged(q, "ann", "srv1", 0, 0, 0, 20);
	add_tagged(q, "ann", "srv2", 0, 0, 0, 30);
	start = now_msecs();
	/* each of the three has its outcome */
	attempts = 3;
	drive(q, attempts_reach, &attempts, 3000);
	test_assert(store_count(&store_log, STORE_WAITS, NULL) == 0);
	test_assert(store_find(&store_log, STORE_SENT, "ann-srv0-0")->tag == 10);
	test_assert(store_find(&store_log, STORE_SENT, "ann-srv1-0")->tag == 20);
	test_assert(store_find(&store_log, STORE_RETRY, "ann-srv2-0")->tag == 30);
	/* the fast one's answer came well within send_first, the slow one's
	   not (300 ms) */
	test_assert(fast.records[0].msecs - start < 100);
	/* second ones: the fast endpoint's goes as its first did; the slow
	   and the failing ones' are given to the journal when placed */
	add_tagged(q, "bob", "srv0", 1, 0, 0, 11);
	add_tagged(q, "bob", "srv1", 1, 0, 0, 21);
	add_tagged(q, "bob", "srv2", 1, 0, 0, 31);
	(void)relay_queue_run(q);
	test_assert(store_count(&store_log, STORE_WAITS, NULL) == 2);
	test_assert(store_find(&store_log, STORE_WAITS, "bob-srv1-1")->tag == 21);
	test_assert(store_find(&store_log, STORE_WAITS, "bob-srv2-1")->tag == 31);
	attempts = 6;
	drive(q, attempts_reach, &attempts, 3000);
	test_assert(store_find(&store_log, STORE_SENT, "bob-srv0-1")->tag == 11);
	test_assert(store_find(&store_log, STORE_SENT, "bob-srv1-1")->tag == 21);
	test_assert(store_count(&store_log, STORE_WAITS, NULL) == 2);
	/* entries of relay_queue_add() carry no tag and never wait */
	add(q, "cy", "srv1", 2, 0);
	(void)relay_queue_run(q);
	test_assert(store_count(&store_log, STORE_WAITS, NULL) == 2);
	/* an endpoint that hangs: its first answer never comes, but once it
	   has been silent longer than send_first, the next one waits */
	add_tagged(q, "dan", "srv3", 0, 0, 0, 40);
	drive(q, NULL, NULL, 150);
	test_assert(server_count(&hanging, NULL) == 1);
	test_assert(store_count(&store_log, STORE_WAITS, NULL) == 2);
	add_tagged(q, "eve", "srv3", 1, 0, 0, 41);
	(void)relay_queue_run(q);
	test_assert(store_find(&store_log, STORE_WAITS, "eve-srv3-1")->tag == 41);
	test_assert(store_count(&store_log, STORE_WAITS, NULL) == 3);
	relay_queue_free(&q);
	servers[0] = servers[1] = servers[2] = servers[3] = NULL;
	server_stop(&fast);
	server_stop(&slow);
	server_stop(&failing);
	server_stop(&hanging);
}

static void test_concurrency_and_keepalive(void)
{
	const int ok[] = { 200 };
	struct relay_queue_settings set = default_set;
	struct server srv;
	struct relay_queue *q;
	char user[16];
	unsigned int i, connections;

	set.endpoint_concurrency = 3;
	server_start(&srv, ok, 1, 150);
	servers[0] = &srv;
	q = queue_new(&set);
	for (i = 0; i < 12; i++) {
		snprintf(user, sizeof(user), "user%u", i);
		add(q, user, "srv0", 0, 0);
	}
	drive(q, queue_empty, q, 10000);
	test_assert(store_count(&store_log, STORE_SENT, NULL) == 12);
	test_assert(server_count(&srv, &connections) == 12);
	/* three at a time, never more, over three kept-alive connections */
	test_assert(srv.max_in_flight == 3);
	test_assert(connections == 3);
	/* later notifications reuse them */
	add(q, "late", "srv0", 0, 0);
	drive(q, queue_empty, q, 5000);
	test_assert(server_count(&srv, &connections) == 13 && connections == 3);
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&srv);
}

/* What one user has waiting is bounded by count and by bytes, apart from
   other users; what was sent makes room again. */
static void test_user_bounds(void)
{
	const int ok[] = { 200 };
	struct relay_queue_settings set = default_set;
	struct relay_queue_bound bound = { "", false };
	struct server srv;
	struct relay_queue *q;
	unsigned int i;

	set.max_user_entries = 3;
	set.max_user_bytes = 1024;
	server_start(&srv, ok, 1, 0);
	servers[0] = &srv;
	q = queue_new(&set);
	for (i = 0; i < 3; i++)
		add(q, "ann", "srv0", i, 0);
	test_assert(relay_queue_full_for(q, "ann", 1, &bound));
	test_assert_str(bound.setting, "max_queued_per_user");
	test_assert(bound.per_user);
	test_assert(!relay_queue_full_for(q, "bob", 1000, &bound));
	test_assert(relay_queue_full_for(q, "bob", 1025, &bound));
	test_assert_str(bound.setting, "max_queued_bytes_per_user");
	/* "ann:0" and the others: 15 bytes of ann's are counted */
	set.max_user_entries = 0;
	relay_queue_free(&q);
	q = queue_new(&set);
	for (i = 0; i < 3; i++)
		add(q, "ann", "srv0", i, 0);
	test_assert(!relay_queue_full_for(q, "ann", 1024 - 15, &bound));
	test_assert(relay_queue_full_for(q, "ann", 1024 - 14, &bound));
	test_assert_str(bound.setting, "max_queued_bytes_per_user");
	drive(q, queue_empty, q, 5000);
	test_assert(store_count(&store_log, STORE_SENT, NULL) == 3);
	test_assert(!relay_queue_full_for(q, "ann", 1024, &bound));
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&srv);
}

/* The relay-wide bounds hold every user back, counted over all users
   and given back as entries leave. */
static void test_relay_bounds(void)
{
	const int ok[] = { 200 };
	struct relay_queue_settings set = default_set;
	struct relay_queue_bound bound = { "", true };
	struct server srv;
	struct relay_queue *q;

	set.max_entries = 3;
	set.max_user_entries = 2;
	server_start(&srv, ok, 1, 0);
	servers[0] = &srv;
	q = queue_new(&set);
	add(q, "ann", "srv0", 0, 0);
	add(q, "bob", "srv0", 0, 0);
	test_assert(!relay_queue_full_for(q, "cid", 1, &bound));
	add(q, "cid", "srv0", 0, 0);
	test_assert(relay_queue_full_for(q, "dan", 1, &bound));
	test_assert_str(bound.setting, "max_queued");
	test_assert(!bound.per_user);
	/* "ann:0", "bob:0", "cid:0": 15 bytes in all */
	set.max_entries = 0;
	set.max_bytes = 20;
	relay_queue_free(&q);
	q = queue_new(&set);
	add(q, "ann", "srv0", 0, 0);
	add(q, "bob", "srv0", 0, 0);
	add(q, "cid", "srv0", 0, 0);
	test_assert(!relay_queue_full_for(q, "dan", 5, &bound));
	test_assert(relay_queue_full_for(q, "dan", 6, &bound));
	test_assert_str(bound.setting, "max_queued_bytes");
	test_assert(!bound.per_user);
	drive(q, queue_empty, q, 5000);
	test_assert(!relay_queue_full_for(q, "dan", 20, &bound));
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&srv);
}

static void test_circuit(void)
{
	const int drop[] = { DROP };
	struct relay_queue_settings set = default_set;
	struct server srv;
	struct relay_queue *q;
	unsigned int i, connections, opened_at_connections;
	long long opened_at = 0, start;
	char user[16];

	set.endpoint_concurrency = 2;
	set.circuit_failures = 3;
	set.circuit_secs = 2;
	server_start(&srv, drop, 1, 0);
	servers[0] = &srv;
	q = queue_new(&set);
	for (i = 0; i < 10; i++) {
		snprintf(user, sizeof(user), "user%u", i);
		add(q, user, "srv0", 0, 0);
	}
	/* connections fail until three in a row did */
	start = now_msecs();
	for (i = 0; i < 1000 && now_msecs() - start < 5000; i++) {
		unsigned int t = relay_queue_run(q);

		if (store_count(&store_log, STORE_RETRY, NULL) >= 3)
			break;
		test_assert(relay_queue_wait(q, NULL, 0, t < 20 ? t : 20) >= 0);
	}
	/* the circuit opened when the third failure came back */
	opened_at = store_log.events[2].msecs;
	/* the other one in flight then finishes (or had finished) */
	drive(q, NULL, NULL, 300);
	server_count(&srv, &opened_at_connections);
	test_assert(opened_at_connections >= 3 && opened_at_connections <= 4);
	test_assert(store_count(&store_log, STORE_RETRY, NULL) == opened_at_connections);
	/* open: no connection at all for circuit_secs, although the three
	   are due again after 1 s and the others never went */
	drive(q, NULL, NULL, (unsigned int)(opened_at + 1800 - now_msecs()));
	server_count(&srv, &connections);
	test_assert(connections == opened_at_connections);
	test_assert(store_count(&store_log, STORE_RETRY, NULL) == opened_at_connections);
	/* then one probe, which fails: open again */
	for (i = 0; i < 1000 && now_msecs() - opened_at < 4000; i++) {
		unsigned int t = relay_queue_run(q);

		if (server_count(&srv, &connections) > opened_at_connections)
			break;
		test_assert(relay_queue_wait(q, NULL, 0, t < 20 ? t : 20) >= 0);
	}
	drive(q, NULL, NULL, 200);
	server_count(&srv, &connections);
	test_assert(connections == opened_at_connections + 1);
	test_assert(srv.records[opened_at_connections].msecs - opened_at >= 1900);
	/* the endpoint comes back: the next probe closes the circuit and
	   everything goes */
	srv.heal = 200;
	drive(q, queue_empty, q, 5000);
	test_assert(relay_queue_pending(q) == 0);
	test_assert(store_count(&store_log, STORE_SENT, NULL) == 10);
	test_assert(srv.records[opened_at_connections + 1].msecs -
		    srv.records[opened_at_connections].msecs >= 1900);
	/* one failed probe, one that succeeded, then the other nine */
	test_assert(server_count(&srv, &connections) == opened_at_connections + 1 + 10);
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&srv);
}

static void test_retry_after(void)
{
	const int busy_then_ok[] = { 429, 200 };
	struct relay_queue_settings set = default_set;
	struct server srv;
	struct relay_queue *q;

	set.endpoint_concurrency = 1;
	set.max_backoff_secs = 10;
	server_start(&srv, busy_then_ok, 2, 0);
	srv.retry_after = "2";
	servers[0] = &srv;
	q = queue_new(&set);
	add(q, "ann", "srv0", 0, 0);
	add(q, "bob", "srv0", 0, 0);
	drive(q, queue_empty, q, 6000);
	test_assert(store_count(&store_log, STORE_SENT, NULL) == 2);
	test_assert(srv.requests == 3);
	test_assert(srv.records[0].status == 429);
	/* the endpoint asked for 2 s: for both users, not only the one it
	   answered, although the backoff is 1 s */
	test_assert(srv.records[1].msecs - srv.records[0].msecs >= 1950);
	test_assert(srv.records[1].msecs - srv.records[0].msecs < 3000);
	test_assert(store_find(&store_log, STORE_RETRY, "ann-srv0-0")->attempts == 1);
	test_assert_str(store_find(&store_log, STORE_RETRY, "ann-srv0-0")->text,
			"HTTP 429");
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&srv);
}

static void test_permanent_failures(void)
{
	const int not_found[] = { 404 }, moved[] = { 301 };
	struct server gone, redirect;
	struct relay_queue *q;
	const struct store_event *ev;

	server_start(&gone, not_found, 1, 0);
	server_start(&redirect, moved, 1, 0);
	servers[0] = &gone;
	servers[1] = &redirect;
	q = queue_new(&default_set);
	add(q, "ann", "srv0", 0, 0);
	add(q, "ann", "srv0", 1, 0);
	add(q, "ann", "srv1", 0, 0);
	add(q, "ann", "nosuch", 0, 0);
	drive(q, queue_empty, q, 5000);
	/* nothing more happens later */
	drive(q, NULL, NULL, 1500);
	test_assert(store_log.count == 4);
	test_assert(store_count(&store_log, STORE_FAILED, NULL) == 4);
	test_assert(store_count(&store_log, STORE_FAILED, "ann-srv0-0") == 1);
	test_assert(store_count(&store_log, STORE_FAILED, "ann-srv0-1") == 1);
	test_assert(gone.requests == 2 && redirect.requests == 1);
	ev = store_find(&store_log, STORE_FAILED, "ann-srv0-0");
	test_assert_str(ev->text, "HTTP 404");
	test_assert(ev->attempts == 1);
	test_assert_str(store_find(&store_log, STORE_FAILED, "ann-srv1-0")->text,
			"HTTP 301 (a redirect: not followed; url= must name the endpoint itself)");
	/* a record no configuration resolves: failed, nothing sent */
	ev = store_find(&store_log, STORE_FAILED, "ann-nosuch-0");
	test_assert_str(ev->text, "no driver nosuch for ann");
	test_assert(ev->attempts == 0);
	relay_queue_free(&q);
	servers[0] = servers[1] = NULL;
	server_stop(&gone);
	server_stop(&redirect);
}

static void test_max_age(void)
{
	const int unavailable[] = { 503 };
	struct relay_queue_settings set = default_set;
	struct server srv;
	struct relay_queue *q;
	const struct store_event *ev;

	set.max_age_secs = 3;
	set.circuit_failures = 0;
	server_start(&srv, unavailable, 1, 0);
	servers[0] = &srv;
	q = queue_new(&set);
	add(q, "ann", "srv0", 0, 1);
	/* already too old when it arrives: never sent */
	add(q, "bob", "srv0", 0, 4);
	drive(q, queue_empty, q, 6000);
	test_assert(relay_queue_pending(q) == 0);
	ev = store_find(&store_log, STORE_FAILED, "bob-srv0-0");
	test_assert(ev->attempts == 0);
	test_assert_str(ev->text, "expired after 0 attempts (last: none)");
	ev = store_find(&store_log, STORE_FAILED, "ann-srv0-0");
	test_assert(ev->attempts >= 2);
	test_assert(strstr(ev->text, "(last: HTTP 503)") != NULL);
	test_assert(store_count(&store_log, STORE_FAILED, NULL) == 2);
	test_assert(store_count(&store_log, STORE_SENT, NULL) == 0);
	/* every attempt was one request, and none after it expired */
	test_assert(srv.requests >= 2 &&
		    store_count(&store_log, STORE_RETRY, "ann-srv0-0") <= srv.requests &&
		    store_count(&store_log, STORE_RETRY, "ann-srv0-0") + 1 >= srv.requests);
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&srv);
}

static bool one_sent(void *ctx);

/* the wall clock the queue sees in test_clock_steps: stepped at will */
static long long wall_step_msecs = 0;

static long long stepped_wall_msecs(void)
{
	return now_msecs() + wall_step_msecs;
}

static unsigned int retries_seen = 0;

static bool retry_seen(void *ctx __attribute__((unused)))
{
	return store_count(&store_log, STORE_RETRY, NULL) > retries_seen;
}

/* The last retry the journal was told of. */
static const struct store_event *last_retry(void)
{
	for (unsigned int i = store_log.count; i > 0; i--) {
		if (store_log.events[i - 1].kind == STORE_RETRY)
			return &store_log.events[i - 1];
	}
	return NULL;
}

/* user's notification to a flaky endpoint, after its first failure, with
   the wall clock then stepped by step_msecs */
static struct relay_queue *clock_step_after_a_retry(struct server *srv,
						    const char *user,
						    long long step_msecs)
{
	static const int flaky[] = { 503, 503, 200 };
	struct relay_queue_settings set = default_set;
	struct relay_queue *q;

	set.max_age_secs = 60;
	set.circuit_failures = 0;
	set.wall_msecs = stepped_wall_msecs;
	wall_step_msecs = 0;
	server_start(srv, flaky, 3, 0);
	servers[0] = srv;
	q = queue_new(&set);
	add(q, user, "srv0", 0, 0);
	retries_seen = 0;
	drive(q, retry_seen, NULL, 3000);
	test_assert(store_count(&store_log, STORE_RETRY, NULL) == 1);
	wall_step_msecs = step_msecs;
	return q;
}

static void clock_step_end(struct server *srv, struct relay_queue **q)
{
	relay_queue_free(q);
	servers[0] = NULL;
	server_stop(srv);
	wall_step_msecs = 0;
}

/* A step of the wall clock (NTP's first sync at boot, date -s) moves no
   due time and ages no entry. On the wall clock, the step back held the
   retry for an hour, and the step forward expired it. */
static void test_clock_steps(void)
{
	const struct store_event *ev;
	struct server srv;
	struct relay_queue *q;
	long long took;

	/* back an hour between two attempts */
	q = clock_step_after_a_retry(&srv, "ann", -3600 * 1000LL);
	retries_seen = 1;
	took = drive(q, retry_seen, NULL, 4000);
	test_assert(store_count(&store_log, STORE_RETRY, NULL) == 2);
	test_assert(took < 2500);
	/* the journal's next attempt is a wall-clock time: the stepped one */
	ev = last_retry();
	test_assert(ev != NULL && ev->next_attempt * 1000 >= stepped_wall_msecs() &&
		    ev->next_attempt * 1000 <= stepped_wall_msecs() + 3000);
	took = drive(q, one_sent, NULL, 4000);
	test_assert(store_count(&store_log, STORE_SENT, "ann-srv0-0") == 1);
	test_assert(took < 2500);
	clock_step_end(&srv, &q);

	/* forward two days (max_age is a minute) while it waits */
	q = clock_step_after_a_retry(&srv, "bob", 2 * 86400 * 1000LL);
	drive(q, one_sent, NULL, 6000);
	test_assert(store_count(&store_log, STORE_FAILED, NULL) == 0);
	test_assert(store_count(&store_log, STORE_SENT, "bob-srv0-0") == 1);
	clock_step_end(&srv, &q);
}

static void test_backoff(void)
{
	const int failing[] = { 500, 500, 500, 200 };
	struct relay_queue_settings set = {
		.backoff_secs = 10, .max_backoff_secs = 3600,
	};
	unsigned int a, i, d, min, max;
	unsigned long long base;
	struct server srv;
	struct relay_queue *q;
	long long gap;

	/* the delay doubles up to the maximum, less up to a quarter of it */
	for (a = 1; a <= 20; a++) {
		base = 10000ULL << (a - 1 < 12 ? a - 1 : 12);
		if (base > 3600000)
			base = 3600000;
		min = UINT32_MAX;
		max = 0;
		for (i = 0; i < 200; i++) {
			d = relay_queue_backoff_msecs(&set, a);
			test_assert(d <= base && d >= base * 3 / 4);
			min = d < min ? d : min;
			max = d > max ? d : max;
		}
		/* jitter: not every retry at the same time */
		test_assert(max - min > base / 8);
	}

	/* and in the queue: 1 s, 2 s, 2 s (the maximum) less jitter */
	set = default_set;
	server_start(&srv, failing, 4, 0);
	servers[0] = &srv;
	q = queue_new(&set);
	add(q, "ann", "srv0", 0, 0);
	drive(q, queue_empty, q, 8000);
	test_assert(store_count(&store_log, STORE_SENT, NULL) == 1);
	test_assert(srv.requests == 4);
	for (i = 1; i < 4 && i < srv.requests; i++) {
		gap = srv.records[i].msecs - srv.records[i - 1].msecs;
		base = i == 1 ? 1000 : 2000;
		test_assert(gap >= (long long)(base * 3 / 4) - 10);
		test_assert(gap <= (long long)base + 600);
		test_assert(store_log.events[i - 1].kind == STORE_RETRY &&
			    store_log.events[i - 1].attempts == i);
	}
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&srv);
}

static void test_retry_now(void)
{
	const int unavailable_then_ok[] = { 503, 200 };
	struct relay_queue_settings set = default_set;
	struct server srv;
	struct relay_queue *q;
	const char *ids[] = { "ann-srv0-0", NULL };
	long long took;

	set.backoff_secs = 60;
	set.max_backoff_secs = 60;
	server_start(&srv, unavailable_then_ok, 2, 0);
	servers[0] = &srv;
	q = queue_new(&set);
	add(q, "ann", "srv0", 0, 0);
	drive(q, NULL, NULL, 300);
	test_assert(srv.requests == 1 && relay_queue_pending(q) == 1);
	/* pushadm relay retry: due now, not in a minute */
	test_assert(relay_queue_retry(q, ids) == 1);
	took = drive(q, queue_empty, q, 5000);
	test_assert(took < 1000);
	test_assert(store_count(&store_log, STORE_SENT, "ann-srv0-0") == 1);
	test_assert(relay_queue_retry(q, NULL) == 0);
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&srv);
}

static void test_configuration_unreadable(void)
{
	const int ok[] = { 200 };
	struct server srv;
	struct relay_queue *q;
	const struct store_event *ev;

	server_start(&srv, ok, 1, 0);
	servers[0] = &srv;
	q = queue_new(&default_set);
	unreadable_user = "ann";
	add(q, "ann", "srv0", 0, 0);
	add(q, "ann", "srv0", 1, 0);
	add(q, "bob", "srv0", 0, 0);
	drive(q, NULL, NULL, 500);
	/* others go on; ann's wait, in order, for the configuration */
	test_assert(srv.requests == 1 && strcmp(srv.records[0].body, "bob:0") == 0);
	test_assert(relay_queue_pending(q) == 2);
	ev = store_find(&store_log, STORE_RETRY, "ann-srv0-0");
	test_assert_str(ev->text, "doveconf failed");
	test_assert(ev->attempts == 0);
	test_assert(store_count(&store_log, STORE_FAILED, NULL) == 0);
	test_assert(store_count(&store_log, STORE_RETRY, "ann-srv0-1") == 0);
	unreadable_user = NULL;
	drive(q, queue_empty, q, 5000);
	test_assert(srv.requests == 3);
	test_assert_str(srv.records[1].body, "ann:0");
	test_assert_str(srv.records[2].body, "ann:1");
	test_assert(store_count(&store_log, STORE_SENT, NULL) == 3);
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&srv);
}

/* A private redis-server on a unix socket in a temporary directory. */
struct redis {
	char dir[64], socket_path[256];
	pid_t pid;
};

static bool redis_start(struct redis *r)
{
	char pidfile[256], logfile[256];

	if (access("/usr/bin/redis-server", X_OK) < 0)
		return false;
	snprintf(r->dir, sizeof(r->dir), "/tmp/relay-queue-test.XXXXXX");
	if (mkdtemp(r->dir) == NULL)
		return false;
	snprintf(r->socket_path, sizeof(r->socket_path), "%s/redis.sock", r->dir);
	snprintf(pidfile, sizeof(pidfile), "%s/redis.pid", r->dir);
	snprintf(logfile, sizeof(logfile), "%s/redis.log", r->dir);
	if ((r->pid = fork()) == 0) {
		execlp("redis-server", "redis-server", "--port", "0",
		       "--unixsocket", r->socket_path, "--save", "", "--appendonly",
		       "no", "--dir", r->dir, "--pidfile", pidfile, "--logfile",
		       logfile, (char *)NULL);
		_exit(127);
	}
	for (unsigned int i = 0; i < 100 && access(r->socket_path, F_OK) < 0; i++)
		usleep(50000);
	return access(r->socket_path, F_OK) == 0;
}

static void redis_stop(struct redis *r)
{
	static const char *const files[] = { "redis.sock", "redis.pid", "redis.log" };
	char path[256];
	unsigned int i;

	kill(r->pid, SIGTERM);
	for (i = 0; i < 100 && waitpid(r->pid, NULL, WNOHANG) == 0; i++)
		usleep(50000);
	if (i == 100) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", r->dir, files[i]);
		unlink(path);
	}
	test_assert(rmdir(r->dir) == 0);
}

/* A number from INFO (redis-cli), -1 if there is none. */
static long redis_info(const struct redis *r, const char *field)
{
	char cmd[512], line[256];
	long value = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "redis-cli -s %s INFO", r->socket_path);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':')
			value = atol(line + strlen(field) + 1);
	}
	pclose(f);
	return value;
}

/* What a shell command prints (up to size - 1 bytes). */
static void command_output(const char *cmd, char *out, size_t size)
{
	size_t len = 0;
	FILE *f;

	out[0] = '\0';
	if ((f = popen(cmd, "r")) == NULL)
		return;
	while (len + 1 < size && fgets(out + len, (int)(size - len), f) != NULL)
		len += strlen(out + len);
	pclose(f);
}

/* The stream's entries as "user json" lines, through redis-cli. */
static void redis_stream(const char *socket_path, char *out, size_t size)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "redis-cli -s %s --no-raw XRANGE relaytest - + "
		 "| grep -A1 -E '\\) \"(user|json)\"' | grep -v -E "
		 "'\"(user|json)\"|^--' | sed 's/.*\"\\(.*\\)\"/\\1/' "
		 "| paste -d' ' - -", socket_path);
	command_output(cmd, out, size);
}

/* The stream relaytest's entries' fields and values, a line each. */
static void redis_xrange(const char *socket_path, char *out, size_t size)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "redis-cli -s %s --raw XRANGE relaytest - + "
		 "| grep -v -E '^[0-9]+-[0-9]+$'", socket_path);
	command_output(cmd, out, size);
}

static void test_xadd(void)
{
	const int ok[] = { 200 };
	struct relay_queue_settings set = default_set;
	char stream[1024];
	struct server srv;
	struct relay_queue *q;
	struct redis redis;
	unsigned int i;

	if (!redis_start(&redis)) {
		printf("  (no redis-server: XADD not tested)\n");
		return;
	}
	redis_socket = redis.socket_path;
	set.circuit_failures = 2;
	server_start(&srv, ok, 1, 0);
	servers[0] = &srv;
	q = queue_new(&set);
	for (i = 0; i < 3; i++) {
		add(q, "ann", "redis", i, 0);
		add(q, "bob", "redis", i, 0);
		add(q, "cy", "redisdead", i, 0);
	}
	add(q, "cy", "srv0", 9, 0);
	drive(q, NULL, NULL, 600);
	/* both users' XADDs, each user's in order; the dead Redis failed
	   once for all its entries (one pipeline), and held nothing back */
	redis_stream(redis.socket_path, stream, sizeof(stream));
	test_assert_str(stream, "ann ann:0\nann ann:1\nann ann:2\n"
			"bob bob:0\nbob bob:1\nbob bob:2\n");
	test_assert(store_count(&store_log, STORE_SENT, NULL) == 7);
	test_assert(srv.requests == 1);
	test_assert(store_count(&store_log, STORE_RETRY, NULL) == 3);
	test_assert(strstr(store_find(&store_log, STORE_RETRY, "cy-redisdead-0")->text,
			   "No such file") != NULL);
	test_assert(relay_queue_pending(q) == 3);
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&srv);
	redis_socket = NULL;
	redis_stop(&redis);
}

static void test_xadd_two_servers(void)
{
	struct redis one, two;
	struct relay_queue *q;
	unsigned int i;

	if (!redis_start(&one) || !redis_start(&two)) {
		printf("  (no redis-server: XADD not tested)\n");
		return;
	}
	redis_socket = one.socket_path;
	redis_socket2 = two.socket_path;
	q = queue_new(&default_set);
	for (i = 0; i < 3; i++) {
		add(q, "ann", "redis", i, 0);
		add(q, "ann", "redis2", i, 0);
		drive(q, queue_empty, q, 3000);
	}
	test_assert(store_count(&store_log, STORE_SENT, NULL) == 6);
	/* the batches alternated between the servers over one kept
	   connection each (and INFO's own) */
	test_assert(redis_info(&one, "total_connections_received") == 2);
	test_assert(redis_info(&two, "total_connections_received") == 2);
	relay_queue_free(&q);
	pushcore_redis_deinit();
	redis_socket = redis_socket2 = NULL;
	redis_stop(&one);
	redis_stop(&two);
}

/* the redis module's entry (push-driver-redis.c, linked in) */
extern const struct pushcore_driver_module pushcore_driver_module;

/* The redis driver's rebuilt XADD (what a relay batch holds) outlives
   the user's settings: the resolver frees them when its cache entry is
   too old or makes room, while the batch may still be on its way beside
   the loop. */
static void test_xadd_outlives_settings(void)
{
	static const char body[] = "{\"event\":\"MessageNew\",\"user\":\"ann\"}";
	struct pushcore_spool_entry e;
	struct pushcore_http_request req;
	const struct pushcore_http_request *reqs[1] = { &req };
	struct pushcore_user *user;
	struct pushcore_pool *pool;
	struct redis redis;
	char spec[512], stream[1024], *junk[256];
	const char *error = NULL;
	unsigned int i, added = 0;

	if (!redis_start(&redis)) {
		printf("  (no redis-server: XADD not tested)\n");
		return;
	}
	pushcore_driver_register(pushcore_driver_module.drivers[0]);
	user = pushcore_user_new("ann", NULL, NULL);
	snprintf(spec, sizeof(spec), "redis:url=unix:%s stream=relaytest",
		 redis.socket_path);
	test_assert(pushcore_user_add_driver(user, "push_notification_driver",
					     spec, &error) == 0);
	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "rebuilt-0");
	e.user = "ann";
	e.driver = "push_notification_driver";
	e.method = "XADD";
	e.body = body;
	e.body_len = sizeof(body) - 1;
	pool = pushcore_pool_new();
	test_assert(pushcore_driver_rebuild(pushcore_user_find_driver(user,
		"push_notification_driver"), pool, &e, &req, &error) == 0);
	pushcore_user_free(&user);
	/* what was freed is written over (ASan: any read of it fails) */
	for (i = 0; i < 256; i++) {
		junk[i] = malloc(16u << (i % 10));
		memset(junk[i], 'X', 16u << (i % 10));
	}
	test_assert(pushcore_resend(reqs, 1, 1000, &added, &error) == 0 && added == 1);
	/* the entry as added to the stream the settings named */
	redis_xrange(redis.socket_path, stream, sizeof(stream));
	test_assert_str(stream, "user\nann\nevent\nMessageNew\n"
			"json\n{\"event\":\"MessageNew\",\"user\":\"ann\"}\n");
	for (i = 0; i < 256; i++)
		free(junk[i]);
	pushcore_pool_free(&pool);
	pushcore_driver_unregister(pushcore_driver_module.drivers[0]);
	redis_stop(&redis);
}

static bool one_sent(void *ctx __attribute__((unused)))
{
	return store_count(&store_log, STORE_SENT, NULL) >= 1;
}

static bool one_retry(void *ctx __attribute__((unused)))
{
	return store_count(&store_log, STORE_RETRY, NULL) >= 1;
}

/* A Redis server that accepts and never answers (a unix socket nobody
   accepts on): its batch waits beside the loop. An HTTP endpoint's
   notification leaves at once, and the batch fails after its timeout
   (1 s), to be retried. In the loop, the HTTP one waited for it. */
static void test_xadd_stalled(void)
{
	const int ok[] = { 200 };
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/relay-queue-stall.XXXXXX";
	struct server srv;
	struct relay_queue *q;
	long long took;
	int fd;

	test_assert(mkdtemp(dir) != NULL);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/redis.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	test_assert(fd >= 0 && bind(fd, (const void *)&addr, sizeof(addr)) == 0 &&
		    listen(fd, 4) == 0);
	redis_stall_socket = addr.sun_path;
	server_start(&srv, ok, 1, 0);
	servers[0] = &srv;
	q = queue_new(&default_set);
	add(q, "ann", "redisstall", 0, 0);
	add(q, "bob", "srv0", 0, 0);
	took = drive(q, one_sent, NULL, 3000);
	test_assert(store_count(&store_log, STORE_SENT, "bob-srv0-0") == 1);
	test_assert(took < 500);
	/* the XADD is still on its way: no outcome yet */
	test_assert(store_count(&store_log, STORE_RETRY, NULL) == 0);
	test_assert(relay_queue_pending(q) == 1);
	took += drive(q, one_retry, NULL, 3000);
	test_assert(store_count(&store_log, STORE_RETRY, "ann-redisstall-0") == 1);
	test_assert_str(store_find(&store_log, STORE_RETRY, "ann-redisstall-0")->text,
			"XADD failed: timed out");
	test_assert(took >= 900 && took < 2500);
	test_assert(relay_queue_pending(q) == 1);
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&srv);
	redis_stall_socket = NULL;
	close(fd);
	unlink(addr.sun_path);
	rmdir(dir);
}

static void test_slow_resolver(void)
{
	const int ok[] = { 200 };
	struct server srv;
	struct relay_queue *q;
	long long start;
	unsigned int i;

	server_start(&srv, ok, 1, 0);
	servers[0] = &srv;
	q = queue_new(&default_set);
	for (i = 0; i < 10; i++)
		add(q, "ann", "srv0", i, 0);
	resolve_msecs = 30;
	/* one turn of the loop resolves for about 50 ms, not for all ten */
	start = now_msecs();
	test_assert(relay_queue_run(q) == 0);
	test_assert(now_msecs() - start < 250);
	drive(q, queue_empty, q, 5000);
	resolve_msecs = 0;
	test_assert(store_count(&store_log, STORE_SENT, NULL) == 10);
	for (i = 0; i < 10 && i < srv.requests; i++) {
		char want[16];

		snprintf(want, sizeof(want), "ann:%u", i);
		test_assert_str(srv.records[i].body, want);
	}
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&srv);
}

static void test_configuration_changed(void)
{
	const int unavailable[] = { 503 }, ok[] = { 200 };
	struct server old_srv, new_srv;
	struct relay_queue *q;

	server_start(&old_srv, unavailable, 1, 0);
	server_start(&new_srv, ok, 1, 0);
	servers[0] = &old_srv;
	q = queue_new(&default_set);
	add(q, "ann", "srv0", 0, 0);
	add(q, "ann", "srv0", 1, 0);
	drive(q, NULL, NULL, 300);
	test_assert(old_srv.requests == 1);
	/* the driver's URL changed: the retry goes where it says now */
	servers[0] = &new_srv;
	drive(q, queue_empty, q, 5000);
	test_assert(old_srv.requests == 1 && new_srv.requests == 2);
	test_assert_str(new_srv.records[0].body, "ann:0");
	test_assert_str(new_srv.records[1].body, "ann:1");
	test_assert(store_count(&store_log, STORE_SENT, NULL) == 2);
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&old_srv);
	server_stop(&new_srv);
}

static void test_far_future(void)
{
	const int ok[] = { 200 };
	struct relay_queue_settings set = default_set;
	struct server srv;
	struct relay_queue *q;
	long long took;

	set.max_backoff_secs = 1;
	server_start(&srv, ok, 1, 0);
	servers[0] = &srv;
	q = queue_new(&set);
	/* made and due years from now: due within the longest backoff */
	add_at(q, "ann", "srv0", 0, -100000000, now_msecs() / 1000 + 100000000);
	add(q, "ann", "srv0", 1, 0);
	took = drive(q, queue_empty, q, 5000);
	test_assert(took < 2000);
	test_assert(srv.requests == 2);
	test_assert_str(srv.records[0].body, "ann:0");
	test_assert_str(srv.records[1].body, "ann:1");
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(&srv);
}

static bool five_outcomes(void *ctx __attribute__((unused)))
{
	return store_log.count >= 5;
}

static const struct relay_queue_endpoint_figures *
figures_row(const struct relay_queue_figures *f, const char *name)
{
	for (unsigned int i = 0; i < f->endpoint_count; i++) {
		if (strcmp(f->endpoints[i].name, name) == 0)
			return &f->endpoints[i];
	}
	return NULL;
}

static void test_figures(void)
{
	const int ok_then_gone[] = { 200, 404 }, unavailable[] = { 503 };
	struct relay_queue_settings set = default_set;
	const struct relay_queue_endpoint_figures *row;
	struct relay_queue_figures f;
	struct server ok, down;
	struct pushcore_pool *pool;
	struct relay_queue *q;
	char name0[128], name1[128];
	long long now;

	set.backoff_secs = set.max_backoff_secs = 60;	/* no second attempt */
	server_start(&ok, ok_then_gone, 2, 0);
	server_start(&down, unavailable, 1, 0);
	servers[0] = &ok;
	servers[1] = &down;
	q = queue_new(&set);
	add(q, "ann", "srv0", 0, 0);	/* sent */
	add(q, "ann", "srv0", 1, 0);	/* 404: failed */
	add(q, "bob", "srv1", 0, 5);	/* 503: retry, in an hour */
	add(q, "bob", "srv1", 1, 0);	/* waits behind it */
	add(q, "carl", "nosuch", 0, 0);	/* resolves nowhere: failed */
	add(q, "dave", "srv1", 0, 7200);	/* older than max_age: expired */
	drive(q, five_outcomes, NULL, 5000);
	drive(q, NULL, NULL, 300);	/* nothing more happens */
	test_assert(store_log.count == 5);
	pool = pushcore_pool_new();
	relay_queue_figures(q, pool, &f);
	now = now_msecs() * 1000;
	test_assert(f.queued == 2 && f.in_flight == 0);
	/* bob's first, made 5 s ago */
	test_assert(now - f.oldest_created_usecs >= 5000000 &&
		    now - f.oldest_created_usecs < 10000000);
	test_assert(f.endpoint_count == 3);
	snprintf(name0, sizeof(name0), "POST http://127.0.0.1:%d/notify", ok.port);
	snprintf(name1, sizeof(name1), "POST http://127.0.0.1:%d/notify", down.port);
	/* sorted by name: "(unresolved)" first */
	test_assert_str(f.endpoints[0].name, "(unresolved)");
	row = &f.endpoints[0];
	test_assert(row->queued == 0 && row->oldest_created_usecs == 0);
	test_assert(row->sends[RELAY_SEND_SENT] == 0 && row->sends[RELAY_SEND_RETRY] == 0 &&
		    row->sends[RELAY_SEND_FAILED] == 1 && row->sends[RELAY_SEND_EXPIRED] == 0);
	row = figures_row(&f, name0);
	test_assert(row != NULL && row->queued == 0 && row->oldest_created_usecs == 0);
	test_assert(row != NULL && row->sends[RELAY_SEND_SENT] == 1 &&
		    row->sends[RELAY_SEND_RETRY] == 0 && row->sends[RELAY_SEND_FAILED] == 1 &&
		    row->sends[RELAY_SEND_EXPIRED] == 0);
	row = figures_row(&f, name1);
	test_assert(row != NULL && row->queued == 2 && row->in_flight == 0 &&
		    row->oldest_created_usecs == f.oldest_created_usecs);
	test_assert(row != NULL && row->sends[RELAY_SEND_SENT] == 0 &&
		    row->sends[RELAY_SEND_RETRY] == 1 && row->sends[RELAY_SEND_FAILED] == 0 &&
		    row->sends[RELAY_SEND_EXPIRED] == 1);
	test_assert(ok.requests == 2 && down.requests == 1);
	pushcore_pool_free(&pool);
	relay_queue_free(&q);
	servers[0] = servers[1] = NULL;
	server_stop(&ok);
	server_stop(&down);
}


/* --- a large backlog: per-operation cost must not grow with it ------------ */

#define BACKLOG_USERS 50
#define BACKLOG_PER_USER 100
#define BACKLOG (BACKLOG_USERS * BACKLOG_PER_USER)

/* BACKLOG entries of BACKLOG_USERS users waiting for a server that answers
   503 (its circuit opens): an endpoint down for hours, in small. */
static struct relay_queue *backlog_new(struct server *srv,
				       const struct relay_queue_settings *set)
{
	static const int unavailable[] = { 503 };
	struct relay_queue *q;
	char user[16];
	unsigned int u, i;

	server_start(srv, unavailable, 1, 0);
	servers[0] = srv;
	q = queue_new(set);
	for (i = 0; i < BACKLOG_PER_USER; i++) {
		for (u = 0; u < BACKLOG_USERS; u++) {
			snprintf(user, sizeof(user), "u%02u", u);
			add(q, user, "srv0", i, 10);
		}
	}
	return q;
}

static void backlog_free(struct relay_queue *q, struct server *srv)
{
	relay_queue_free(&q);
	servers[0] = NULL;
	server_stop(srv);
}

static bool backlog_placed(void *ctx)
{
	struct relay_queue_figures f;
	struct pushcore_pool *pool = pushcore_pool_new();
	bool placed;

	relay_queue_figures(ctx, pool, &f);
	placed = f.endpoint_count == 1 && f.endpoints[0].queued == BACKLOG;
	pushcore_pool_free(&pool);
	return placed;
}

static void test_backlog_figures(void)
{
	struct relay_queue_settings set = default_set;
	struct relay_queue_figures f;
	struct pushcore_pool *pool;
	struct server srv;
	struct relay_queue *q;
	unsigned long long before;
	long long now;
	unsigned int i;

	set.backoff_secs = set.max_backoff_secs = 60;
	q = backlog_new(&srv, &set);
	drive(q, backlog_placed, q, 5000);
	test_assert(backlog_placed(q));
	/* a scraper that asks again and again: the entries are walked for
	   the oldest ages once (a second), not once per scrape */
	before = relay_queue_work(q)->figures_visited;
	pool = pushcore_pool_new();
	for (i = 0; i < 100; i++) {
		relay_queue_figures(q, pool, &f);
		test_assert(f.queued == BACKLOG && f.endpoint_count == 1 &&
			    f.endpoints[0].queued == BACKLOG);
	}
	now = now_msecs() * 1000;
	test_assert(f.oldest_created_usecs == f.endpoints[0].oldest_created_usecs);
	test_assert(now - f.oldest_created_usecs >= 10000000 &&
		    now - f.oldest_created_usecs < 20000000);
	test_assert(relay_queue_work(q)->figures_visited - before <= 2 * BACKLOG);
	/* and a second later, walked afresh */
	usleep(1100 * 1000);
	before = relay_queue_work(q)->figures_visited;
	relay_queue_figures(q, pool, &f);
	test_assert(relay_queue_work(q)->figures_visited - before == BACKLOG);
	test_assert(f.oldest_created_usecs == f.endpoints[0].oldest_created_usecs);
	pushcore_pool_free(&pool);
	backlog_free(q, &srv);
}

static void test_backlog_sweep(void)
{
	struct relay_queue_settings set = default_set;
	struct server srv;
	struct relay_queue *q;

	set.backoff_secs = set.max_backoff_secs = 60;
	set.max_age_secs = 24 * 3600;
	q = backlog_new(&srv, &set);
	/* more than two sweeps' time: none of them has an entry to expire
	   before a day, so none walks every entry */
	drive(q, NULL, NULL, 2500);
	test_assert(relay_queue_pending(q) == BACKLOG);
	test_assert(relay_queue_work(q)->sweep_visited == 0);
	backlog_free(q, &srv);
}

static void test_backlog_retry(void)
{
	struct relay_queue_settings set = default_set;
	const char *ids[BACKLOG / 5 + 1];
	char id_buf[BACKLOG / 5][40];
	struct server srv;
	struct relay_queue *q;
	unsigned int i;

	set.backoff_secs = set.max_backoff_secs = 60;
	q = backlog_new(&srv, &set);
	drive(q, backlog_placed, q, 5000);
	/* pushadm relay retry with many ids: every entry is looked up once,
	   not compared with every id */
	for (i = 0; i < BACKLOG / 5; i++) {
		snprintf(id_buf[i], sizeof(id_buf[i]), "u%02u-srv0-%u",
			 i % BACKLOG_USERS, i / BACKLOG_USERS + 1);
		ids[i] = id_buf[i];
	}
	ids[i] = NULL;
	test_assert(relay_queue_retry(q, ids) == BACKLOG / 5);
	test_assert(relay_queue_work(q)->retry_compared <= 4 * BACKLOG);
	backlog_free(q, &srv);
}

static const char *only;

/* With an argument, only the tests whose names contain it. */
static void run(const char *name, void (*test)(void))
{
	if (only == NULL || strstr(name, only) != NULL)
		test_run(name, test);
}

int main(int argc, char *argv[])
{
	only = argc > 1 ? argv[1] : NULL;
	srand((unsigned int)getpid());
	run("relay queue: each user's order per endpoint under retries",
		 test_order_under_retries);
	run("relay queue: a hanging endpoint delays no other",
		 test_endpoint_independence);
	run("relay queue: entries sent before the journal; slow endpoints' wait",
	    test_send_first);
	run("relay queue: concurrency per endpoint, kept-alive connections",
		 test_concurrency_and_keepalive);
	run("relay queue: circuit", test_circuit);
	run("relay queue: what one user may have waiting", test_user_bounds);
	run("relay queue: what all users may have waiting", test_relay_bounds);
	run("relay queue: Retry-After", test_retry_after);
	run("relay queue: permanent failures fail once", test_permanent_failures);
	run("relay queue: maximum age", test_max_age);
	run("relay queue: backoff with jitter", test_backoff);
	run("relay queue: a step of the wall clock", test_clock_steps);
	run("relay queue: figures (depth, oldest, sends by result)", test_figures);
	run("relay queue: retry now", test_retry_now);
	run("relay queue: configuration unreadable for a while",
	    test_configuration_unreadable);
	run("relay queue: XADD batches to Redis", test_xadd);
	run("relay queue: XADD to two Redis servers, connections kept",
	    test_xadd_two_servers);
	run("relay queue: a stalled Redis holds no other endpoint back",
	    test_xadd_stalled);
	run("relay queue: a rebuilt XADD outlives its user's settings",
	    test_xadd_outlives_settings);
	run("relay queue: a slow resolver doesn't hold the loop", test_slow_resolver);
	run("relay queue: a changed configuration moves entries",
	    test_configuration_changed);
	run("relay queue: a record dated in the future", test_far_future);
	run("relay queue: backlog: figures walk the entries once a second",
	    test_backlog_figures);
	run("relay queue: backlog: the sweep walks entries only when one expires",
	    test_backlog_sweep);
	run("relay queue: backlog: retry of many ids looks each entry up once",
	    test_backlog_retry);
	pushcore_http_deinit();
	pushcore_redis_deinit();
	return test_done();
}
