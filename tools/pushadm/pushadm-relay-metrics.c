/* The relay's queue figures, served (pushadm-relay-metrics.h).

   Two listeners, both optional: the stats socket (a unix socket beside the
   relay's, mode 0600, and only root's or the relay's own uid is answered,
   by SO_PEERCRED) and metrics_listen (loopback TCP or a unix socket whose
   mode and group relay.conf sets). Both speak just enough HTTP/1.1 for a
   scraper: one GET, one answer, close. /metrics is OpenMetrics text; the
   stats socket also answers /stats, the tab-separated form pushadm relay
   stats reads. */
#define _GNU_SOURCE	/* struct ucred, accept4 */
#include "pushadm.h"
#include "pushadm-relay-metrics.h"
#include "pushadm-relay.h"
#include "pushcore.h"
#include "pushcore-unix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* a request bigger than this, or slower than this, is not a scraper's */
#define METRICS_MAX_REQUEST 4096
#define METRICS_CLIENT_TIMEOUT_SECS 5
#define METRICS_ACCEPTS_PER_ROUND 8
/* pushadm relay stats waits this long for the relay's answer */
#define STATS_FETCH_TIMEOUT_SECS 10
#define STATS_MAX_ANSWER (16 * 1024 * 1024)

#define OPENMETRICS_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

enum listener_kind {
	LISTENER_STATS,		/* root only; /stats and /metrics */
	LISTENER_METRICS,	/* metrics_listen; /metrics */
	LISTENER_COUNT
};

struct metrics_client {
	int fd;
	bool admin;		/* came in on the stats socket */
	bool answering;		/* the request is read; out is being sent */
	time_t since;
	char in[METRICS_MAX_REQUEST];
	size_t in_len;
	struct pushcore_buf out;
	size_t out_sent;
};

/* what each descriptor of the last pollfds() was */
struct polled {
	int listener;		/* enum listener_kind, or -1 for a client */
	unsigned int client;
};

struct relay_metrics {
	struct relay_queue *queue;
	int listen_fds[LISTENER_COUNT];
	/* unix socket paths to remove at the end ("" for TCP or none) */
	char *paths[LISTENER_COUNT];
	ino_t inos[LISTENER_COUNT];
	struct metrics_client *clients[RELAY_METRICS_MAX_CLIENTS];
	unsigned int client_count;
	struct polled polled[RELAY_METRICS_MAX_FDS];
	unsigned int polled_count;
};

union metrics_addr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
	struct sockaddr_un un;
};

/* --- metrics_listen --------------------------------------------------------- */

/* "HOST:PORT" split; the host without brackets. false if not that shape. */
static bool split_host_port(const char *value, char *host, size_t host_size,
			    unsigned int *port_r)
{
	const char *colon, *host_start = value, *host_end;
	char *end;
	unsigned long port;

	if (value[0] == '[') {
		host_start = value + 1;
		if ((host_end = strchr(value, ']')) == NULL || host_end[1] != ':')
			return false;
		colon = host_end + 1;
	} else {
		if ((colon = strrchr(value, ':')) == NULL)
			return false;
		host_end = colon;
	}
	if ((size_t)(host_end - host_start) >= host_size || host_end == host_start)
		return false;
	memcpy(host, host_start, host_end - host_start);
	host[host_end - host_start] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port == 0 || port > 65535)
		return false;
	*port_r = (unsigned int)port;
	return true;
}

/* The loopback address of "HOST:PORT"; false with a reason. */
static bool listen_addr(const char *value, union metrics_addr *addr_r,
			socklen_t *len_r, const char **error_r)
{
	struct sockaddr_in *in4 = &addr_r->in4;
	struct sockaddr_in6 *in6 = &addr_r->in6;
	char host[64];
	unsigned int port;

	memset(addr_r, 0, sizeof(*addr_r));
	if (!split_host_port(value, host, sizeof(host), &port)) {
		*error_r = "expected 127.0.0.1:PORT, [::1]:PORT, localhost:PORT "
			"or the absolute path of a unix socket";
		return false;
	}
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		if ((ntohl(in4->sin_addr.s_addr) >> 24) != 127) {
			*error_r = "not a loopback address: the figures name "
				"endpoints, and are served on this machine only";
			return false;
		}
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len_r = sizeof(*in4);
		return true;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) {
			*error_r = "not a loopback address: the figures name "
				"endpoints, and are served on this machine only";
			return false;
		}
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len_r = sizeof(*in6);
		return true;
	}
	*error_r = "the host is not an IP address (use 127.0.0.1, ::1 or localhost)";
	return false;
}

bool relay_metrics_listen_valid(const char *value, const char **error_r)
{
	union metrics_addr addr;
	socklen_t len;

	if (value[0] == '\0')
		return true;
	if (value[0] == '/') {
		if (strlen(value) >= sizeof(addr.un.sun_path)) {
			*error_r = "the socket path is too long";
			return false;
		}
		return true;
	}
	return listen_addr(value, &addr, &len, error_r);
}

/* --- listening -------------------------------------------------------------- */

static int listen_tcp(struct relay_metrics *m, const char *value,
		      const char **error_r)
{
	static char error[300];
	union metrics_addr addr;
	socklen_t len;
	int fd, one = 1;

	if (!listen_addr(value, &addr, &len, error_r))
		return -1;
	fd = socket(addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, &addr.sa, len) < 0 || listen(fd, 16) < 0) {
		snprintf(error, sizeof(error), "metrics_listen = %s: %s", value,
			 strerror(errno));
		*error_r = error;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	m->listen_fds[LISTENER_METRICS] = fd;
	return 0;
}

/* A unix socket at path, owned by the relay's euid and gid. */
static int listen_unix(struct relay_metrics *m, enum listener_kind kind,
		       const char *path, const char *setting, mode_t mode,
		       gid_t gid, const char **error_r)
{
	int fd;

	fd = relay_unix_listen(path, setting, geteuid(), gid, mode, 16,
			       &m->inos[kind], error_r);
	if (fd < 0)
		return -1;
	m->listen_fds[kind] = fd;
	m->paths[kind] = pushcore_xstrdup(path);
	return 0;
}

struct relay_metrics *relay_metrics_new(struct relay_queue *q,
					const struct relay_metrics_settings *set,
					const char **error_r)
{
	struct relay_metrics *m = pushcore_xmalloc(sizeof(*m));
	int ret = 0;

	memset(m, 0, sizeof(*m));
	m->queue = q;
	m->listen_fds[LISTENER_STATS] = m->listen_fds[LISTENER_METRICS] = -1;
	if (set->stats_socket != NULL && set->stats_socket[0] != '\0')
		ret = listen_unix(m, LISTENER_STATS, set->stats_socket,
				  "stats_socket", 0600, getegid(), error_r);
	if (ret == 0 && set->listen != NULL && set->listen[0] == '/')
		ret = listen_unix(m, LISTENER_METRICS, set->listen,
				  "metrics_listen", set->socket_mode,
				  set->socket_gid, error_r);
	else if (ret == 0 && set->listen != NULL && set->listen[0] != '\0')
		ret = listen_tcp(m, set->listen, error_r);
	if (ret < 0)
		relay_metrics_free(&m);
	return m;
}

static void client_free(struct metrics_client *c)
{
	close(c->fd);
	pushcore_buf_free(&c->out);
	free(c);
}

void relay_metrics_free(struct relay_metrics **_m)
{
	struct relay_metrics *m = *_m;
	unsigned int i;

	if (m == NULL)
		return;
	*_m = NULL;
	for (i = 0; i < m->client_count; i++)
		client_free(m->clients[i]);
	for (i = 0; i < LISTENER_COUNT; i++) {
		relay_unix_close(&m->listen_fds[i], m->paths[i], m->inos[i]);
		free(m->paths[i]);
	}
	free(m);
}

/* --- the figures as text ------------------------------------------------------ */

/* an OpenMetrics label value: backslash, quote and newline escaped */
static void append_label(struct pushcore_buf *out, const char *name,
			 const char *value)
{
	pushcore_buf_printf(out, "%s=\"", name);
	for (; *value != '\0'; value++) {
		if (*value == '\\' || *value == '"')
			pushcore_buf_append_c(out, '\\');
		if (*value == '\n')
			pushcore_buf_append_str(out, "\\n");
		else
			pushcore_buf_append_c(out, *value);
	}
	pushcore_buf_append_c(out, '"');
}

/* method and endpoint labels from "METHOD URL" (or "(unresolved)") */
static void append_endpoint_labels(struct pushcore_buf *out, const char *name)
{
	const char *space = strchr(name, ' ');
	char method[16] = "";

	if (space != NULL && name[0] != '(' &&
	    (size_t)(space - name) < sizeof(method)) {
		memcpy(method, name, space - name);
		method[space - name] = '\0';
		name = space + 1;
	}
	append_label(out, "method", method);
	pushcore_buf_append_c(out, ',');
	append_label(out, "endpoint", name);
}

/* The age of the oldest notification: -1 when there is none, 0 when its
   time is ahead of the clock (set back since). */
static long long age_msecs(long long created_usecs, long long now_usecs)
{
	if (created_usecs == 0)
		return -1;
	return created_usecs > now_usecs ? 0 : (now_usecs - created_usecs) / 1000;
}

/* OpenMetrics has no "none": 0 then */
static double age_secs(long long created_usecs, long long now_usecs)
{
	long long msecs = age_msecs(created_usecs, now_usecs);

	return msecs < 0 ? 0 : (double)msecs / 1000.0;
}

static void family(struct pushcore_buf *out, const char *name, const char *type,
		   const char *unit, const char *help)
{
	pushcore_buf_printf(out, "# TYPE %s %s\n", name, type);
	if (unit != NULL)
		pushcore_buf_printf(out, "# UNIT %s %s\n", name, unit);
	pushcore_buf_printf(out, "# HELP %s %s\n", name, help);
}

void relay_metrics_openmetrics(const struct relay_queue_figures *f,
			       long long now_usecs, struct pushcore_buf *out)
{
	const struct relay_queue_endpoint_figures *e;
	unsigned int i, r;

	family(out, "push_notify_relay_queued", "gauge", NULL,
	       "Notifications the relay holds: journaled, not sent yet.");
	pushcore_buf_printf(out, "push_notify_relay_queued %u\n", f->queued);
	family(out, "push_notify_relay_in_flight", "gauge", NULL,
	       "Requests the relay has on the wire.");
	pushcore_buf_printf(out, "push_notify_relay_in_flight %u\n", f->in_flight);
	family(out, "push_notify_relay_oldest_age_seconds", "gauge", "seconds",
	       "Age of the oldest notification the relay holds (0: none).");
	pushcore_buf_printf(out, "push_notify_relay_oldest_age_seconds %.3f\n",
			    age_secs(f->oldest_created_usecs, now_usecs));
	family(out, "push_notify_relay_endpoint_queued", "gauge", NULL,
	       "Notifications waiting for this endpoint.");
	for (i = 0; i < f->endpoint_count; i++) {
		e = &f->endpoints[i];
		pushcore_buf_append_str(out, "push_notify_relay_endpoint_queued{");
		append_endpoint_labels(out, e->name);
		pushcore_buf_printf(out, "} %u\n", e->queued);
	}
	family(out, "push_notify_relay_endpoint_oldest_age_seconds", "gauge",
	       "seconds", "Age of the oldest notification waiting for this "
	       "endpoint (0: none).");
	for (i = 0; i < f->endpoint_count; i++) {
		e = &f->endpoints[i];
		pushcore_buf_append_str(out, "push_notify_relay_endpoint_oldest_age_seconds{");
		append_endpoint_labels(out, e->name);
		pushcore_buf_printf(out, "} %.3f\n",
				    age_secs(e->oldest_created_usecs, now_usecs));
	}
	family(out, "push_notify_relay_sends", "counter", NULL,
	       "Attempts since the relay started, by result: sent, retry "
	       "(failed, tried again later), failed (for good, kept aside), "
	       "expired (max_age passed, kept aside).");
	for (i = 0; i < f->endpoint_count; i++) {
		e = &f->endpoints[i];
		for (r = 0; r < RELAY_SEND_RESULT_COUNT; r++) {
			pushcore_buf_append_str(out, "push_notify_relay_sends_total{");
			append_endpoint_labels(out, e->name);
			pushcore_buf_append_c(out, ',');
			append_label(out, "result", relay_send_result_names[r]);
			pushcore_buf_printf(out, "} %llu\n", e->sends[r]);
		}
	}
	pushcore_buf_append_str(out, "# EOF\n");
}

/* a name in the tab-separated form: no tab or line break inside */
static void append_field(struct pushcore_buf *out, const char *value)
{
	for (; *value != '\0'; value++)
		pushcore_buf_append_c(out, (unsigned char)*value < 0x20 ? '?' : *value);
}

/* The /stats answer: "queue" QUEUED IN_FLIGHT OLDEST_MSECS, then one
   "endpoint" NAME QUEUED IN_FLIGHT OLDEST_MSECS SENT RETRY FAILED EXPIRED
   line per endpoint, tab-separated (an age of -1: none). */
static void stats_text(const struct relay_queue_figures *f, long long now_usecs,
		       struct pushcore_buf *out)
{
	const struct relay_queue_endpoint_figures *e;
	unsigned int i, r;

	pushcore_buf_printf(out, "queue\t%u\t%u\t%lld\n", f->queued, f->in_flight,
			    age_msecs(f->oldest_created_usecs, now_usecs));
	for (i = 0; i < f->endpoint_count; i++) {
		e = &f->endpoints[i];
		pushcore_buf_append_str(out, "endpoint\t");
		append_field(out, e->name);
		pushcore_buf_printf(out, "\t%u\t%u\t%lld", e->queued, e->in_flight,
				    age_msecs(e->oldest_created_usecs, now_usecs));
		for (r = 0; r < RELAY_SEND_RESULT_COUNT; r++)
			pushcore_buf_printf(out, "\t%llu", e->sends[r]);
		pushcore_buf_append_c(out, '\n');
	}
}

/* --- serving ------------------------------------------------------------------ */

static long long now_usecs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void answer(struct metrics_client *c, const char *status,
		   const char *type, const struct pushcore_buf *body)
{
	pushcore_buf_printf(&c->out, "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			    status, type, body->len);
	pushcore_buf_append(&c->out, body->data, body->len);
	c->answering = true;
}

/* The request is in: the answer goes to c->out. */
static void client_request(struct relay_metrics *m, struct metrics_client *c)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct relay_queue_figures figures;
	struct pushcore_buf body;
	char path[64] = "";
	char *end;

	pushcore_buf_init(&body);
	/* "GET /metrics HTTP/1.1": the path, up to '?' */
	if (strncmp(c->in, "GET ", 4) == 0 &&
	    (end = strpbrk(c->in + 4, " ?\r\n")) != NULL &&
	    (size_t)(end - (c->in + 4)) < sizeof(path)) {
		memcpy(path, c->in + 4, end - (c->in + 4));
		path[end - (c->in + 4)] = '\0';
	}
	if (strcmp(path, "/metrics") == 0 || strcmp(path, "/") == 0) {
		relay_queue_figures(m->queue, pool, &figures);
		relay_metrics_openmetrics(&figures, now_usecs(), &body);
		answer(c, "200 OK", OPENMETRICS_TYPE, &body);
	} else if (strcmp(path, "/stats") == 0 && c->admin) {
		relay_queue_figures(m->queue, pool, &figures);
		stats_text(&figures, now_usecs(), &body);
		answer(c, "200 OK", "text/tab-separated-values; charset=utf-8", &body);
	} else if (strncmp(c->in, "GET ", 4) != 0) {
		pushcore_buf_append_str(&body, "only GET /metrics is served here\n");
		answer(c, "405 Method Not Allowed", "text/plain; charset=utf-8", &body);
	} else {
		pushcore_buf_append_str(&body, "the figures are at /metrics\n");
		answer(c, "404 Not Found", "text/plain; charset=utf-8", &body);
	}
	pushcore_buf_free(&body);
	pushcore_pool_free(&pool);
}

/* false when c is done (answered, gone or broken) */
static bool client_write(struct metrics_client *c)
{
	ssize_t ret;

	while (c->out_sent < c->out.len) {
		ret = send(c->fd, c->out.data + c->out_sent, c->out.len - c->out_sent,
			   MSG_NOSIGNAL | MSG_DONTWAIT);
		if (ret < 0)
			return errno == EAGAIN || errno == EINTR;
		c->out_sent += (size_t)ret;
	}
	return false;
}

static bool client_read(struct relay_metrics *m, struct metrics_client *c)
{
	ssize_t ret;

	ret = recv(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len,
		   MSG_DONTWAIT);
	if (ret == 0 || (ret < 0 && errno != EAGAIN && errno != EINTR))
		return false;
	if (ret < 0)
		return true;
	c->in_len += (size_t)ret;
	c->in[c->in_len] = '\0';
	/* the request ends at an empty line; a scraper sends no body */
	if (strstr(c->in, "\r\n\r\n") == NULL && strstr(c->in, "\n\n") == NULL) {
		if (c->in_len + 1 < sizeof(c->in))
			return true;
		return false;	/* too big: not a scraper's */
	}
	client_request(m, c);
	return client_write(c);
}

/* Only root and the relay's own uid read the stats socket (its mode says
   so too). */
static bool peer_may_read(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
		(cred.uid == 0 || cred.uid == geteuid());
}

static void accept_clients(struct relay_metrics *m, enum listener_kind kind)
{
	struct metrics_client *c;
	unsigned int i;
	int fd;

	for (i = 0; i < METRICS_ACCEPTS_PER_ROUND; i++) {
		fd = accept4(m->listen_fds[kind], NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (m->client_count == RELAY_METRICS_MAX_CLIENTS ||
		    (kind == LISTENER_STATS && !peer_may_read(fd))) {
			close(fd);
			continue;
		}
		c = pushcore_xmalloc(sizeof(*c));
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->admin = kind == LISTENER_STATS;
		c->since = time(NULL);
		pushcore_buf_init(&c->out);
		m->clients[m->client_count++] = c;
	}
}

/* Closes the clients that are done or too slow. */
static void sweep_clients(struct relay_metrics *m, const bool *done)
{
	time_t now = time(NULL);
	unsigned int i, kept = 0;

	for (i = 0; i < m->client_count; i++) {
		if ((done != NULL && done[i]) ||
		    now - m->clients[i]->since >= METRICS_CLIENT_TIMEOUT_SECS)
			client_free(m->clients[i]);
		else
			m->clients[kept++] = m->clients[i];
	}
	m->client_count = kept;
}

unsigned int relay_metrics_pollfds(struct relay_metrics *m, struct pollfd *fds,
				   unsigned int max)
{
	unsigned int i, n = 0;

	sweep_clients(m, NULL);
	for (i = 0; i < LISTENER_COUNT && n < max; i++) {
		if (m->listen_fds[i] < 0)
			continue;
		fds[n] = (struct pollfd){ .fd = m->listen_fds[i], .events = POLLIN };
		m->polled[n++] = (struct polled){ .listener = (int)i };
	}
	for (i = 0; i < m->client_count && n < max; i++) {
		fds[n] = (struct pollfd){ .fd = m->clients[i]->fd,
			.events = m->clients[i]->answering ? POLLOUT : POLLIN };
		m->polled[n++] = (struct polled){ .listener = -1, .client = i };
	}
	m->polled_count = n;
	return n;
}

void relay_metrics_handle(struct relay_metrics *m, const struct pollfd *fds,
			  unsigned int count)
{
	bool done[RELAY_METRICS_MAX_CLIENTS] = { false };
	struct metrics_client *c;
	unsigned int i;

	if (count > m->polled_count)
		count = m->polled_count;
	/* clients first: accepting adds to the array the indexes point in */
	for (i = 0; i < count; i++) {
		if (m->polled[i].listener >= 0 || fds[i].revents == 0)
			continue;
		c = m->clients[m->polled[i].client];
		if (c->answering)
			done[m->polled[i].client] = !client_write(c);
		else
			done[m->polled[i].client] = !client_read(m, c);
	}
	sweep_clients(m, done);
	for (i = 0; i < count; i++) {
		if (m->polled[i].listener >= 0 && (fds[i].revents & POLLIN) != 0)
			accept_clients(m, (enum listener_kind)m->polled[i].listener);
	}
	m->polled_count = 0;
}

/* --- pushadm relay stats ------------------------------------------------------- */

/* GET /stats over the stats socket: the body, or -1 with errno */
static int stats_fetch(const char *path, struct pushcore_buf *answer_r)
{
	static const char request[] = "GET /stats HTTP/1.1\r\nHost: relay\r\n\r\n";
	long long deadline = pushcore_mono_msecs() + STATS_FETCH_TIMEOUT_SECS * 1000LL;
	char data[8192];
	ssize_t ret;
	int fd, err;

	if ((fd = pushcore_unix_connect(path, 0, deadline)) < 0)
		return -1;
	if (pushcore_unix_send_all(fd, request, sizeof(request) - 1, deadline) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	for (;;) {
		if ((ret = pushcore_unix_read(fd, data, sizeof(data), deadline)) < 0) {
			err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		if (ret == 0 || answer_r->len + (size_t)ret > STATS_MAX_ANSWER)
			break;
		pushcore_buf_append(answer_r, data, (size_t)ret);
	}
	close(fd);
	return 0;
}

static unsigned long long field_ull(const char *value)
{
	return strtoull(value, NULL, 10);
}

static const char *print_age(struct pushcore_pool *pool, const char *msecs)
{
	long long value = strtoll(msecs, NULL, 10);

	return pushcore_psprintf(pool, "%lld", value < 0 ? 0 : value / 1000);
}

int relay_stats_print(struct pushadm_ctx *ctx, const char *stats_socket)
{
	struct pushcore_pool *pool;
	struct pushcore_buf answer;
	unsigned long long totals[RELAY_SEND_RESULT_COUNT] = { 0 };
	char *body, *line, *save = NULL, *fields[16];
	const char *queue[3] = { "0", "0", "-1" };
	unsigned int i, n, rows = 0;
	char **row_fields = NULL;

	if (stats_socket[0] == '\0') {
		fprintf(stderr, "pushadm relay stats: no stats socket "
			"(push_notification_relay_socket is empty and relay.conf "
			"names no stats_socket)\n");
		return PUSHADM_EXIT_CONFIG;
	}
	pushcore_buf_init(&answer);
	if (stats_fetch(stats_socket, &answer) < 0) {
		int err = errno;

		pushcore_buf_free(&answer);
		if (err == ENOENT || err == ECONNREFUSED) {
			fprintf(stderr, "pushadm relay stats: the relay is not "
				"running (nothing answers on %s); its figures exist "
				"while it runs\n", stats_socket);
			return PUSHADM_EXIT_UNAVAILABLE;
		}
		if (err == EACCES || err == EPERM) {
			fprintf(stderr, "pushadm relay stats: only root may read "
				"the relay's figures (%s)\n", stats_socket);
			return PUSHADM_EXIT_NOPERM;
		}
		fprintf(stderr, "pushadm relay stats: %s: %s\n", stats_socket,
			strerror(err));
		return PUSHADM_EXIT_TEMPFAIL;
	}
	if (strncmp(answer.data, "HTTP/1.1 200 ", 13) != 0 ||
	    (body = strstr(answer.data, "\r\n\r\n")) == NULL) {
		/* the relay closes on a peer it does not answer */
		bool refused = answer.len == 0;

		fprintf(stderr, "pushadm relay stats: %s\n", refused ?
			"the relay did not answer (only root may read its figures)" :
			"the relay's answer is not its figures");
		pushcore_buf_free(&answer);
		return refused ? PUSHADM_EXIT_NOPERM : PUSHADM_EXIT_SOFTWARE;
	}
	pool = pushcore_pool_new();
	body += 4;
	for (line = strtok_r(body, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *tab_save = NULL, *f;

		for (n = 0, f = strtok_r(line, "\t", &tab_save); f != NULL && n < 16;
		     f = strtok_r(NULL, "\t", &tab_save))
			fields[n++] = f;
		if (n == 4 && strcmp(fields[0], "queue") == 0) {
			for (i = 0; i < 3; i++)
				queue[i] = pushcore_pstrdup(pool, fields[i + 1]);
		} else if (n == 5 + RELAY_SEND_RESULT_COUNT &&
			   strcmp(fields[0], "endpoint") == 0) {
			row_fields = pushcore_xrealloc(row_fields, sizeof(char *) *
						       (rows + 1) * 8);
			for (i = 0; i < 8; i++)
				row_fields[rows * 8 + i] = pushcore_pstrdup(pool, fields[i + 1]);
			for (i = 0; i < RELAY_SEND_RESULT_COUNT; i++)
				totals[i] += field_ull(fields[5 + i]);
			rows++;
		}
	}
	pushadm_print_init(ctx, PUSHADM_FORMAT_TABLE);
	pushadm_print_header("endpoint", "Endpoint");
	pushadm_print_header("queued", "Queued");
	pushadm_print_header("in_flight", "In flight");
	pushadm_print_header("oldest_secs", "Oldest (s)");
	for (i = 0; i < RELAY_SEND_RESULT_COUNT; i++)
		pushadm_print_header(relay_send_result_names[i],
				     pushcore_psprintf(pool, "%c%s",
					relay_send_result_names[i][0] - 'a' + 'A',
					relay_send_result_names[i] + 1));
	/* the whole queue first, then each endpoint */
	pushadm_print("(all)");
	pushadm_print(queue[0]);
	pushadm_print(queue[1]);
	pushadm_print(print_age(pool, queue[2]));
	for (i = 0; i < RELAY_SEND_RESULT_COUNT; i++)
		pushadm_print(pushcore_psprintf(pool, "%llu", totals[i]));
	for (n = 0; n < rows; n++) {
		char **r = row_fields + n * 8;

		/* the relay hid the credentials already */
		pushadm_print(r[0]);
		pushadm_print(r[1]);
		pushadm_print(r[2]);
		pushadm_print(print_age(pool, r[3]));
		for (i = 0; i < RELAY_SEND_RESULT_COUNT; i++)
			pushadm_print(r[4 + i]);
	}
	pushadm_print_flush();
	free(row_fields);
	pushcore_buf_free(&answer);
	pushcore_pool_free(&pool);
	return PUSHADM_EXIT_OK;
}
