/* relay.conf: the relay's own settings, parsed with libconfuse (the relay is
   not a Dovecot process; driver settings stay in Dovecot's configuration).
   A missing file means defaults; a bad value stops the relay with the
   file, the line and the setting. docs/spool.md lists the keys. */
#include "pushadm-relay.h"
#include "pushadm-relay-metrics.h"
#include "pushcore.h"

#include <confuse.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static cfg_opt_t relay_opts[] = {
	CFG_STR("socket_owner", "root", CFGF_NONE),
	CFG_STR("socket_group", "root", CFGF_NONE),
	/* peers are checked with SO_PEERCRED: the mode need not keep
	   anyone out, and per-user delivery uids share no group */
	CFG_STR("socket_mode", "0666", CFGF_NONE),
	CFG_STR_LIST("allowed_uids", "{}", CFGF_NONE),
	CFG_INT("endpoint_concurrency", 4, CFGF_NONE),
	CFG_STR("backoff", "10s", CFGF_NONE),
	CFG_STR("max_backoff", "1h", CFGF_NONE),
	CFG_STR("max_age", "1d", CFGF_NONE),
	CFG_INT("circuit_failures", 5, CFGF_NONE),
	CFG_STR("circuit_time", "30s", CFGF_NONE),
	CFG_STR("sync", "full", CFGF_NONE),
	/* how long a hand-off may wait for its endpoints before it is
	   journaled (0: journaled at once); docs/spool.md */
	CFG_STR("send_first", "5ms", CFGF_NONE),
	CFG_STR("journal", RELAY_JOURNAL_DEFAULT_PATH, CFGF_NONE),
	CFG_STR("client_timeout", "10s", CFGF_NONE),
	CFG_INT("max_clients", 1024, CFGF_NONE),
	/* one user's waiting notifications: a local account that submits
	   without end is refused, not the root relay's memory filled */
	CFG_INT("max_queued_per_user", 50000, CFGF_NONE),
	CFG_STR("max_queued_bytes_per_user", "64M", CFGF_NONE),
	CFG_INT("max_queued", 1000000, CFGF_NONE),
	CFG_STR("max_queued_bytes", "1G", CFGF_NONE),
	/* queue figures: off unless asked for (docs/spool.md "Queue figures") */
	CFG_STR("stats_socket", "", CFGF_NONE),
	CFG_STR("metrics_listen", "", CFGF_NONE),
	CFG_STR("metrics_socket_mode", "0600", CFGF_NONE),
	CFG_STR("metrics_socket_group", "root", CFGF_NONE),
	CFG_END()
};

/* the file being read, for error lines (cfg_parse_buf() knows no name) */
static const char *conf_path;

static void conf_error(cfg_t *cfg, const char *fmt, va_list args)
{
	fprintf(stderr, "pushadm relay: %s line %d: ", conf_path, cfg->line);
	vfprintf(stderr, fmt, args);
	fputc('\n', stderr);
}

static int validate_time(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *value = cfg_opt_getnstr(opt, 0);
	unsigned int msecs;

	if (!pushcore_parse_time_msecs(value, 1000, &msecs) || msecs < 1000) {
		cfg_error(cfg, "invalid %s = \"%s\" (expected a time of at least "
			  "1s, such as 30s, 5m, 1h, 1d)", opt->name, value);
		return -1;
	}
	return 0;
}

static int validate_count(cfg_t *cfg, cfg_opt_t *opt)
{
	/* the relay-wide queue bound counts every user's notifications */
	long value = cfg_opt_getnint(opt, 0), max =
		strcmp(opt->name, "max_queued") == 0 ? 100000000 : 100000;

	if (value < 1 || value > max) {
		cfg_error(cfg, "invalid %s = %ld (expected 1 to %ld)",
			  opt->name, value, max);
		return -1;
	}
	return 0;
}

/* 1024, 64K, 64M, 1G (powers of 1024) in bytes: false when it is none
   of these, or outside 1K to 1T */
static bool parse_size(const char *value, unsigned long long *bytes_r)
{
	static const char units[] = "KMGT";
	const unsigned long long max = 1ULL << 40;
	const char *unit;
	unsigned long long n;
	unsigned int shifts = 0;
	char *end;

	if (value[0] < '0' || value[0] > '9')
		return false;
	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno != 0 || n > max)
		return false;
	if (*end != '\0') {
		if ((unit = strchr(units, *end)) == NULL || end[1] != '\0')
			return false;
		shifts = (unsigned int)(unit - units) + 1;
	}
	for (; shifts > 0; shifts--) {
		if (n > max / 1024)
			return false;
		n *= 1024;
	}
	*bytes_r = n;
	return n >= 1024;
}

static int validate_size(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *value = cfg_opt_getnstr(opt, 0);
	unsigned long long bytes;

	if (!parse_size(value, &bytes)) {
		cfg_error(cfg, "invalid %s = \"%s\" (expected a size of 1K to 1T, "
			  "such as 64M or 1G)", opt->name, value);
		return -1;
	}
	return 0;
}

static int validate_mode(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *value = cfg_opt_getnstr(opt, 0);
	char *end;
	long mode = strtol(value, &end, 8);

	if (value[0] == '\0' || *end != '\0' || mode < 0 || mode > 0777) {
		cfg_error(cfg, "invalid %s = \"%s\" (expected an octal mode "
			  "such as 0660)", opt->name, value);
		return -1;
	}
	return 0;
}

static int validate_sync(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *value = cfg_opt_getnstr(opt, 0);

	if (strcmp(value, "full") != 0 && strcmp(value, "normal") != 0) {
		cfg_error(cfg, "invalid %s = \"%s\" (expected full or normal)",
			  opt->name, value);
		return -1;
	}
	return 0;
}

/* It delays the acknowledgement a delivery waits for: far below the
   plugin's relay timeout (250 ms by default). */
#define SEND_FIRST_MAX_MSECS 50
static int validate_send_first(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *value = cfg_opt_getnstr(opt, 0);
	unsigned int msecs;

	if (!pushcore_parse_time_msecs(value, 1, &msecs) ||
	    msecs > SEND_FIRST_MAX_MSECS) {
		cfg_error(cfg, "invalid %s = \"%s\" (expected a time of 0 to "
			  "%ums, such as 5ms; 0 journals every notification "
			  "at once)", opt->name, value, SEND_FIRST_MAX_MSECS);
		return -1;
	}
	return 0;
}

static int validate_listen(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *value = cfg_opt_getnstr(opt, 0), *why;

	if (!relay_metrics_listen_valid(value, &why)) {
		cfg_error(cfg, "invalid %s = \"%s\" (%s)", opt->name, value, why);
		return -1;
	}
	return 0;
}

static int validate_path(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *value = cfg_opt_getnstr(opt, 0);

	if (value[0] != '\0' && value[0] != '/') {
		cfg_error(cfg, "invalid %s = \"%s\" (expected an absolute path)",
			  opt->name, value);
		return -1;
	}
	return 0;
}

static bool parse_uid(const char *value, uid_t *uid_r)
{
	struct passwd *pw;
	char *end;
	unsigned long num;

	errno = 0;
	num = strtoul(value, &end, 10);
	if (value[0] != '\0' && *end == '\0' && errno == 0 && num < (uid_t)-1) {
		*uid_r = (uid_t)num;
		return true;
	}
	if ((pw = getpwnam(value)) == NULL)
		return false;
	*uid_r = pw->pw_uid;
	return true;
}

static bool parse_gid(const char *value, gid_t *gid_r)
{
	struct group *gr;
	char *end;
	unsigned long num;

	errno = 0;
	num = strtoul(value, &end, 10);
	if (value[0] != '\0' && *end == '\0' && errno == 0 && num < (gid_t)-1) {
		*gid_r = (gid_t)num;
		return true;
	}
	if ((gr = getgrnam(value)) == NULL)
		return false;
	*gid_r = gr->gr_gid;
	return true;
}

static int validate_owner(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *value = cfg_opt_getnstr(opt, 0);
	bool group = strstr(opt->name, "_group") != NULL;
	uid_t uid;
	gid_t gid;

	if (group ? !parse_gid(value, &gid) : !parse_uid(value, &uid)) {
		cfg_error(cfg, "invalid %s = \"%s\" (no such %s)", opt->name,
			  value, group ? "group" : "user");
		return -1;
	}
	return 0;
}

static int validate_uids(cfg_t *cfg, cfg_opt_t *opt)
{
	unsigned int i, n = cfg_opt_size(opt);
	uid_t uid;

	if (n > RELAY_MAX_ALLOWED_UIDS) {
		cfg_error(cfg, "invalid %s: more than %d entries", opt->name,
			  RELAY_MAX_ALLOWED_UIDS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!parse_uid(cfg_opt_getnstr(opt, i), &uid)) {
			cfg_error(cfg, "invalid %s: \"%s\" (no such user)",
				  opt->name, cfg_opt_getnstr(opt, i));
			return -1;
		}
	}
	return 0;
}

static unsigned int conf_secs(cfg_t *cfg, const char *name)
{
	unsigned int msecs = 0;

	(void)pushcore_parse_time_msecs(cfg_getstr(cfg, name), 1000, &msecs);
	return msecs / 1000;
}

static void conf_fill(cfg_t *cfg, struct relay_conf *conf)
{
	unsigned int i;

	(void)parse_uid(cfg_getstr(cfg, "socket_owner"), &conf->socket_uid);
	(void)parse_gid(cfg_getstr(cfg, "socket_group"), &conf->socket_gid);
	conf->socket_mode = (unsigned int)strtoul(cfg_getstr(cfg, "socket_mode"), NULL, 8);
	conf->allowed_uid_count = cfg_size(cfg, "allowed_uids");
	for (i = 0; i < conf->allowed_uid_count; i++)
		(void)parse_uid(cfg_getnstr(cfg, "allowed_uids", i),
				&conf->allowed_uids[i]);
	conf->queue.endpoint_concurrency = (unsigned int)cfg_getint(cfg, "endpoint_concurrency");
	conf->queue.backoff_secs = conf_secs(cfg, "backoff");
	conf->queue.max_backoff_secs = conf_secs(cfg, "max_backoff");
	conf->queue.max_age_secs = conf_secs(cfg, "max_age");
	conf->queue.circuit_failures = (unsigned int)cfg_getint(cfg, "circuit_failures");
	conf->queue.circuit_secs = conf_secs(cfg, "circuit_time");
	conf->sync_full = strcmp(cfg_getstr(cfg, "sync"), "full") == 0;
	(void)pushcore_parse_time_msecs(cfg_getstr(cfg, "send_first"), 1,
					&conf->queue.send_first_msecs);
	conf->journal = pushcore_xstrdup(cfg_getstr(cfg, "journal"));
	conf->client_timeout_secs = conf_secs(cfg, "client_timeout");
	conf->max_clients = (unsigned int)cfg_getint(cfg, "max_clients");
	conf->queue.max_user_entries = (unsigned int)cfg_getint(cfg, "max_queued_per_user");
	(void)parse_size(cfg_getstr(cfg, "max_queued_bytes_per_user"),
			 &conf->queue.max_user_bytes);
	conf->queue.max_entries = (unsigned int)cfg_getint(cfg, "max_queued");
	(void)parse_size(cfg_getstr(cfg, "max_queued_bytes"), &conf->queue.max_bytes);
	conf->stats_socket = pushcore_xstrdup(cfg_getstr(cfg, "stats_socket"));
	conf->metrics_listen = pushcore_xstrdup(cfg_getstr(cfg, "metrics_listen"));
	conf->metrics_socket_mode = (unsigned int)strtoul(cfg_getstr(cfg,
		"metrics_socket_mode"), NULL, 8);
	(void)parse_gid(cfg_getstr(cfg, "metrics_socket_group"),
			&conf->metrics_socket_gid);
}

/* libconfuse 3.3 counts a line with a comment more than once, so its
   line numbers drift after the first comment: comments are blanked here
   (newlines kept) and the rest parsed from memory. Quoted strings are
   kept as they are. */
static void strip_comments(char *p)
{
	char quote = '\0';

	for (; *p != '\0'; p++) {
		if (quote != '\0') {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == quote)
				quote = '\0';
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			for (; *p != '\0' && *p != '\n'; p++)
				*p = ' ';
			if (*p == '\0')
				break;
		} else if (p[0] == '/' && p[1] == '*') {
			for (; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++) {
				if (*p != '\n')
					*p = ' ';
			}
			if (*p == '\0')
				break;
			p[0] = p[1] = ' ';
			p++;
		}
	}
}

/* The file's contents, comments blanked; NULL with errno. */
static char *conf_load(const char *path)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	const char *error;
	char *data, *copy = NULL;
	size_t size;
	int err;

	if (pushcore_file_read(pool, path, 1024 * 1024, &data, &size, &error) < 0) {
		/* psprintf of the message may have changed it */
		err = errno;
		if (access(path, F_OK) < 0)
			err = errno;
		errno = err;
	} else {
		if (memchr(data, '\0', size) != NULL) {
			errno = EINVAL;
		} else {
			copy = pushcore_xstrdup(data);
			strip_comments(copy);
		}
	}
	err = errno;
	pushcore_pool_free(&pool);
	errno = err;
	return copy;
}

int relay_conf_read(const char *path, struct relay_conf *conf_r)
{
	static const char *const times[] = {
		"backoff", "max_backoff", "max_age", "circuit_time", "client_timeout"
	};
	static const char *const counts[] = {
		"endpoint_concurrency", "circuit_failures", "max_clients",
		"max_queued_per_user", "max_queued"
	};
	cfg_t *cfg = cfg_init(relay_opts, CFGF_NONE);
	unsigned int i;
	char *data;
	int ret;

	memset(conf_r, 0, sizeof(*conf_r));
	conf_r->path = path;
	cfg_set_error_function(cfg, conf_error);
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		cfg_set_validate_func(cfg, times[i], validate_time);
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		cfg_set_validate_func(cfg, counts[i], validate_count);
	cfg_set_validate_func(cfg, "socket_mode", validate_mode);
	cfg_set_validate_func(cfg, "metrics_socket_mode", validate_mode);
	cfg_set_validate_func(cfg, "metrics_socket_group", validate_owner);
	cfg_set_validate_func(cfg, "metrics_listen", validate_listen);
	cfg_set_validate_func(cfg, "stats_socket", validate_path);
	cfg_set_validate_func(cfg, "socket_owner", validate_owner);
	cfg_set_validate_func(cfg, "socket_group", validate_owner);
	cfg_set_validate_func(cfg, "allowed_uids", validate_uids);
	cfg_set_validate_func(cfg, "sync", validate_sync);
	cfg_set_validate_func(cfg, "send_first", validate_send_first);
	cfg_set_validate_func(cfg, "max_queued_bytes_per_user", validate_size);
	cfg_set_validate_func(cfg, "max_queued_bytes", validate_size);
	conf_path = path;
	errno = 0;
	data = conf_load(path);
	ret = data == NULL ? CFG_FILE_ERROR : cfg_parse_buf(cfg, data);
	free(data);
	if (ret == CFG_FILE_ERROR && errno == ENOENT) {
		/* no file: the defaults, which cfg_init() set */
		ret = CFG_SUCCESS;
	} else if (ret == CFG_FILE_ERROR) {
		fprintf(stderr, "pushadm relay: can't read %s: %s\n", path,
			strerror(errno));
	} else if (ret != CFG_SUCCESS) {
		fprintf(stderr, "pushadm relay: %s is not valid (see above); "
			"the relay does not start\n", path);
	}
	if (ret == CFG_SUCCESS)
		conf_fill(cfg, conf_r);
	cfg_free(cfg);
	return ret == CFG_SUCCESS ? 0 : -1;
}

void relay_conf_free(struct relay_conf *conf)
{
	free((char *)conf->journal);
	free((char *)conf->stats_socket);
	free((char *)conf->metrics_listen);
	conf->journal = conf->stats_socket = conf->metrics_listen = NULL;
}
