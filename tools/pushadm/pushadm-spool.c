/* pushadm spool run|list|show|retry|purge: the dispatcher that sends what
   delivery processes could not, and the commands to inspect the spool. */
#include "pushadm.h"
#include "pushadm-resolve.h"
#include "pushcore.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SPOOL_DIR "/var/spool/dovecot-push-notify"
#define DEFAULT_MAX_AGE_SECS (24 * 3600)
#define DEFAULT_BACKOFF_SECS 10
#define MAX_BACKOFF_SECS 3600
#define ROUND_MAX_WAIT_MSECS 60000

struct spool_opts {
	struct pushadm_resolver *resolver;	/* spool run */
	const char *dir;
	const char *area;
	bool once;
	unsigned int max_age_secs, backoff_secs;
};

struct spool_list {
	struct pushcore_pool *pool;
	unsigned int count;
	struct pushcore_spool_entry **entries;
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
	opts->area = PUSHCORE_SPOOL_NEW;
	opts->max_age_secs = DEFAULT_MAX_AGE_SECS;
	opts->backoff_secs = DEFAULT_BACKOFF_SECS;
	while ((c = getopt_long(argc, argv, "d:", spool_long_options, NULL)) != -1) {
		switch (c) {
		case 'd': opts->dir = optarg; break;
		case 'o': opts->once = true; break;
		case 'F': opts->area = PUSHCORE_SPOOL_FAILED; break;
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

static int entry_cmp(const void *a, const void *b)
{
	const struct pushcore_spool_entry *const *ea = a, *const *eb = b;

	return strcmp((*ea)->path, (*eb)->path);
}

/* Moves a file that can't be parsed aside, so the rest can be sent. */
static void quarantine(const char *dir, const char *path, const char *name,
		       const char *error)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	const char *dest = pushcore_psprintf(pool, "%s/%s/%s", dir,
					     PUSHCORE_SPOOL_QUARANTINE, name);

	if (rename(path, dest) < 0)
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "spool: rename(%s, %s) "
			     "failed: %s", path, dest, strerror(errno));
	else
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "spool: %s is corrupt (%s); "
			     "moved to %s", path, error, dest);
	pushcore_pool_free(&pool);
}

/* Every entry of one area, oldest first. */
static int spool_scan(const struct spool_opts *opts, const char *area,
		      struct spool_list *list)
{
	const char *dirpath, *path, *error;
	struct pushcore_spool_entry *entry;
	struct dirent *d;
	unsigned int size = 16;
	DIR *dir;

	list->pool = pushcore_pool_new();
	list->count = 0;
	list->entries = pushcore_xmalloc(sizeof(*list->entries) * size);
	dirpath = pushcore_psprintf(list->pool, "%s/%s", opts->dir, area);
	if ((dir = opendir(dirpath)) == NULL) {
		fprintf(stderr, "pushadm: opendir(%s) failed: %s\n", dirpath,
			strerror(errno));
		return -1;
	}
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		path = pushcore_psprintf(list->pool, "%s/%s", dirpath, d->d_name);
		if (pushcore_spool_read(list->pool, path, &entry, &error) < 0) {
			if (strcmp(area, PUSHCORE_SPOOL_NEW) == 0)
				quarantine(opts->dir, path, d->d_name, error);
			continue;
		}
		if (list->count == size)
			list->entries = pushcore_xrealloc(list->entries,
				sizeof(*list->entries) * (size *= 2));
		list->entries[list->count++] = entry;
	}
	closedir(dir);
	qsort(list->entries, list->count, sizeof(*list->entries), entry_cmp);
	return 0;
}

static void spool_list_free(struct spool_list *list)
{
	free(list->entries);
	pushcore_pool_free(&list->pool);
}

/* --- the dispatcher ---------------------------------------------------- */

struct dispatch {
	const struct spool_opts *opts;
	struct pushcore_spool_entry *entry;
	const char *url;		/* resolved: for log lines */
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

/* Replaces the entry's file by one in area (the same file when area is
   where it is). */
static void entry_move(const struct spool_opts *opts,
		       struct pushcore_spool_entry *e, const char *area)
{
	const char *error;

	if (pushcore_spool_write(opts->dir, area, e, &error) < 0) {
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "spool: %s", error);
		return;
	}
	if (strcmp(area, PUSHCORE_SPOOL_NEW) != 0 && unlink(e->path) < 0)
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "spool: unlink(%s) failed: %s",
			     e->path, strerror(errno));
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
			     strcmp(e->method, "XADD") == 0 ? "XADD" : "HTTP",
			     r->status, e->attempts);
		if (unlink(e->path) < 0)
			pushcore_log(PUSHCORE_LOG_ERROR, NULL, "spool: unlink(%s) "
				     "failed: %s", e->path, strerror(errno));
		return;
	}
	snprintf(status, sizeof(status), "HTTP %d", r->status);
	e->last_error = r->status != 0 ? status : r->error;
	if (r->outcome == PUSHCORE_HTTP_PERMFAIL) {
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "spool: %s for %s to %s failed "
			     "for good: %s; moved to %s/", e->id, e->user, d->url,
			     e->last_error, PUSHCORE_SPOOL_FAILED);
		entry_move(d->opts, e, PUSHCORE_SPOOL_FAILED);
		return;
	}
	e->next_attempt = time(NULL) + backoff_secs(d->opts, e->attempts);
	if (r->retry_after_secs > 0 &&
	    time(NULL) + r->retry_after_secs > e->next_attempt)
		e->next_attempt = time(NULL) + r->retry_after_secs;
	pushcore_log(PUSHCORE_LOG_WARNING, NULL, "spool: %s for %s to %s failed: "
		     "%s (attempt %u); next attempt in %llds", e->id, e->user,
		     d->url, e->last_error, e->attempts,
		     e->next_attempt - (long long)time(NULL));
	entry_move(d->opts, e, PUSHCORE_SPOOL_NEW);
	(*d->pending_failures)++;
}

static const char *request_header(const struct pushcore_http_request *req,
				  const char *name)
{
	size_t len = strlen(name);
	unsigned int i;

	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		if (strncmp(req->headers[i], name, len) == 0 &&
		    strncmp(req->headers[i] + len, ": ", 2) == 0)
			return req->headers[i] + len + 2;
	}
	return NULL;
}

/* An XADD of the redis driver, as the resolver built it, sent
   synchronously (its timeout is the driver's setting). */
static void dispatch_redis(struct dispatch *d,
			   const struct pushcore_http_request *req)
{
	struct pushcore_spool_entry *e = d->entry;
	struct pushcore_http_result r;
	struct pushcore_redis_add add = {
		.stream = request_header(req, "stream"), .user = e->user,
		.event = request_header(req, "event"), .id = e->id,
		.json = e->body, .json_len = e->body_len,
	};
	const char *maxlen = request_header(req, "maxlen");
	unsigned int added;

	memset(&r, 0, sizeof(r));
	if (add.stream == NULL || add.event == NULL || maxlen == NULL ||
	    !pushcore_parse_uint(maxlen, &add.maxlen)) {
		r.outcome = PUSHCORE_HTTP_PERMFAIL;
		r.error = "invalid XADD request (stream, maxlen or event missing)";
	} else if (pushcore_redis_xadd(req->url, req->tls_ca_file,
				       req->timeout_msecs == 0 ? 1000 : req->timeout_msecs,
				       &add, 1, &added, &r.error) < 0) {
		r.outcome = PUSHCORE_HTTP_TEMPFAIL;
	}
	r.attempts = 1;
	dispatch_callback(&r, d);
}

/* Whether an earlier entry waits for the same user and driver: each
   endpoint gets a user's notifications in order, and one endpoint's
   failure holds back no other's. */
static bool queue_seen(struct pushcore_spool_entry **entries, unsigned int upto,
		       const struct pushcore_spool_entry *e)
{
	unsigned int i;

	for (i = 0; i < upto; i++) {
		if (strcmp(entries[i]->user, e->user) == 0 &&
		    strcmp(entries[i]->driver, e->driver) == 0)
			return true;
	}
	return false;
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
	if (strcmp(req.method, "XADD") == 0) {
		dispatch_redis(d, &req);
		return true;
	}
	req.max_attempts = 1;
	req.callback = dispatch_callback;
	req.context = d;
	if (!pushcore_http_submit(&req, &error)) {
		e->last_error = error;
		entry_move(d->opts, e, PUSHCORE_SPOOL_FAILED);
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

	if (spool_scan(opts, PUSHCORE_SPOOL_NEW, &list) < 0)
		return 0;
	for (i = 0; i < list.count; i++) {
		struct pushcore_spool_entry *e = list.entries[i];

		if (queue_seen(list.entries, i, e))
			continue;
		if (e->created_usecs / 1000000 + opts->max_age_secs < now) {
			e->last_error = pushcore_psprintf(list.pool, "expired after "
				"%u attempts (last: %s)", e->attempts,
				e->last_error == NULL ? "none" : e->last_error);
			pushcore_log(PUSHCORE_LOG_ERROR, NULL, "spool: %s for %s %s; "
				     "moved to %s/", e->id, e->user, e->last_error,
				     PUSHCORE_SPOOL_FAILED);
			entry_move(opts, e, PUSHCORE_SPOOL_FAILED);
			continue;
		}
		if (e->next_attempt > now)
			continue;
		d = pushcore_palloc(list.pool, sizeof(*d));
		d->opts = opts;
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
	struct spool_opts opts;
	const char *error, *new_dir;
	struct timeval tv;
	unsigned int failures = 0;
	int inotify_fd;

	if (spool_parse_opts(ctx, argc, argv, &opts) < 0)
		return PUSHADM_EXIT_USAGE;
	if (pushcore_spool_init_dir(opts.dir, &error) < 0) {
		fprintf(stderr, "pushadm: %s\n", error);
		return PUSHADM_EXIT_CONFIG;
	}
	gettimeofday(&tv, NULL);
	srand((unsigned int)(tv.tv_usec ^ getpid()));
	signal(SIGTERM, on_stop_signal);
	signal(SIGINT, on_stop_signal);
	opts.resolver = pushadm_resolver_new(ctx);
	if (opts.once) {
		/* rounds until nothing due is left (a user's next entry becomes
		   due when the one before it was sent) */
		while (!stop_requested && dispatch_round(&opts, &failures) > 0) ;
		return failures == 0 ? PUSHADM_EXIT_OK : PUSHADM_EXIT_TEMPFAIL;
	}
	new_dir = pushcore_psprintf(pushcore_pool_new(), "%s/%s", opts.dir,
				    PUSHCORE_SPOOL_NEW);
	inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (inotify_fd >= 0 &&
	    inotify_add_watch(inotify_fd, new_dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		close(inotify_fd);
		inotify_fd = -1;
	}
	pushcore_log(PUSHCORE_LOG_INFO, NULL, "spool: dispatcher started on %s",
		     opts.dir);
	while (!stop_requested) {
		if (dispatch_round(&opts, &failures) == 0)
			wait_for_work(inotify_fd);
	}
	return PUSHADM_EXIT_OK;
}

/* --- inspection -------------------------------------------------------- */

static const char *redacted(struct pushadm_ctx *ctx, struct pushcore_pool *pool,
			    const char *value)
{
	return value == NULL ? "" : ctx->show_secrets ? value :
		pushcore_redact(pool, value);
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
	if (spool_scan(&opts, opts.area, &list) < 0)
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
		struct pushcore_spool_entry *e = list.entries[i];

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

/* The entries named by id (all when none is named), in new/ and failed/. */
static int for_each_named(struct pushadm_ctx *ctx, int argc, char *argv[],
			  bool all_if_none,
			  void (*fn)(struct pushadm_ctx *, const struct spool_opts *,
				     struct pushcore_spool_entry *, const char *area))
{
	static const char *const areas[] = { PUSHCORE_SPOOL_NEW, PUSHCORE_SPOOL_FAILED };
	struct spool_opts opts;
	struct spool_list list;
	unsigned int a, i, found = 0;
	int j, first;

	if (spool_parse_opts(ctx, argc, argv, &opts) < 0)
		return PUSHADM_EXIT_USAGE;
	first = optind;
	if (first == argc && !all_if_none) {
		fprintf(stderr, "pushadm: name the spool entry ID\n");
		return PUSHADM_EXIT_USAGE;
	}
	for (a = 0; a < 2; a++) {
		if (first == argc && strcmp(areas[a], opts.area) != 0)
			continue;
		if (spool_scan(&opts, areas[a], &list) < 0)
			return PUSHADM_EXIT_NOINPUT;
		for (i = 0; i < list.count; i++) {
			bool named = first == argc;

			for (j = first; j < argc && !named; j++)
				named = strcmp(argv[j], list.entries[i]->id) == 0;
			if (named) {
				fn(ctx, &opts, list.entries[i], areas[a]);
				found++;
			}
		}
		spool_list_free(&list);
	}
	if (found == 0 && first < argc) {
		fprintf(stderr, "pushadm: no spool entry %s\n", argv[first]);
		return PUSHADM_EXIT_NOINPUT;
	}
	return PUSHADM_EXIT_OK;
}

static void show_entry(struct pushadm_ctx *ctx,
		       const struct spool_opts *opts __attribute__((unused)),
		       struct pushcore_spool_entry *e, const char *area)
{
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
	return for_each_named(ctx, argc, argv, false, show_entry);
}

static void retry_entry(struct pushadm_ctx *ctx __attribute__((unused)),
			const struct spool_opts *opts,
			struct pushcore_spool_entry *e, const char *area)
{
	e->next_attempt = 0;
	entry_move(opts, e, PUSHCORE_SPOOL_NEW);
	if (strcmp(area, PUSHCORE_SPOOL_FAILED) == 0 && unlink(e->path) < 0)
		fprintf(stderr, "pushadm: unlink(%s) failed: %s\n", e->path,
			strerror(errno));
	printf("%s: due now\n", e->id);
}

static int cmd_spool_retry(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	return for_each_named(ctx, argc, argv, true, retry_entry);
}

static void purge_entry(struct pushadm_ctx *ctx __attribute__((unused)),
			const struct spool_opts *opts __attribute__((unused)),
			struct pushcore_spool_entry *e,
			const char *area __attribute__((unused)))
{
	if (unlink(e->path) < 0)
		fprintf(stderr, "pushadm: unlink(%s) failed: %s\n", e->path,
			strerror(errno));
	else
		printf("%s: purged\n", e->id);
}

static int cmd_spool_purge(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	return for_each_named(ctx, argc, argv, true, purge_entry);
}

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
	PUSHADM_FORMAT_FLOW, cmd_spool_run
};
static const struct pushadm_cmd spool_list = {
	"spool list", "[-d DIR] [--failed]",
	"Lists the waiting (or, with --failed, the failed) notifications.",
	PUSHADM_FORMAT_TABLE, cmd_spool_list
};
static const struct pushadm_cmd spool_show = {
	"spool show", "[-d DIR] ID...",
	"Shows a spooled notification: its request, headers and body\n"
	"(credentials hidden unless -P).",
	PUSHADM_FORMAT_PAGER, cmd_spool_show
};
static const struct pushadm_cmd spool_retry = {
	"spool retry", "[-d DIR] [--failed] [ID...]",
	"Makes entries due now (all waiting ones, or with --failed all failed\n"
	"ones, when no ID is given); a failed entry goes back to the queue.",
	PUSHADM_FORMAT_FLOW, cmd_spool_retry
};
static const struct pushadm_cmd spool_purge = {
	"spool purge", "[-d DIR] [--failed] [ID...]",
	"Deletes entries (all waiting ones, or with --failed all failed ones,\n"
	"when no ID is given).",
	PUSHADM_FORMAT_FLOW, cmd_spool_purge
};

const struct pushadm_cmd *const pushadm_cmds_spool[] = {
	&spool_run, &spool_list, &spool_show, &spool_retry, &spool_purge, NULL
};
