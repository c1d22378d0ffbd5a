/* pushadm spool run|list|show|retry|purge: the dispatcher that sends what
   delivery processes could not, and the commands to inspect the spool. */
#include "pushadm.h"
#include "pushadm-relay.h"
#include "pushadm-resolve.h"
#include "pushadm-spool.h"
#include "pushadm-trust.h"
#include "pushcore.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SPOOL_DIR "/var/spool/dovecot-push-notify"
#define DEFAULT_MAX_AGE_SECS (24 * 3600)
#define DEFAULT_BACKOFF_SECS 10
#define MAX_BACKOFF_SECS 3600
#define ROUND_MAX_WAIT_MSECS 60000
/* --once: rounds at most (each sends one entry per user and driver) */
#define ONCE_MAX_ROUNDS 10000

struct spool_opts {
	/* spool run */
	struct pushadm_resolver *resolver;
	struct pushadm_trust *trust;
	const char *dir;
	enum pushadm_spool_area area;
	bool once;
	unsigned int max_age_secs, backoff_secs;
};

struct spool_item {
	struct pushcore_spool_entry *e;
	long long created_secs, next;	/* as clamped (pushadm_spool_clamp) */
	/* the oldest of its user's entries for its driver (mark_queue_heads) */
	bool head;
};

struct spool_list {
	struct pushcore_pool *pool;
	struct pushadm_spool_dirs dirs;
	enum pushadm_spool_area area;
	unsigned int count;
	struct spool_item *items;
};

static volatile sig_atomic_t stop_requested = 0;

static void on_stop_signal(int sig __attribute__((unused)))
{
	stop_requested = 1;
}

static const struct option spool_long_options[] = {
	{ "once", no_argument, NULL, 'o' },
	{ "failed", no_argument, NULL, 'F' },
	{ "max-age", required_argument, NULL, 'a' },
	{ "backoff", required_argument, NULL, 'b' },
	{ NULL, 0, NULL, 0 }
};

/* Dovecot's spool setting (2.3 or 2.4 name), or the default. */
static const char *configured_spool_dir(struct pushadm_ctx *ctx)
{
	struct pushadm_config cfg;
	const char *value = NULL;

	if (!pushadm_doveconf_is_24(ctx))
		value = pushadm_doveconf_get(ctx, "plugin/push_notification_spool_dir");
	else if (pushadm_config_load(ctx, NULL, &cfg) == 0) {
		/* 2.4's doveconf -h can't single out a global that blocks may
		   repeat; the parsed configuration can */
		value = pushadm_config_get(&cfg, "push_notification_spool_dir");
		value = value == NULL ? NULL : strdup(value);
		pushadm_config_free(&cfg);
	}
	return value != NULL && value[0] != '\0' ? value : DEFAULT_SPOOL_DIR;
}

/* -d DIR, or Dovecot's push_notification_spool_dir, or the default. */
static int spool_parse_opts(struct pushadm_ctx *ctx, int argc, char *argv[],
			    struct spool_opts *opts)
{
	unsigned int msecs;
	int c;

	memset(opts, 0, sizeof(*opts));
	opts->area = PUSHADM_SPOOL_AREA_NEW;
	opts->max_age_secs = DEFAULT_MAX_AGE_SECS;
	opts->backoff_secs = DEFAULT_BACKOFF_SECS;
	while ((c = getopt_long(argc, argv, "d:", spool_long_options, NULL)) != -1) {
		switch (c) {
		case 'd': opts->dir = optarg; break;
		case 'o': opts->once = true; break;
		case 'F': opts->area = PUSHADM_SPOOL_AREA_FAILED; break;
		case 'a':
		case 'b':
			if (!pushcore_parse_time_msecs(optarg, 1000, &msecs)) {
				fprintf(stderr, "pushadm: invalid time '%s' (e.g. 30s, 5m, 1d)\n",
					optarg);
				return -1;
			}
			*(c == 'a' ? &opts->max_age_secs : &opts->backoff_secs) =
				msecs < 1000 ? 1 : msecs / 1000;
			break;
		default:
			return -1;
		}
	}
	if (opts->dir == NULL)
		opts->dir = configured_spool_dir(ctx);
	return 0;
}

/* Every entry of one area, oldest first: files that must not be used are
   quarantined (in new/; with a trust policy, also those whose owner may
   not submit for their user). */
/* A spool that isn't there is said so in our words (not as an open()
   error); true when absent. */
static bool spool_absent(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) == 0 || errno != ENOENT)
		return false;
	fprintf(stderr, "pushadm: there is no spool at %s: nothing was spooled "
		"(push_notification_spool_dir names it; the packages create it, "
		"see docs/spool.md)\n", dir);
	return true;
}

static int spool_scan(const struct spool_opts *opts, enum pushadm_spool_area area,
		      struct pushadm_trust *trust, struct spool_list *list)
{
	const char **names, *error;
	struct pushcore_spool_entry *e;
	bool quarantine_bad = area == PUSHADM_SPOOL_AREA_NEW;
	long long ctime;
	unsigned int n;
	int trusted;
	uid_t uid;

	memset(list, 0, sizeof(*list));
	if (spool_absent(opts->dir))
		return -1;
	list->pool = pushcore_pool_new();
	list->area = area;
	if (pushadm_spool_dirs_open(opts->dir, false, &list->dirs, &error) < 0) {
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "%s", error);
		pushcore_pool_free(&list->pool);
		return -1;
	}
	names = pushadm_spool_names(&list->dirs, area, quarantine_bad, list->pool);
	for (n = 0; names[n] != NULL; n++) ;
	list->items = pushcore_palloc(list->pool, sizeof(*list->items) * (n + 1));
	for (; *names != NULL; names++) {
		if (pushadm_spool_read(&list->dirs, area, *names, list->pool, &e,
				       &uid, &ctime, &error) < 0) {
			if (quarantine_bad)
				pushadm_spool_quarantine(&list->dirs, area, *names, error);
			continue;
		}
		if (trust != NULL && (trusted = pushadm_trust_check(trust, uid, e->user,
								    &error)) <= 0) {
			/* < 0: the userdb can't answer now; the file waits */
			if (trusted == 0)
				pushadm_spool_quarantine(&list->dirs, area, *names,
					pushcore_psprintf(list->pool, "not trusted: %s", error));
			continue;
		}
		list->items[list->count].e = e;
		pushadm_spool_clamp(e, ctime, &list->items[list->count].created_secs,
				    &list->items[list->count].next);
		list->count++;
	}
	return 0;
}

static void spool_list_free(struct spool_list *list)
{
	pushadm_spool_dirs_close(&list->dirs);
	pushcore_pool_free(&list->pool);
}

/* --- the dispatcher ---------------------------------------------------- */

struct dispatch {
	const struct spool_opts *opts;
	struct spool_list *list;
	struct pushcore_spool_entry *entry;
	const char *url;		/* resolved: for log lines */
	const char *via;		/* "HTTP", or the driver's transport */
	unsigned int *pending_failures;
};

static unsigned int backoff_secs(const struct spool_opts *opts,
				 unsigned int attempts)
{
	unsigned long long secs = opts->backoff_secs;
	unsigned int i;

	for (i = 1; i < attempts && secs < MAX_BACKOFF_SECS; i++)
		secs *= 2;
	if (secs > MAX_BACKOFF_SECS)
		secs = MAX_BACKOFF_SECS;
	/* jitter of up to +25% spreads retries of many entries */
	return (unsigned int)secs + (unsigned int)(rand() % (int)(secs / 4 + 1));
}

static void dispatch_callback(const struct pushcore_http_result *r, void *context)
{
	struct dispatch *d = context;
	struct pushcore_spool_entry *e = d->entry;
	char status[32];

	e->attempts++;
	if (r->outcome == PUSHCORE_HTTP_OK) {
		pushcore_log(PUSHCORE_LOG_INFO, NULL, "spool: sent %s for %s to %s "
			     "(%s %d, attempt %u)", e->id, e->user, d->url,
			     d->via == NULL ? "HTTP" : d->via,
			     r->status, e->attempts);
		(void)pushadm_spool_remove(&d->list->dirs, d->list->area, e);
		return;
	}
	snprintf(status, sizeof(status), "HTTP %d", r->status);
	e->last_error = r->status != 0 ? status : r->error;
	if (r->outcome == PUSHCORE_HTTP_PERMFAIL) {
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "spool: %s for %s to %s failed "
			     "for good: %s; moved to %s/", e->id, e->user, d->url,
			     e->last_error, PUSHCORE_SPOOL_FAILED);
		(void)pushadm_spool_move(&d->list->dirs, d->list->area,
					 PUSHADM_SPOOL_AREA_FAILED, e);
		return;
	}
	e->next_attempt = time(NULL) + backoff_secs(d->opts, e->attempts);
	/* Retry-After is honoured up to the longest backoff: an endpoint
	   can't park an entry past what the spool's clamp allows */
	if (r->retry_after_secs > 0 &&
	    time(NULL) + r->retry_after_secs > e->next_attempt)
		e->next_attempt = time(NULL) + (r->retry_after_secs < MAX_BACKOFF_SECS ?
						r->retry_after_secs : MAX_BACKOFF_SECS);
	pushcore_log(PUSHCORE_LOG_WARNING, NULL, "spool: %s for %s to %s failed: "
		     "%s (attempt %u); next attempt in %llds", e->id, e->user,
		     d->url, e->last_error, e->attempts,
		     e->next_attempt - (long long)time(NULL));
	(void)pushadm_spool_move(&d->list->dirs, d->list->area, d->list->area, e);
	(*d->pending_failures)++;
}

/* A request with the driver's own resend operation (redis: XADD), sent
   synchronously (its timeout is the driver's setting). */
static void dispatch_resend(struct dispatch *d,
			    const struct pushcore_http_request *req)
{
	const struct pushcore_http_request *reqs[1] = { req };
	struct pushcore_http_result r;
	unsigned int sent;

	memset(&r, 0, sizeof(r));
	if (pushcore_resend(reqs, 1, req->timeout_msecs == 0 ? 1000 :
			    req->timeout_msecs, &sent, &r.error) < 0)
		r.outcome = PUSHCORE_HTTP_TEMPFAIL;
	r.attempts = 1;
	dispatch_callback(&r, d);
}

/* Whether an earlier entry waits for the same user and driver: each
   endpoint gets a user's notifications in order, and one endpoint's
   failure holds back no other's. */
static const struct spool_item *sort_items;

/* By user, driver, then age (the items are oldest first). */
static int queue_cmp(const void *a, const void *b)
{
	unsigned int ia = *(const unsigned int *)a, ib = *(const unsigned int *)b;
	const struct pushcore_spool_entry *ea = sort_items[ia].e, *eb = sort_items[ib].e;
	int ret;

	if ((ret = strcmp(ea->user, eb->user)) != 0 ||
	    (ret = strcmp(ea->driver, eb->driver)) != 0)
		return ret;
	return ia < ib ? -1 : ia > ib;
}

/* Marks the oldest entry of every user and driver: only it may be sent
   (each endpoint gets a user's notifications in order, and one endpoint's
   failure holds back no other's). */
static void mark_queue_heads(struct spool_list *list)
{
	unsigned int *order, i;

	if (list->count == 0)
		return;
	order = pushcore_palloc(list->pool, sizeof(*order) * list->count);
	for (i = 0; i < list->count; i++)
		order[i] = i;
	sort_items = list->items;
	qsort(order, list->count, sizeof(*order), queue_cmp);
	for (i = 0; i < list->count; i++) {
		list->items[order[i]].head = i == 0 ||
			strcmp(list->items[order[i - 1]].e->user,
			       list->items[order[i]].e->user) != 0 ||
			strcmp(list->items[order[i - 1]].e->driver,
			       list->items[order[i]].e->driver) != 0;
	}
}

/* Starts sending one entry: the request comes from the configuration
   (the resolver), never from the file. Returns whether it was tried. */
static bool dispatch_entry(struct dispatch *d, struct pushcore_pool *pool)
{
	struct pushcore_spool_entry *e = d->entry;
	struct pushcore_http_request req;
	struct pushcore_http_result r;
	const char *error;
	int ret;

	if ((ret = pushadm_resolve(d->opts->resolver, pool, e, &req, &error)) < 0) {
		/* -2: the userdb or doveconf can't answer now */
		memset(&r, 0, sizeof(r));
		r.outcome = ret == -2 ? PUSHCORE_HTTP_TEMPFAIL : PUSHCORE_HTTP_PERMFAIL;
		r.error = error;
		r.attempts = 1;
		d->url = "(unresolved)";
		dispatch_callback(&r, d);
		return true;
	}
	d->url = pushcore_pstrdup(pool, req.url);
	if (req.resend != NULL) {
		d->via = pushcore_pstrdup(pool, req.method);
		dispatch_resend(d, &req);
		return true;
	}
	d->via = "HTTP";
	req.max_attempts = 1;
	req.callback = dispatch_callback;
	req.context = d;
	if (!pushcore_http_submit(&req, &error)) {
		e->last_error = error;
		(void)pushadm_spool_move(&d->list->dirs, d->list->area,
					 PUSHADM_SPOOL_AREA_FAILED, e);
		return false;
	}
	return true;
}

/* Sends the oldest entry of every user that is due (a user's later entries
   wait, so that they leave in the order they happened). Returns how many
   were sent. */
static unsigned int dispatch_round(const struct spool_opts *opts,
				   unsigned int *failures)
{
	struct spool_list list;
	struct dispatch *d;
	time_t now = time(NULL);
	unsigned int i, sent = 0;

	/* the directories are opened and checked again every round */
	if (spool_scan(opts, PUSHADM_SPOOL_AREA_NEW, opts->trust, &list) < 0)
		return 0;
	mark_queue_heads(&list);
	for (i = 0; i < list.count; i++) {
		struct pushcore_spool_entry *e = list.items[i].e;

		if (!list.items[i].head)
			continue;
		if (list.items[i].created_secs + opts->max_age_secs < now) {
			e->last_error = pushcore_psprintf(list.pool, "expired after "
				"%u attempts (last: %s)", e->attempts,
				e->last_error == NULL ? "none" : e->last_error);
			pushcore_log(PUSHCORE_LOG_ERROR, NULL, "spool: %s for %s %s; "
				     "moved to %s/", e->id, e->user, e->last_error,
				     PUSHCORE_SPOOL_FAILED);
			(void)pushadm_spool_move(&list.dirs, list.area,
						 PUSHADM_SPOOL_AREA_FAILED, e);
			continue;
		}
		/* clamped: a file dated in the future is due by then anyway */
		if (list.items[i].next > now)
			continue;
		d = pushcore_palloc(list.pool, sizeof(*d));
		d->opts = opts;
		d->list = &list;
		d->entry = e;
		d->pending_failures = failures;
		if (dispatch_entry(d, list.pool))
			sent++;
	}
	pushcore_http_run(ROUND_MAX_WAIT_MSECS);
	spool_list_free(&list);
	return sent;
}

/* Waits up to a second, less when a new spool file appears. */
static void wait_for_work(int inotify_fd)
{
	struct pollfd pfd = { .fd = inotify_fd, .events = POLLIN };
	char buf[4096];

	if (inotify_fd < 0) {
		sleep(1);
		return;
	}
	if (poll(&pfd, 1, 1000) > 0)
		while (read(inotify_fd, buf, sizeof(buf)) > 0) ;
}

static int cmd_spool_run(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	struct pushadm_spool_dirs dirs;
	struct spool_opts opts;
	const char *error, *new_dir;
	struct timeval tv;
	unsigned int failures = 0;
	int inotify_fd;

	if (spool_parse_opts(ctx, argc, argv, &opts) < 0)
		return PUSHADM_EXIT_USAGE;
	if (!opts.once) {
		/* the long-running dispatcher is the relay now */
		fprintf(stderr, "pushadm: 'spool run' is deprecated and runs "
			"'pushadm relay run' (this alias goes in the next release; "
			"-d, --backoff and --max-age are relay.conf settings now)\n");
		optind = 1;
		return pushadm_relay_run(ctx, 1, argv);
	}
	if (pushadm_spool_dirs_open(opts.dir, true, &dirs, &error) < 0) {
		fprintf(stderr, "pushadm: %s\n", error);
		return PUSHADM_EXIT_CONFIG;
	}
	pushadm_spool_dirs_close(&dirs);
	gettimeofday(&tv, NULL);
	srand((unsigned int)(tv.tv_usec ^ getpid()));
	signal(SIGTERM, on_stop_signal);
	signal(SIGINT, on_stop_signal);
	opts.resolver = pushadm_resolver_new(ctx);
	opts.trust = pushadm_trust_new(ctx, NULL, 0);
	if (opts.once) {
		/* rounds until nothing due is left (a user's next entry becomes
		   due when the one before it was sent); bounded, in case an
		   entry's file can't be rewritten and stays due */
		for (unsigned int round = 0; round < ONCE_MAX_ROUNDS &&
			     !stop_requested && dispatch_round(&opts, &failures) > 0; round++) ;
		pushadm_trust_free(&opts.trust);
		pushadm_resolver_free(&opts.resolver);
		return failures == 0 ? PUSHADM_EXIT_OK : PUSHADM_EXIT_TEMPFAIL;
	}
	new_dir = pushcore_psprintf(pushcore_pool_new(), "%s/%s", opts.dir,
				    PUSHCORE_SPOOL_NEW);
	inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (inotify_fd >= 0 &&
	    inotify_add_watch(inotify_fd, new_dir, IN_MOVED_TO | IN_CLOSE_WRITE |
			      IN_DONT_FOLLOW | IN_ONLYDIR) < 0) {
		close(inotify_fd);
		inotify_fd = -1;
	}
	pushcore_log(PUSHCORE_LOG_INFO, NULL, "spool: dispatcher started on %s",
		     opts.dir);
	while (!stop_requested) {
		if (dispatch_round(&opts, &failures) == 0)
			wait_for_work(inotify_fd);
	}
	pushadm_trust_free(&opts.trust);
	pushadm_resolver_free(&opts.resolver);
	return PUSHADM_EXIT_OK;
}

/* --- inspection -------------------------------------------------------- */

/* A kept error for the terminal: it may quote an endpoint (a Redis error
   reply) or come from a spool file anyone who writes the spool wrote. */
static const char *redacted(struct pushadm_ctx *ctx, struct pushcore_pool *pool,
			    const char *value)
{
	return value == NULL ? "" : pushcore_escape_controls(pool,
		ctx->show_secrets ? value : pushcore_redact(pool, value));
}

static void print_time(struct pushcore_pool *pool, long long secs)
{
	char buf[32];
	time_t t = (time_t)secs;
	struct tm tm;

	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	pushadm_print(pushcore_pstrdup(pool, buf));
}

static int cmd_spool_list(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	struct spool_opts opts;
	struct spool_list list;
	unsigned int i;

	if (spool_parse_opts(ctx, argc, argv, &opts) < 0)
		return PUSHADM_EXIT_USAGE;
	if (spool_scan(&opts, opts.area, NULL, &list) < 0)
		return PUSHADM_EXIT_NOINPUT;
	pushadm_print_init(ctx, PUSHADM_FORMAT_TABLE);
	pushadm_print_header("id", "ID");
	pushadm_print_header("created", "Created");
	pushadm_print_header("user", "User");
	pushadm_print_header("driver", "Driver");
	pushadm_print_header("attempts", "Attempts");
	pushadm_print_header("next", "Next attempt");
	pushadm_print_header("error", "Last error");
	for (i = 0; i < list.count; i++) {
		struct pushcore_spool_entry *e = list.items[i].e;

		pushadm_print(e->id);
		print_time(list.pool, e->created_usecs / 1000000);
		pushadm_print(e->user);
		pushadm_print(e->driver);
		pushadm_print(pushcore_psprintf(list.pool, "%u", e->attempts));
		print_time(list.pool, e->next_attempt);
		pushadm_print(redacted(ctx, list.pool, e->last_error));
	}
	pushadm_print_flush();
	spool_list_free(&list);
	return PUSHADM_EXIT_OK;
}

typedef void spool_entry_fn(struct pushadm_ctx *ctx, struct spool_list *list,
			    struct pushcore_spool_entry *e);

/* The entries named by id (all when none is named), in new/ and failed/;
   with trust, only those whose owner may submit for their user (others
   are quarantined). */
static int for_each_named(struct pushadm_ctx *ctx, int argc, char *argv[],
			  bool all_if_none, bool trusted_only, spool_entry_fn *fn)
{
	static const enum pushadm_spool_area areas[] = {
		PUSHADM_SPOOL_AREA_NEW, PUSHADM_SPOOL_AREA_FAILED
	};
	struct pushadm_trust *trust = NULL;
	struct spool_opts opts;
	struct spool_list list;
	unsigned int a, i, found = 0;
	int j, first, ret = PUSHADM_EXIT_OK;

	if (spool_parse_opts(ctx, argc, argv, &opts) < 0)
		return PUSHADM_EXIT_USAGE;
	first = optind;
	if (first == argc && !all_if_none) {
		fprintf(stderr, "pushadm: name the spool entry ID\n");
		return PUSHADM_EXIT_USAGE;
	}
	if (trusted_only)
		trust = pushadm_trust_new(ctx, NULL, 0);
	for (a = 0; a < 2 && ret == PUSHADM_EXIT_OK; a++) {
		if (first == argc && areas[a] != opts.area)
			continue;
		if (spool_scan(&opts, areas[a], trust, &list) < 0) {
			ret = PUSHADM_EXIT_NOINPUT;
			break;
		}
		for (i = 0; i < list.count; i++) {
			bool named = first == argc;

			for (j = first; j < argc && !named; j++)
				named = strcmp(argv[j], list.items[i].e->id) == 0;
			if (named) {
				fn(ctx, &list, list.items[i].e);
				found++;
			}
		}
		spool_list_free(&list);
	}
	pushadm_trust_free(&trust);
	if (ret == PUSHADM_EXIT_OK && found == 0 && first < argc) {
		fprintf(stderr, "pushadm: no spool entry %s\n", argv[first]);
		ret = PUSHADM_EXIT_NOINPUT;
	}
	return ret;
}

static void show_entry(struct pushadm_ctx *ctx, struct spool_list *list,
		       struct pushcore_spool_entry *e)
{
	const char *area = pushadm_spool_area_name(list->area);
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushadm_resolver *resolver;
	struct pushcore_http_request req;
	struct pushcore_buf headers;
	const char *error;
	unsigned int i;

	pushadm_print_init(ctx, PUSHADM_FORMAT_PAGER);
	pushadm_print_header("id", "ID");
	pushadm_print_header("area", "Area");
	pushadm_print_header("user", "User");
	pushadm_print_header("driver", "Driver");
	pushadm_print_header("attempts", "Attempts");
	pushadm_print_header("last_error", "Last error");
	pushadm_print_header("request", "Request");
	pushadm_print_header("headers", "Headers");
	pushadm_print_header("body", "Body");
	pushadm_print(e->id);
	pushadm_print(area);
	pushadm_print(e->user);
	pushadm_print(e->driver);
	pushadm_print(pushcore_psprintf(pool, "%u", e->attempts));
	pushadm_print(redacted(ctx, pool, e->last_error));
	/* the file holds no request: show the one the dispatcher would
	   send, as the configuration makes it now */
	resolver = pushadm_resolver_new(ctx);
	if (pushadm_resolve(resolver, pool, e, &req, &error) < 0) {
		pushadm_print(pushcore_psprintf(pool, "%s (not resolvable: %s)",
						e->method, redacted(ctx, pool, error)));
		pushadm_print("");
	} else {
		pushadm_print(pushcore_psprintf(pool, "%s %s", req.method,
						redacted(ctx, pool, req.url)));
		pushcore_buf_init(&headers);
		for (i = 0; req.headers != NULL && req.headers[i] != NULL; i++)
			pushcore_buf_printf(&headers, "%s%s", i == 0 ? "" : " | ",
					    redacted(ctx, pool, req.headers[i]));
		pushadm_print(headers.data);
		pushcore_buf_free(&headers);
	}
	pushadm_resolver_free(&resolver);
	pushadm_print(pushcore_pstrndup(pool, e->body, e->body_len));
	pushadm_print_flush();
	pushcore_pool_free(&pool);
}

static int cmd_spool_show(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	return for_each_named(ctx, argc, argv, false, false, show_entry);
}

static void retry_entry(struct pushadm_ctx *ctx __attribute__((unused)),
			struct spool_list *list, struct pushcore_spool_entry *e)
{
	e->next_attempt = 0;
	if (pushadm_spool_move(&list->dirs, list->area, PUSHADM_SPOOL_AREA_NEW, e) == 0)
		printf("%s: due now\n", e->id);
}

static int cmd_spool_retry(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	/* a rewritten file is root's: only trusted ones are rewritten */
	return for_each_named(ctx, argc, argv, true, true, retry_entry);
}

static void purge_entry(struct pushadm_ctx *ctx __attribute__((unused)),
			struct spool_list *list, struct pushcore_spool_entry *e)
{
	if (pushadm_spool_remove(&list->dirs, list->area, e) == 0)
		printf("%s: purged\n", e->id);
}

static int cmd_spool_purge(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	return for_each_named(ctx, argc, argv, true, false, purge_entry);
}

/* spool check: what the relay's takeover would take, printed, kept */
static int check_take(const struct pushcore_spool_entry *e, void *context)
{
	struct pushcore_pool *pool = context;

	pushadm_print(e->id);
	print_time(pool, e->created_usecs / 1000000);
	pushadm_print(e->user);
	pushadm_print(e->driver);
	pushadm_print(e->method);
	print_time(pool, e->next_attempt);
	return -1;	/* not taken: the file stays */
}

static int cmd_spool_check(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	struct pushcore_pool *pool;
	struct pushadm_trust *trust;
	struct spool_opts opts;
	int ret;

	if (spool_parse_opts(ctx, argc, argv, &opts) < 0 || optind != argc)
		return PUSHADM_EXIT_USAGE;
	/* the relay's takeover would create it: a check does not */
	if (spool_absent(opts.dir))
		return PUSHADM_EXIT_NOINPUT;
	pool = pushcore_pool_new();
	trust = pushadm_trust_new(ctx, NULL, 0);
	pushadm_print_init(ctx, PUSHADM_FORMAT_TABLE);
	pushadm_print_header("id", "ID");
	pushadm_print_header("created", "Created");
	pushadm_print_header("user", "User");
	pushadm_print_header("driver", "Driver");
	pushadm_print_header("method", "Method");
	pushadm_print_header("next", "Next attempt");
	ret = pushadm_spool_takeover(ctx, opts.dir, trust, NULL, check_take, pool);
	pushadm_print_flush();
	pushadm_trust_free(&trust);
	pushcore_pool_free(&pool);
	return ret < 0 ? PUSHADM_EXIT_NOINPUT : PUSHADM_EXIT_OK;
}

static const struct pushadm_cmd spool_check = {
	"spool check", "[-d DIR]",
	"Checks every waiting file as the relay does when it takes the spool\n"
	"over: files that are not regular, hard-linked, too large, badly named,\n"
	"unparsable, or written by a uid that may not submit for their user are\n"
	"moved to quarantine/ with a log line; the others are listed (and kept).",
	PUSHADM_FORMAT_TABLE, cmd_spool_check, NULL
};
static const struct pushadm_cmd spool_run = {
	"spool run", "[-d DIR] [--once] [--max-age TIME] [--backoff TIME]",
	"Sends the spooled notifications: the oldest of each user first, with\n"
	"exponential backoff and jitter (first retry after --backoff, default\n"
	"10s, doubling up to 1h; Retry-After honoured), giving up after\n"
	"--max-age (default 1d) into the failed area. Permanent failures (HTTP\n"
	"4xx but 408/429) go to the failed area at once. Without --once it runs\n"
	"until SIGTERM and wakes within a second of a new spool file; --once\n"
	"sends what is due and exits (75 if some failed and wait for a retry).\n"
	"DIR defaults to Dovecot's push_notification_spool_dir.",
	PUSHADM_FORMAT_FLOW, cmd_spool_run, NULL
};
static const struct pushadm_cmd spool_list = {
	"spool list", "[-d DIR] [--failed]",
	"Lists the waiting (or, with --failed, the failed) notifications.",
	PUSHADM_FORMAT_TABLE, cmd_spool_list, NULL
};
static const struct pushadm_cmd spool_show = {
	"spool show", "[-d DIR] ID...",
	"Shows a spooled notification: its request, headers and body\n"
	"(credentials hidden unless -P).",
	PUSHADM_FORMAT_PAGER, cmd_spool_show, NULL
};
static const struct pushadm_cmd spool_retry = {
	"spool retry", "[-d DIR] [--failed] [ID...]",
	"Makes entries due now (all waiting ones, or with --failed all failed\n"
	"ones, when no ID is given); a failed entry goes back to the queue.",
	PUSHADM_FORMAT_FLOW, cmd_spool_retry, NULL
};
static const struct pushadm_cmd spool_purge = {
	"spool purge", "[-d DIR] [--failed] [ID...]",
	"Deletes entries (all waiting ones, or with --failed all failed ones,\n"
	"when no ID is given).",
	PUSHADM_FORMAT_FLOW, cmd_spool_purge, NULL
};

const struct pushadm_cmd *const pushadm_cmds_spool[] = {
	&spool_run, &spool_list, &spool_show, &spool_retry, &spool_purge,
	&spool_check, NULL
};
