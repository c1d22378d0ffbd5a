/* pushadm relay run|retry: the relay's main loop and its admin command.

   The loop: run the queue (pushadm-relay-queue.c), wait for the queue's
   sockets or ours, accept and read what every ready client sent, write
   all of it to the journal in ONE transaction (group commit), then
   acknowledge each message and hand its entries to the queue. Nothing is
   acknowledged before the transaction holding it is on disk, or its
   endpoints took it: with relay.conf send_first, a message's entries go
   to the queue when it is read, and its journaling waits that long for
   them (pushadm-relay-server.c). */
#include "pushadm.h"
#include "pushadm-relay.h"
#include "pushadm-relay-metrics.h"
#include "pushadm-relay-server.h"
#include "pushadm-resolve.h"
#include "pushadm-spool.h"
#include "pushadm-trust.h"
#include "pushcore.h"
#include "pushcore-relay-client.h"
#include "pushcore-relay-proto.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* the file spool is taken over this often, for what delivery processes
   spooled while the relay did not answer them */
#define RELAY_TAKEOVER_INTERVAL_SECS 2
/* files looked at per loop turn: a spool of thousands (a flood from one
   local account) is taken a slice at a time, with submissions
   acknowledged and notifications sent in between */
#define RELAY_TAKEOVER_BATCH 64
/* and no more than this long (64 large files take a while to read) */
#define RELAY_TAKEOVER_BUDGET_MSECS 50
/* the longest one wait lasts: SIGTERM is noticed at once (EINTR), this
   bounds everything else */
#define RELAY_MAX_WAIT_MSECS 1000

static volatile sig_atomic_t relay_stop = 0;
/* the queue figures' listeners: one relay per process */
static struct relay_metrics *relay_metrics = NULL;

static void on_stop_signal(int sig __attribute__((unused)))
{
	relay_stop = 1;
}

struct relay_paths {
	const char *socket, *spool_dir;
};

/* Dovecot's settings the relay needs: the socket (2.3 or 2.4 name) and
   the spool, read as every pushadm command reads them (honours -c). */
static int relay_read_paths(struct pushadm_ctx *ctx, struct relay_paths *paths_r)
{
	struct pushadm_config cfg;
	const char *value;
	int ret;

	if ((ret = pushadm_config_load(ctx, NULL, &cfg)) != 0)
		return ret;
	value = pushadm_config_get(&cfg, "push_notification_relay_socket");
	paths_r->socket = pushcore_xstrdup(value != NULL ? value :
					   PUSHCORE_DEFAULT_RELAY_SOCKET);
	value = pushadm_config_get(&cfg, "push_notification_spool_dir");
	paths_r->spool_dir = pushcore_xstrdup(value != NULL ? value :
					      PUSHCORE_DEFAULT_SPOOL_DIR);
	/* an explicitly empty socket setting turns hand-off off */
	for (unsigned int i = 0; i < cfg.count; i++) {
		if (strcmp(cfg.keys[i], "push_notification_relay_socket") == 0 &&
		    cfg.values[i][0] == '\0')
			paths_r->socket = "";
	}
	pushadm_config_free(&cfg);
	return 0;
}

/* The stats socket: relay.conf's stats_socket, or relay-stats.sock beside
   the relay's socket; "" when there is neither. */
static const char *relay_stats_socket(const struct relay_conf *conf,
				      const char *relay_socket)
{
	static char path[PATH_MAX];
	const char *slash;

	if (conf->stats_socket[0] != '\0')
		return conf->stats_socket;
	if ((slash = strrchr(relay_socket, '/')) == NULL)
		return "";
	snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - relay_socket),
		 relay_socket, RELAY_STATS_SOCKET_NAME);
	return path;
}

static const char *relay_conf_path(const char *given)
{
	const char *env = getenv(RELAY_CONF_ENV);

	if (given != NULL)
		return given;
	return env != NULL && env[0] != '\0' ? env : RELAY_CONF_DEFAULT_PATH;
}

/* --- the queue's outcomes, applied in the loop's next transaction ----- */

static void store_sent(void *context, const struct pushcore_spool_entry *e,
		       unsigned long long tag)
{
	if (!relay_pending_settle(context, tag, true))
		relay_outcome_add(context, RELAY_OUTCOME_SENT, e, 0, 0, NULL);
}

static void store_retry(void *context, const struct pushcore_spool_entry *e,
			unsigned long long tag, unsigned int attempts,
			long long next_attempt, const char *last_error)
{
	(void)relay_pending_settle(context, tag, false);
	relay_outcome_add(context, RELAY_OUTCOME_RETRY, e, attempts,
			  next_attempt, last_error);
}

static void store_failed(void *context, const struct pushcore_spool_entry *e,
			 unsigned long long tag, const char *reason)
{
	/* kept aside in failed/ either way */
	(void)relay_pending_settle(context, tag, true);
	relay_outcome_add(context, RELAY_OUTCOME_FAILED, e, e->attempts,
			  e->next_attempt, reason);
}

static void store_waits(void *context,
			const struct pushcore_spool_entry *e __attribute__((unused)),
			unsigned long long tag)
{
	(void)relay_pending_settle(context, tag, false);
}

/* --- start and stop ---------------------------------------------------- */

static int take_spooled(const struct pushcore_spool_entry *e, void *context)
{
	struct relay_server *srv = context;
	struct relay_queue_bound bound;
	const char *error;
	int added = -1;

	/* the file waits in the spool, on disk, until there is room */
	if (relay_queue_full_for(srv->queue, e->user, e->body_len, &bound))
		return -1;
	if (relay_journal_begin(srv->journal, true, &error) < 0 ||
	    (added = relay_journal_add(srv->journal, e, &error)) < 0 ||
	    relay_journal_commit(srv->journal, &error) < 0) {
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "Taking over spooled "
			     "notification %s failed: %s", e->id, error);
		return -1;
	}
	/* already journaled (handed over, then spooled after the ack came
	   too late, or a file dropped twice): queued once, the file goes */
	if (added == 0)
		relay_queue_add(srv->queue, e);
	return 0;
}

static void load_journaled(const struct pushcore_spool_entry *e, void *context)
{
	struct relay_server *srv = context;

	relay_queue_add(srv->queue, e);
}

static unsigned int metrics_add_fds(void *context, struct pollfd *fds,
				    unsigned int max)
{
	return relay_metrics_pollfds(context, fds, max);
}

static void metrics_fds_ready(void *context, const struct pollfd *fds,
			      unsigned int count)
{
	relay_metrics_handle(context, fds, count);
}

static int relay_start(struct pushadm_ctx *ctx, struct relay_server *srv)
{
	struct relay_queue_store store = {
		.sent = store_sent, .retry = store_retry,
		.failed = store_failed, .waits = store_waits, .ctx = srv,
	};
	struct pushadm_spool_dirs dirs;
	const char *error;
	int count;

	/* first: a second relay stops here, before it touches the journal;
	   clients that connect meanwhile wait for the loop */
	if (relay_listen(srv, &error) < 0) {
		fprintf(stderr, "pushadm relay: %s\n", error);
		return PUSHADM_EXIT_UNAVAILABLE;
	}
	/* the spool's areas, created and checked (owner, mode, no link) */
	if (pushadm_spool_dirs_open(srv->spool_dir, true, &dirs, &error) < 0) {
		fprintf(stderr, "pushadm relay: %s\n", error);
		return PUSHADM_EXIT_CONFIG;
	}
	pushadm_spool_dirs_close(&dirs);
	if (relay_mkdir_parent(srv->conf.journal, 0700, &error) < 0 ||
	    (srv->journal = relay_journal_open_repairing(srv->conf.journal,
							 srv->conf.sync_full, &error)) == NULL) {
		fprintf(stderr, "pushadm relay: %s\n", error);
		return PUSHADM_EXIT_CONFIG;
	}
	srv->trust = pushadm_trust_new(ctx, srv->conf.allowed_uids,
				       srv->conf.allowed_uid_count);
	srv->resolver = pushadm_resolver_new(ctx);
	srv->conf.queue.debug = ctx->debug;
	srv->queue = relay_queue_new(&srv->conf.queue, srv->resolver, &store);
	/* the figures: served from the queue's wait (pushadm-relay-metrics.c) */
	struct relay_queue_extra_fds metrics_fds = {
		RELAY_METRICS_MAX_FDS, metrics_add_fds, metrics_fds_ready, NULL
	};
	struct relay_metrics_settings mset = {
		.stats_socket = relay_stats_socket(&srv->conf, srv->socket_path),
		.listen = srv->conf.metrics_listen,
		.socket_mode = srv->conf.metrics_socket_mode,
		.socket_gid = srv->conf.metrics_socket_gid,
	};
	if ((relay_metrics = relay_metrics_new(srv->queue, &mset, &error)) == NULL) {
		fprintf(stderr, "pushadm relay: %s (relay.conf %s)\n", error,
			srv->conf.path);
		return PUSHADM_EXIT_CONFIG;
	}
	metrics_fds.context = relay_metrics;
	relay_queue_set_extra_fds(srv->queue, &metrics_fds);
	if (srv->conf.metrics_listen[0] != '\0') {
		pushcore_log(PUSHCORE_LOG_INFO, NULL, "pushadm relay: queue "
			     "figures (OpenMetrics) on %s%s%s",
			     srv->conf.metrics_listen[0] == '/' ? "" : "http://",
			     srv->conf.metrics_listen,
			     srv->conf.metrics_listen[0] == '/' ? "" : "/metrics");
	}
	if ((count = relay_journal_load(srv->journal, load_journaled, srv, &error)) < 0) {
		fprintf(stderr, "pushadm relay: %s\n", error);
		return PUSHADM_EXIT_SOFTWARE;
	}
	pushcore_log(PUSHCORE_LOG_INFO, NULL, "pushadm relay: listening on %s "
		     "(journal %s, %d waiting; relay.conf %s)",
		     srv->socket_path[0] != '\0' ? srv->socket_path : "(no socket)",
		     srv->conf.journal, count, srv->conf.path);
	return 0;
}

static void relay_stop_all(struct relay_server *srv)
{
	relay_close_all(srv);
	if (srv->queue != NULL)
		relay_queue_set_extra_fds(srv->queue, NULL);
	relay_metrics_free(&relay_metrics);
	if (srv->queue != NULL)
		relay_queue_free(&srv->queue);
	if (srv->resolver != NULL)
		pushadm_resolver_free(&srv->resolver);
	if (srv->trust != NULL)
		pushadm_trust_free(&srv->trust);
	relay_journal_close(&srv->journal);
	relay_conf_free(&srv->conf);
}

/* Each client is a descriptor: max_clients must fit under the limit, or
   accept() fails with the listening socket still readable and the loop
   spins. The soft limit is raised as far as allowed; what doesn't fit
   lowers max_clients. Descriptors besides clients: curl's, Redis's, the
   journal's, doveconf's pipes. */
#define RELAY_SPARE_FDS 256

static void relay_fit_fd_limit(struct relay_conf *conf)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)conf->max_clients + RELAY_SPARE_FDS;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ?
		want : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		conf->max_clients = rl.rlim_cur > RELAY_SPARE_FDS + 16 ?
			(unsigned int)(rl.rlim_cur - RELAY_SPARE_FDS) : 16;
		pushcore_log(PUSHCORE_LOG_WARNING, NULL, "pushadm relay: the "
			     "open files limit (%llu) allows %u clients, not "
			     "relay.conf's max_clients", (unsigned long long)rl.rlim_cur,
			     conf->max_clients);
	}
}

static const struct option relay_long_options[] = {
	{ "config", required_argument, NULL, 'C' },
	{ NULL, 0, NULL, 0 }
};

int pushadm_relay_run(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	struct relay_server srv;
	struct relay_paths paths;
	const char *conf_path = NULL;
	struct sigaction sa;
	struct pushadm_spool_slice slice = {
		.max_files = RELAY_TAKEOVER_BATCH,
		.budget_msecs = RELAY_TAKEOVER_BUDGET_MSECS,
	};
	time_t last_takeover;
	bool takeover_more = true;
	int c, ret, taken;

	while ((c = getopt_long(argc, argv, "", relay_long_options, NULL)) != -1) {
		if (c != 'C')
			return PUSHADM_EXIT_USAGE;
		conf_path = optarg;
	}
	memset(&srv, 0, sizeof(srv));
	srv.listen_fd = -1;
	/* one doveconf run serves every user for this long: per user, only
	   the userdb is asked (over its socket) */
	ctx->config_cache_secs = PUSHADM_RESOLVE_TTL_SECS;
	if (relay_conf_read(relay_conf_path(conf_path), &srv.conf) < 0)
		return PUSHADM_EXIT_CONFIG;
	if ((ret = relay_read_paths(ctx, &paths)) != 0) {
		relay_conf_free(&srv.conf);
		return ret;
	}
	relay_fit_fd_limit(&srv.conf);
	srv.socket_path = paths.socket;
	srv.spool_dir = paths.spool_dir;
	/* the journal and failed entries hold other users' notifications */
	umask(077);
	/* no SA_RESTART: a signal ends the wait at once */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((ret = relay_start(ctx, &srv)) != 0) {
		relay_stop_all(&srv);
		return ret;
	}
	/* the first turn, without a wait, takes what was spooled while the
	   relay was down */
	last_takeover = 0;
	while (!relay_stop) {
		relay_iteration(&srv, takeover_more ? 0 : RELAY_MAX_WAIT_MSECS);
		if (relay_stop || (!takeover_more && time(NULL) - last_takeover <
				   RELAY_TAKEOVER_INTERVAL_SECS))
			continue;
		/* the next slice at once only while slices are taken: files
		   that wait (a full user queue, a userdb that does not
		   answer) are passed a slice per interval, not in a busy
		   loop */
		taken = pushadm_spool_takeover(ctx, srv.spool_dir, srv.trust,
					       &slice, take_spooled, &srv);
		takeover_more = slice.more && taken > 0;
		last_takeover = time(NULL);
	}
	pushcore_log(PUSHCORE_LOG_INFO, NULL, "pushadm relay: stopping "
		     "(%u entries wait in the journal)", relay_queue_pending(srv.queue));
	pushadm_spool_slice_free(&slice);
	/* outcomes the queue reported since the last transaction */
	relay_commit(&srv, true);
	relay_stop_all(&srv);
	return PUSHADM_EXIT_OK;
}

/* --- relay retry -------------------------------------------------------- */

/* Without a running relay, the journal itself is changed: the relay reads
   it when it starts. */
static int retry_offline(const char *const *ids)
{
	struct relay_conf conf;
	struct relay_journal *j;
	const char *error;
	int count;

	if (relay_conf_read(relay_conf_path(NULL), &conf) < 0)
		return PUSHADM_EXIT_CONFIG;
	if (access(conf.journal, F_OK) < 0 && errno == ENOENT) {
		/* not an error of SQLite's: nothing waits anywhere */
		printf("0 entries due now (the relay is not running, and no "
		       "relay has run here: there is no journal at %s)\n",
		       conf.journal);
		relay_conf_free(&conf);
		return PUSHADM_EXIT_OK;
	}
	j = relay_journal_open(conf.journal, conf.sync_full, &error);
	relay_conf_free(&conf);
	if (j == NULL) {
		fprintf(stderr, "pushadm relay retry: %s\n", error);
		return PUSHADM_EXIT_UNAVAILABLE;
	}
	count = relay_journal_retry(j, ids, &error);
	relay_journal_close(&j);
	if (count < 0) {
		fprintf(stderr, "pushadm relay retry: %s\n", error);
		return PUSHADM_EXIT_SOFTWARE;
	}
	printf("%d entries due now (the relay is not running; it sends them "
	       "when it starts)\n", count);
	return PUSHADM_EXIT_OK;
}

static int cmd_relay_retry(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	const char *const *ids = argc > 1 ? (const char *const *)argv + 1 : NULL;
	struct relay_paths paths;
	const char *error;
	unsigned int count;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!pushcore_relay_id_valid(argv[i])) {
			fprintf(stderr, "pushadm relay retry: '%s' is not a "
				"notification id\n", argv[i]);
			return PUSHADM_EXIT_USAGE;
		}
	}
	if ((ret = relay_read_paths(ctx, &paths)) != 0)
		return ret;
	ret = relay_send_retry(paths.socket, ids, argc - 1, &count, &error);
	if (ret == 0) {
		printf("%u entries due now\n", count);
		return PUSHADM_EXIT_OK;
	}
	if (errno == ENOENT || errno == ECONNREFUSED)
		return retry_offline(ids);
	fprintf(stderr, "pushadm relay retry: %s: %s\n", paths.socket, error);
	return PUSHADM_EXIT_TEMPFAIL;
}

/* --- relay stats ------------------------------------------------------------ */

static int cmd_relay_stats(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	struct relay_conf conf;
	struct relay_paths paths;
	const char *conf_path = NULL;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", relay_long_options, NULL)) != -1) {
		if (c != 'C')
			return PUSHADM_EXIT_USAGE;
		conf_path = optarg;
	}
	if (optind != argc) {
		fprintf(stderr, "usage: pushadm relay stats [--config relay.conf]\n");
		return PUSHADM_EXIT_USAGE;
	}
	if (relay_conf_read(relay_conf_path(conf_path), &conf) < 0)
		return PUSHADM_EXIT_CONFIG;
	if ((ret = relay_read_paths(ctx, &paths)) == 0)
		ret = relay_stats_print(ctx, relay_stats_socket(&conf, paths.socket));
	relay_conf_free(&conf);
	return ret;
}

static int cmd_relay_run(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	return pushadm_relay_run(ctx, argc, argv);
}

static const struct pushadm_cmd relay_run_cmd = {
	"relay run", "[--config relay.conf]",
	"The relay: takes notifications from delivery processes over "
	"push_notification_relay_socket, journals them and sends them with "
	"retries. Its own settings are in " RELAY_CONF_DEFAULT_PATH
	" (or $" RELAY_CONF_ENV ", or --config). SIGTERM stops it.",
	PUSHADM_FORMAT_DEFAULT, cmd_relay_run, NULL
};

static const struct pushadm_cmd relay_retry_cmd = {
	"relay retry", "[ID...]",
	"Makes the relay's waiting notifications (all, or these) due now.",
	PUSHADM_FORMAT_DEFAULT, cmd_relay_retry, NULL
};

static const struct pushadm_cmd relay_stats_cmd = {
	"relay stats", "[--config relay.conf]",
	"The running relay's queue figures: notifications waiting, requests "
	"in flight and the oldest one's age (seconds), for the whole queue "
	"and per endpoint, and since the relay started the attempts by "
	"result (sent, retry, failed, expired). Only root may read them; "
	"they exist while the relay runs. OpenMetrics: relay.conf's "
	"metrics_listen (docs/spool.md, \"Queue figures\").",
	PUSHADM_FORMAT_TABLE, cmd_relay_stats, NULL,
};

const struct pushadm_cmd *const pushadm_cmds_relay[] = {
	&relay_run_cmd, &relay_retry_cmd, &relay_stats_cmd, NULL
};
