#define _GNU_SOURCE	/* strcasestr */
/* The HTTP sender against a real (tiny, threaded) HTTP server on loopback:
   parallel sends, connection reuse, retries, deadline, Basic auth, and the
   non-blocking use (perform, poll). */
#include "unit-test.h"
#include "pushcore.h"
#include "pushcore-unix.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_STATUSES 8
/* how long a server of a rendezvous waits for the others' requests */
#define RENDEZVOUS_MSECS 3000

/* Servers that answer only once all of them hold a request (or after
   RENDEZVOUS_MSECS): a sender that waits for one answer before sending the
   next request never gets them all there. */
struct rendezvous {
	pthread_mutex_t lock;
	unsigned int expected, arrived;
};

struct server {
	int fd, port;
	pthread_t thread;
	pthread_mutex_t lock;
	volatile bool stop;
	/* behaviour: statuses[i] answers the i-th request (last one repeats);
	   0 means never answer */
	int statuses[MAX_STATUSES];
	unsigned int status_count, delay_msecs;
	/* observations */
	unsigned int connections, requests, in_flight, max_in_flight;
	char last_request[2048];
	/* NULL, or the rendezvous it answers after; met: all requests of
	   the rendezvous were in before this server answered */
	struct rendezvous *meet;
	volatile bool met;
};

/* true when every server of r holds its request (bounded wait) */
static bool rendezvous_wait(struct rendezvous *r, struct server *srv)
{
	bool all = false;

	pthread_mutex_lock(&r->lock);
	r->arrived++;
	pthread_mutex_unlock(&r->lock);
	for (unsigned int t = 0; !srv->stop && t < RENDEZVOUS_MSECS / 10; t++) {
		pthread_mutex_lock(&r->lock);
		all = r->arrived >= r->expected;
		pthread_mutex_unlock(&r->lock);
		if (all)
			break;
		usleep(10000);
	}
	return all;
}

struct conn {
	struct server *srv;
	int fd;
};

static int next_status(struct server *srv)
{
	unsigned int i;

	pthread_mutex_lock(&srv->lock);
	i = srv->requests < srv->status_count ? srv->requests : srv->status_count - 1;
	srv->requests++;
	pthread_mutex_unlock(&srv->lock);
	return srv->statuses[i];
}

/* Reads one request (headers and Content-Length body); false at EOF. */
static bool read_request(struct conn *c, char *buf, size_t size)
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
	return true;
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct server *srv = c->srv;
	char buf[8192], resp[256];
	int status;

	while (read_request(c, buf, sizeof(buf))) {
		pthread_mutex_lock(&srv->lock);
		memcpy(srv->last_request, buf, sizeof(srv->last_request) - 1);
		if (++srv->in_flight > srv->max_in_flight)
			srv->max_in_flight = srv->in_flight;
		pthread_mutex_unlock(&srv->lock);
		status = next_status(srv);
		if (srv->meet != NULL)
			srv->met = rendezvous_wait(srv->meet, srv);
		for (unsigned int t = 0; !srv->stop &&
		     (status == 0 || t < srv->delay_msecs / 10); t++)
			usleep(10000);
		pthread_mutex_lock(&srv->lock);
		srv->in_flight--;
		pthread_mutex_unlock(&srv->lock);
		if (status == 0)
			break;
		snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\nok",
			 status);
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

		if (poll(&pfd, 1, 50) <= 0 || (fd = accept(srv->fd, NULL, NULL)) < 0)
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
	srv->fd = test_listen_loopback(16, &srv->port);
	pthread_create(&srv->thread, NULL, server_thread, srv);
}

static void server_stop(struct server *srv)
{
	srv->stop = true;
	pthread_join(srv->thread, NULL);
	close(srv->fd);
	usleep(150000);	/* connection threads see stop within 100 ms */
}

struct result_log {
	unsigned int calls;
	struct pushcore_http_result last;
	char error[256];
};

static void record_result(const struct pushcore_http_result *r, void *context)
{
	struct result_log *log = context;

	log->calls++;
	log->last = *r;
	snprintf(log->error, sizeof(log->error), "%s", r->error == NULL ? "" : r->error);
}

static bool submit(const char *url, unsigned int attempts, struct result_log *log)
{
	static const char *const headers[] = { "Content-Type: application/json", NULL };
	struct pushcore_http_request req = {
		.method = "PUT", .url = url, .headers = headers,
		.body = "{}", .body_len = 2, .timeout_msecs = 5000,
		.max_attempts = attempts, .callback = record_result, .context = log,
	};
	const char *error;

	return pushcore_http_submit(&req, &error);
}

static char *url_for(struct server *srv, const char *userinfo)
{
	static char url[128];

	snprintf(url, sizeof(url), "http://%s127.0.0.1:%d/notify", userinfo, srv->port);
	return url;
}

static void test_parallel_and_reuse(void)
{
	const int ok[] = { 200 };
	struct server srv[3];
	struct result_log logs[3];
	struct rendezvous meet = { .expected = 3 };

	memset(logs, 0, sizeof(logs));
	pthread_mutex_init(&meet.lock, NULL);
	for (int i = 0; i < 3; i++) {
		server_start(&srv[i], ok, 1, 0);
		srv[i].meet = &meet;
		test_assert(submit(url_for(&srv[i], ""), 1, &logs[i]));
	}
	pushcore_http_run(10000);
	for (int i = 0; i < 3; i++) {
		test_assert(logs[i].calls == 1);
		test_assert(logs[i].last.outcome == PUSHCORE_HTTP_OK);
		test_assert(logs[i].last.status == 200);
		/* the three endpoints were sent to at the same time: no server
		   answered before all three held their request (a serial sender
		   leaves the first waiting alone for RENDEZVOUS_MSECS) */
		test_assert(srv[i].met);
		srv[i].meet = NULL;
	}
	/* the next delivery in this process reuses the kept-alive connection */
	test_assert(submit(url_for(&srv[0], ""), 1, &logs[0]));
	pushcore_http_run(10000);
	test_assert(logs[0].calls == 2 && logs[0].last.outcome == PUSHCORE_HTTP_OK);
	test_assert(srv[0].connections == 1);
	test_assert(pushcore_http_pending() == 0);
	for (int i = 0; i < 3; i++)
		server_stop(&srv[i]);
}

static void test_one_endpoint_in_order(void)
{
	const int ok[] = { 200 };
	struct server srv;
	struct result_log logs[3];
	struct pushcore_http_request req = {
		.method = "POST", .timeout_msecs = 5000, .max_attempts = 1,
		.callback = record_result,
	};
	const char *error;
	char body[3][16];

	memset(logs, 0, sizeof(logs));
	server_start(&srv, ok, 1, 50);
	req.url = url_for(&srv, "");
	for (int i = 0; i < 3; i++) {
		snprintf(body[i], sizeof(body[i]), "n=%d", i);
		req.body = body[i];
		req.body_len = strlen(body[i]);
		req.context = &logs[i];
		test_assert(pushcore_http_submit(&req, &error));
	}
	pushcore_http_run(10000);
	/* one connection, requests one after another in queue order */
	test_assert(srv.connections == 1 && srv.max_in_flight == 1);
	test_assert(srv.requests == 3);
	test_assert(strstr(srv.last_request, "\r\n\r\nn=2") != NULL);
	for (int i = 0; i < 3; i++)
		test_assert(logs[i].calls == 1 && logs[i].last.outcome == PUSHCORE_HTTP_OK);
	server_stop(&srv);
}

static void test_retry_and_status(void)
{
	const int unavailable_then_ok[] = { 503, 200 };
	const int server_error[] = { 500 };
	const int not_found[] = { 404 };
	struct server srv;
	struct result_log log;

	memset(&log, 0, sizeof(log));
	server_start(&srv, unavailable_then_ok, 2, 0);
	test_assert(submit(url_for(&srv, ""), 2, &log));
	pushcore_http_run(10000);
	test_assert(log.calls == 1 && log.last.outcome == PUSHCORE_HTTP_OK);
	test_assert(log.last.attempts == 2 && srv.requests == 2);
	server_stop(&srv);

	memset(&log, 0, sizeof(log));
	server_start(&srv, server_error, 1, 0);
	test_assert(submit(url_for(&srv, ""), 2, &log));
	pushcore_http_run(10000);
	test_assert(log.calls == 1 && log.last.outcome == PUSHCORE_HTTP_TEMPFAIL);
	test_assert(log.last.status == 500 && log.last.attempts == 2);
	server_stop(&srv);

	memset(&log, 0, sizeof(log));
	server_start(&srv, not_found, 1, 0);
	test_assert(submit(url_for(&srv, ""), 3, &log));
	pushcore_http_run(10000);
	test_assert(log.calls == 1 && log.last.outcome == PUSHCORE_HTTP_PERMFAIL);
	test_assert(log.last.status == 404 && log.last.attempts == 1);
	server_stop(&srv);
}

static void test_deadline(void)
{
	const int hang[] = { 0 };
	struct server srv;
	struct result_log log;

	memset(&log, 0, sizeof(log));
	server_start(&srv, hang, 1, 0);
	test_assert(submit(url_for(&srv, ""), 3, &log));
	pushcore_http_run(300);
	test_assert(log.calls == 1);
	test_assert(log.last.outcome == PUSHCORE_HTTP_TEMPFAIL);
	test_assert(strstr(log.error, "time for notifications ran out") != NULL);
	test_assert(pushcore_http_pending() == 0);
	server_stop(&srv);
}

static void test_basic_auth(void)
{
	const int ok[] = { 200 };
	struct server srv;
	struct result_log log;

	memset(&log, 0, sizeof(log));
	server_start(&srv, ok, 1, 0);
	/* percent-decoded, as Dovecot's URL parser does: lo%67in = login */
	test_assert(submit(url_for(&srv, "lo%67in:pass@"), 1, &log));
	pushcore_http_run(10000);
	test_assert(strstr(srv.last_request, "Authorization: Basic bG9naW46cGFzcw==\r\n") != NULL);
	test_assert(strncmp(srv.last_request, "PUT /notify HTTP/1.1\r\n", 22) == 0);
	test_assert(strstr(srv.last_request, "Accept:") == NULL);
	/* a user without a password sends no credentials */
	test_assert(submit(url_for(&srv, "login@"), 1, &log));
	pushcore_http_run(10000);
	test_assert(log.calls == 2);
	test_assert(strstr(srv.last_request, "Authorization") == NULL);
	server_stop(&srv);
}

static void test_refused_and_bad_url(void)
{
	struct server srv;
	struct result_log log;
	const char *error;
	const int ok[] = { 200 };
	char url[128];

	/* a port that was just free: connections are refused */
	server_start(&srv, ok, 1, 0);
	snprintf(url, sizeof(url), "%s", url_for(&srv, ""));
	server_stop(&srv);
	memset(&log, 0, sizeof(log));
	test_assert(submit(url, 2, &log));
	pushcore_http_run(10000);
	test_assert(log.calls == 1 && log.last.outcome == PUSHCORE_HTTP_TEMPFAIL);
	test_assert(log.last.status == 0 && log.last.attempts == 2);
	test_assert(strstr(log.error, "onnect") != NULL);

	test_assert(!pushcore_http_url_valid("ftp://host/x", &error));
	test_assert(!pushcore_http_url_valid("http://[bad", &error));
	test_assert(pushcore_http_url_valid("https://u:p@host:8443/x", &error));
	test_assert(!submit("not a url", 1, &log));
}

/* Calls perform and poll until want callbacks arrived or max_msecs passed;
   returns the msecs it took. */
static long long drive_until(struct result_log *logs, unsigned int n,
			     unsigned int want, unsigned int max_msecs)
{
	long long start = pushcore_mono_msecs();
	unsigned int i, calls;

	for (unsigned int round = 0; round < 10000; round++) {
		pushcore_http_perform();
		for (i = 0, calls = 0; i < n; i++)
			calls += logs[i].calls;
		if (calls >= want || pushcore_mono_msecs() - start > max_msecs)
			break;
		test_assert(pushcore_http_poll(NULL, 0, 50) >= 0);
	}
	return pushcore_mono_msecs() - start;
}

static void test_nonblocking(void)
{
	const int ok[] = { 200 }, hang[] = { 0 };
	struct server fast, slow, dead;
	struct result_log logs[4];
	struct pollfd pfd;
	long long start, took;
	int pipefd[2];
	char byte = 'x';

	memset(logs, 0, sizeof(logs));
	/* the relay orders and bounds requests itself: several connections
	   to one host at a time */
	pushcore_http_set_connection_limits(0, 16);
	server_start(&fast, ok, 1, 0);
	server_start(&slow, ok, 1, 1000);
	server_start(&dead, hang, 1, 0);
	start = pushcore_mono_msecs();
	test_assert(submit(url_for(&slow, ""), 1, &logs[0]));
	test_assert(submit(url_for(&slow, ""), 1, &logs[1]));
	test_assert(submit(url_for(&fast, ""), 1, &logs[2]));
	test_assert(submit(url_for(&dead, ""), 1, &logs[3]));
	/* submitting and performing return at once */
	pushcore_http_perform();
	test_assert(pushcore_mono_msecs() - start < 200);
	test_assert(logs[2].calls == 0);
	/* the fast endpoint is done long before the slow one and without
	   waiting for the one that never answers */
	took = drive_until(&logs[2], 1, 1, 5000);
	test_assert(logs[2].calls == 1 && logs[2].last.outcome == PUSHCORE_HTTP_OK);
	test_assert(took < 800);
	test_assert(logs[0].calls == 0 && logs[1].calls == 0);
	took = drive_until(logs, 2, 2, 5000);
	test_assert(logs[0].calls == 1 && logs[1].calls == 1);
	/* both requests to the slow endpoint were open at once */
	test_assert(slow.max_in_flight == 2 && slow.connections == 2);
	test_assert(logs[3].calls == 0 && pushcore_http_pending() == 1);

	/* poll wakes up for the caller's own descriptor */
	test_assert(pipe(pipefd) == 0);
	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	test_assert(pushcore_http_poll(&pfd, 1, 10) == 0 && pfd.revents == 0);
	test_assert(write(pipefd[1], &byte, 1) == 1);
	start = pushcore_mono_msecs();
	test_assert(pushcore_http_poll(&pfd, 1, 5000) == 1);
	test_assert((pfd.revents & POLLIN) != 0);
	test_assert(pushcore_mono_msecs() - start < 1000);
	/* and for a hang-up (curl reports it as readable, poll(2) as
	   POLLHUP: either way the caller's read() sees the end) */
	test_assert(read(pipefd[0], &byte, 1) == 1);
	close(pipefd[1]);
	start = pushcore_mono_msecs();
	test_assert(pushcore_http_poll(&pfd, 1, 5000) == 1);
	test_assert((pfd.revents & (POLLIN | POLLHUP)) != 0);
	test_assert(pushcore_mono_msecs() - start < 1000);
	test_assert(read(pipefd[0], &byte, 1) == 0);
	close(pipefd[0]);

	/* the kept-alive connection is reused */
	test_assert(submit(url_for(&fast, ""), 1, &logs[2]));
	drive_until(&logs[2], 1, 2, 5000);
	test_assert(logs[2].calls == 2 && fast.connections == 1);

	/* what never finishes ends when asked to */
	pushcore_http_abort_all("stopping");
	test_assert(logs[3].calls == 1 && logs[3].last.outcome == PUSHCORE_HTTP_TEMPFAIL);
	test_assert_str(logs[3].error, "stopping");
	test_assert(pushcore_http_pending() == 0);
	pushcore_http_set_connection_limits(1, 0);
	server_stop(&fast);
	server_stop(&slow);
	server_stop(&dead);
}

/* A hostile endpoint: one connection at a time, each request answered
   with head (raw bytes, as given), then, as asked, a body of filler that
   never ends, and bytes dripped drip_msecs apart. */
struct raw_server {
	int fd, port;
	pthread_t thread;
	volatile bool stop;
	const char *head;		/* sent as is */
	bool endless;			/* then filler until the client goes */
	const char *filler;		/* NULL: 'x' */
	bool no_read;			/* never reads the request */
	unsigned int drip_msecs;	/* head byte by byte, this far apart */
	volatile unsigned long long sent;
};

static void raw_serve(struct raw_server *srv, int fd)
{
	char buf[8192], filler[16384];
	size_t i, len = strlen(srv->head), filler_len = sizeof(filler), off = 0;
	struct conn c = { .fd = fd };
	struct server dummy;

	memset(&dummy, 0, sizeof(dummy));
	dummy.stop = false;
	c.srv = &dummy;
	while (srv->no_read && !srv->stop)
		usleep(10000);
	if (srv->no_read || !read_request(&c, buf, sizeof(buf)))
		return;
	if (srv->drip_msecs == 0) {
		if (write(fd, srv->head, len) < 0)
			return;
	} else {
		for (i = 0; i < len && !srv->stop; i++) {
			if (write(fd, srv->head + i, 1) < 0)
				return;
			usleep(srv->drip_msecs * 1000);
		}
	}
	srv->sent += len;
	if (srv->filler == NULL)
		memset(filler, 'x', sizeof(filler));
	else {
		for (i = 0; i + strlen(srv->filler) <= sizeof(filler); i += strlen(srv->filler))
			memcpy(filler + i, srv->filler, strlen(srv->filler));
		filler_len = i;	/* whole copies only */
	}
	while (srv->endless && !srv->stop) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		/* whole fillers, however the writes are cut */
		if ((n = write(fd, filler + off, filler_len - off)) <= 0)
			return;
		off = (off + (size_t)n) % filler_len;
		srv->sent += (unsigned long long)n;
	}
}

static void *raw_thread(void *arg)
{
	struct raw_server *srv = arg;

	while (!srv->stop) {
		struct pollfd pfd = { .fd = srv->fd, .events = POLLIN };
		int fd;

		if (poll(&pfd, 1, 50) <= 0 || (fd = accept(srv->fd, NULL, NULL)) < 0)
			continue;
		raw_serve(srv, fd);
		close(fd);
	}
	return NULL;
}

static void raw_start(struct raw_server *srv, const char *head, bool endless,
		      unsigned int drip_msecs)
{
	memset(srv, 0, sizeof(*srv));
	srv->head = head;
	srv->endless = endless;
	srv->drip_msecs = drip_msecs;
	srv->fd = test_listen_loopback(16, &srv->port);
	pthread_create(&srv->thread, NULL, raw_thread, srv);
}

static void raw_stop(struct raw_server *srv)
{
	srv->stop = true;
	pthread_join(srv->thread, NULL);
	close(srv->fd);
}

/* One request to srv with this timeout; the result in *log. */
static long long raw_send(struct raw_server *srv, unsigned int timeout_msecs,
			  struct result_log *log)
{
	struct pushcore_http_request req = {
		.method = "POST", .body = "{}", .body_len = 2,
		.timeout_msecs = timeout_msecs, .max_attempts = 1,
		.callback = record_result, .context = log,
	};
	const char *error;
	char url[64];
	long long start = pushcore_mono_msecs();

	memset(log, 0, sizeof(*log));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv->port);
	req.url = url;
	test_assert(pushcore_http_submit(&req, &error));
	pushcore_http_run(timeout_msecs * 3);
	test_assert(log->calls == 1);
	return pushcore_mono_msecs() - start;
}

/* A body without end after a 2xx: the status is the answer, read at once
   (before: read at full speed until the timeout, then a "timed out"
   failure, and the notification the endpoint had was sent again). */
static void test_endless_body(void)
{
	struct raw_server srv;
	struct result_log log;
	long long took;

	raw_start(&srv, "HTTP/1.1 200 OK\r\n\r\n", true, 0);
	took = raw_send(&srv, 3000, &log);
	test_assert(log.last.outcome == PUSHCORE_HTTP_OK && log.last.status == 200);
	test_assert(log.last.body_len == 4096);
	test_assert(took < 2000);
	raw_stop(&srv);
	/* a failure status stays one */
	raw_start(&srv, "HTTP/1.1 503 X\r\nContent-Length: 999999999\r\n\r\n", true, 0);
	took = raw_send(&srv, 3000, &log);
	test_assert(log.last.outcome == PUSHCORE_HTTP_TEMPFAIL && log.last.status == 503);
	test_assert(took < 2000);
	raw_stop(&srv);
}

/* Headers without end fail with a cause that says so (curl's own is
   "Out of memory", or nothing until the timeout in older versions). */
static void test_endless_headers(void)
{
	struct raw_server srv;
	struct result_log log;
	long long took;

	static const char *const fillers[] = {
		"X-Filler: 0123456789\r\n",		/* thousands of headers */
		"HTTP/1.1 102 Processing\r\n\r\n",	/* interim answers */
	};

	for (unsigned int i = 0; i < sizeof(fillers) / sizeof(fillers[0]); i++) {
		raw_start(&srv, i == 0 ? "HTTP/1.1 200 OK\r\n" : "", true, 0);
		srv.filler = fillers[i];
		took = raw_send(&srv, 3000, &log);
		test_assert(log.last.outcome == PUSHCORE_HTTP_TEMPFAIL);
		test_assert(strstr(log.error, "headers go on beyond 64 KiB") != NULL);
		test_assert(took < 2000);
		raw_stop(&srv);
	}
	/* one header line without end: curl's own limit, named */
	raw_start(&srv, "HTTP/1.1 200 OK\r\nX-Filler: ", true, 0);
	took = raw_send(&srv, 3000, &log);
	test_assert(log.last.outcome == PUSHCORE_HTTP_TEMPFAIL && log.last.status == 0);
	test_assert(strstr(log.error, "response headers too large") != NULL);
	test_assert(took < 2000);
	raw_stop(&srv);
}

/* Retry-After beyond 32 bits, or a date decades ahead: clamped, never
   wrapped round to a small number (before: 4294967297 became 1 s). */
static void test_retry_after_bounds(void)
{
	static const char *const heads[] = {
		"HTTP/1.1 503 X\r\nRetry-After: 4294967297\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 503 X\r\nRetry-After: Fri, 31 Dec 2100 23:59:59 GMT\r\nContent-Length: 0\r\n\r\n",
	};
	struct raw_server srv;
	struct result_log log;

	for (unsigned int i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		raw_start(&srv, heads[i], false, 0);
		raw_send(&srv, 3000, &log);
		test_assert(log.last.outcome == PUSHCORE_HTTP_TEMPFAIL);
		test_assert(log.last.retry_after_secs == PUSHCORE_HTTP_RETRY_AFTER_MAX_SECS);
		raw_stop(&srv);
	}
	/* a negative one, one beyond 64 bits (curl can't read it) or a date
	   in the past means none: the backoff decides */
	raw_start(&srv, "HTTP/1.1 429 X\r\nRetry-After: 99999999999999999999\r\nContent-Length: 0\r\n\r\n", false, 0);
	raw_send(&srv, 3000, &log);
	test_assert(log.last.outcome == PUSHCORE_HTTP_TEMPFAIL && log.last.retry_after_secs == 0);
	raw_stop(&srv);
	raw_start(&srv, "HTTP/1.1 503 X\r\nRetry-After: -5\r\nContent-Length: 0\r\n\r\n", false, 0);
	raw_send(&srv, 3000, &log);
	test_assert(log.last.retry_after_secs == 0);
	raw_stop(&srv);
	raw_start(&srv, "HTTP/1.1 503 X\r\nRetry-After: Thu, 01 Jan 2004 00:00:00 GMT\r\nContent-Length: 0\r\n\r\n", false, 0);
	raw_send(&srv, 3000, &log);
	test_assert(log.last.retry_after_secs == 0);
	raw_stop(&srv);
}

/* Other misbehaviour, each with an outcome that loses nothing. */
static void test_misbehaving_endpoints(void)
{
	struct raw_server srv;
	struct result_log log;
	long long took;

	/* dripped one byte at a time: the attempt's timeout bounds it all */
	raw_start(&srv, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 200);
	took = raw_send(&srv, 1000, &log);
	test_assert(log.last.outcome == PUSHCORE_HTTP_TEMPFAIL);
	test_assert(strncmp(log.error, "timed out", 9) == 0);
	test_assert(took < 2000);
	raw_stop(&srv);
	/* takes the connection, never reads the request: the timeout too */
	{
		struct pushcore_http_request req = {
			.method = "POST", .body_len = 8 * 1024 * 1024,
			.timeout_msecs = 1000, .max_attempts = 1,
			.callback = record_result, .context = &log,
		};
		char url[64], *body = calloc(1, req.body_len);
		const char *error;
		long long start = pushcore_mono_msecs();

		raw_start(&srv, "", false, 0);
		srv.no_read = true;
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv.port);
		req.url = url;
		req.body = body;
		memset(&log, 0, sizeof(log));
		test_assert(pushcore_http_submit(&req, &error));
		pushcore_http_run(5000);
		test_assert(log.calls == 1 && log.last.outcome == PUSHCORE_HTTP_TEMPFAIL);
		test_assert(strncmp(log.error, "timed out", 9) == 0);
		test_assert(pushcore_mono_msecs() - start < 2000);
		raw_stop(&srv);
		free(body);
	}
	/* a redirect is not followed (the signed body stays where it was
	   configured to go): a permanent failure, kept for inspection */
	raw_start(&srv, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:1/x\r\n"
		  "Content-Length: 0\r\n\r\n", false, 0);
	raw_send(&srv, 1000, &log);
	test_assert(log.last.outcome == PUSHCORE_HTTP_PERMFAIL && log.last.status == 302);
	test_assert_str(log.error, "HTTP 302 (a redirect: not followed; url= must "
			"name the endpoint itself)");
	raw_stop(&srv);
	/* closed in the middle of the body: retried */
	raw_start(&srv, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", false, 0);
	raw_send(&srv, 1000, &log);
	test_assert(log.last.outcome == PUSHCORE_HTTP_TEMPFAIL && log.last.status == 0);
	raw_stop(&srv);
	/* HTTP/1.0, the body ends with the connection; a 102 before the answer */
	raw_start(&srv, "HTTP/1.0 200 OK\r\n\r\nfine", false, 0);
	raw_send(&srv, 1000, &log);
	test_assert(log.last.outcome == PUSHCORE_HTTP_OK && log.last.body_len == 4);
	raw_stop(&srv);
	raw_start(&srv, "HTTP/1.1 102 P\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, 0);
	raw_send(&srv, 1000, &log);
	test_assert(log.last.outcome == PUSHCORE_HTTP_OK && log.last.status == 200);
	raw_stop(&srv);
	/* not HTTP at all */
	raw_start(&srv, "\x1b[31mHELLO\r\n\r\n", false, 0);
	raw_send(&srv, 1000, &log);
	test_assert(log.last.outcome == PUSHCORE_HTTP_TEMPFAIL && log.last.status == 0);
	raw_stop(&srv);
}

/* An https endpoint (openssl s_server) whose self-signed certificate's
   subject carries terminal escapes and a line break. Returns its pid, or
   -1 when there is no openssl here; *port_r. */
static pid_t tls_server_start(const char *dir, int *port_r)
{
	char cmd[1024], port[16], cert[256], key[256];
	struct raw_server probe;
	pid_t pid;

	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 -nodes "
		 "-keyout %s -out %s -days 1 -subj \"/CN=$(printf "
		 "'evil\\033[31mRED\\033]0;t\\007\\nError: forged')\" "
		 ">/dev/null 2>&1", key, cert);
	if (system(cmd) != 0)
		return -1;
	/* a port that was just free */
	raw_start(&probe, "", false, 0);
	*port_r = probe.port;
	raw_stop(&probe);
	snprintf(port, sizeof(port), "%d", *port_r);
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execlp("openssl", "openssl", "s_server", "-quiet", "-accept", port,
		       "-cert", cert, "-key", key, "-www", (char *)NULL);
		_exit(127);
	}
	/* until it listens (at most 5 s) */
	for (int i = 0; i < 100; i++) {
		union {
			struct sockaddr sa;
			struct sockaddr_in sin;
		} addr = { .sin = { .sin_family = AF_INET,
				    .sin_port = htons((uint16_t)*port_r),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } };
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		bool up = connect(fd, &addr.sa, sizeof(addr.sin)) == 0;

		close(fd);
		if (up)
			break;
		usleep(50000);
	}
	return pid;
}

/* TLS verification is on unless asked off: a self-signed certificate
   fails as a temporary failure naming the cause, and when the CA is
   trusted but the name doesn't match, curl's error quotes the peer's
   subject with its escapes written out. */
static void test_tls_bad_certificate(void)
{
	char dir[] = "/tmp/test-http-tls.XXXXXX", url[64], ca[256], cmd[300];
	struct pushcore_http_request req = {
		.method = "POST", .body = "{}", .body_len = 2,
		.timeout_msecs = 3000, .max_attempts = 1,
		.callback = record_result,
	};
	struct result_log log;
	const char *error;
	int port, status;
	pid_t pid;

	test_assert(mkdtemp(dir) != NULL);
	if ((pid = tls_server_start(dir, &port)) < 0) {
		printf("  (skipped: no openssl command)\n");
		return;
	}
	snprintf(ca, sizeof(ca), "%s/cert.pem", dir);
	snprintf(url, sizeof(url), "https://localhost:%d/", port);
	req.url = url;
	req.context = &log;
	memset(&log, 0, sizeof(log));
	test_assert(pushcore_http_submit(&req, &error));
	pushcore_http_run(5000);
	test_assert(log.calls == 1 && log.last.outcome == PUSHCORE_HTTP_TEMPFAIL);
	test_assert(strncmp(log.error, "TLS certificate verification failed: ", 37) == 0);

	req.tls_ca_file = ca;
	memset(&log, 0, sizeof(log));
	test_assert(pushcore_http_submit(&req, &error));
	pushcore_http_run(5000);
	test_assert(log.calls == 1 && log.last.outcome == PUSHCORE_HTTP_TEMPFAIL);
	test_assert(strncmp(log.error, "TLS certificate verification failed: ", 37) == 0);
	test_assert(strstr(log.error, "evil\\x1b[31mRED\\x1b]0;t\\x07\\x0aError: forged") != NULL);
	test_assert(strpbrk(log.error, "\x1b\x07\n") == NULL);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	test_assert(system(cmd) == 0);
}

int main(void)
{
	test_run("http: parallel sends and connection reuse", test_parallel_and_reuse);
	test_run("http: one endpoint gets its requests in order", test_one_endpoint_in_order);
	test_run("http: retries and status classes", test_retry_and_status);
	test_run("http: deadline", test_deadline);
	test_run("http: basic auth from userinfo", test_basic_auth);
	test_run("http: refused and bad URLs", test_refused_and_bad_url);
	test_run("http: non-blocking perform and poll", test_nonblocking);
	test_run("http: a body without end", test_endless_body);
	test_run("http: headers without end", test_endless_headers);
	test_run("http: Retry-After clamped", test_retry_after_bounds);
	test_run("http: misbehaving endpoints", test_misbehaving_endpoints);
	test_run("http: TLS with a bad certificate", test_tls_bad_certificate);
	pushcore_http_deinit();
	return test_done();
}
