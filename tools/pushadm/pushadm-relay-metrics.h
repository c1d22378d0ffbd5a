#ifndef PUSHADM_RELAY_METRICS_H
#define PUSHADM_RELAY_METRICS_H

/* The relay's queue figures served while it runs (docs/spool.md, "Queue
   figures"): OpenMetrics text over HTTP on a loopback TCP port or a unix
   socket when relay.conf's metrics_listen says so, and on the stats socket
   (root only) for pushadm relay stats. Every connection is non-blocking
   and bounded in size and time: a scraper that stalls never holds up the
   relay. The counters themselves are the queue's (relay_queue_figures()). */

#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>

#include "pushadm-relay-queue.h"

struct pushcore_buf;
struct pushcore_pool;

/* connections served at once (more wait in the listen backlog) */
#define RELAY_METRICS_MAX_CLIENTS 16
/* the listeners and the clients: what relay_metrics_pollfds() may add */
#define RELAY_METRICS_MAX_FDS (2 + RELAY_METRICS_MAX_CLIENTS)
/* the stats socket's name beside the relay's socket */
#define RELAY_STATS_SOCKET_NAME "relay-stats.sock"

struct relay_metrics_settings {
	/* root-only unix socket for relay stats; "" or NULL: none */
	const char *stats_socket;
	/* "127.0.0.1:PORT", "[::1]:PORT", "localhost:PORT" or an absolute
	   unix socket path; "" or NULL: off */
	const char *listen;
	/* a unix metrics_listen socket's mode and group */
	unsigned int socket_mode;
	gid_t socket_gid;
};

/* Whether value is a metrics_listen relay.conf accepts (loopback only);
   false with a reason. */
bool relay_metrics_listen_valid(const char *value, const char **error_r);

struct relay_metrics *relay_metrics_new(struct relay_queue *q,
					const struct relay_metrics_settings *set,
					const char **error_r);
void relay_metrics_free(struct relay_metrics **m);
/* The descriptors to wait for (at most max); relay_metrics_handle() gets
   the same array back with revents set. */
unsigned int relay_metrics_pollfds(struct relay_metrics *m, struct pollfd *fds,
				   unsigned int max);
void relay_metrics_handle(struct relay_metrics *m, const struct pollfd *fds,
			  unsigned int count);

/* The figures as OpenMetrics text (ending in "# EOF"). */
void relay_metrics_openmetrics(const struct relay_queue_figures *f,
			       long long now_usecs, struct pushcore_buf *out);

/* pushadm relay stats: the figures of the relay whose stats socket this
   is, printed with the -f formats. Returns an exit code (69 when no relay
   answers, 77 for a user who may not read them). */
struct pushadm_ctx;
int relay_stats_print(struct pushadm_ctx *ctx, const char *stats_socket);

#endif
