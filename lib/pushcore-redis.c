/* Redis streams through hiredis. */
#include "pushcore-redis.h"
#include "pushcore-mem.h"

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDIS_DEFAULT_PORT 6379

struct redis_target {
	char *host, *socket_path, *user, *password;
	int port, db;
};

/* the process's one connection, and the URL it was made for */
static redisContext *redis_conn = NULL;
static char *redis_conn_url = NULL;
static char redis_error[512];

static void target_free(struct redis_target *t)
{
	if (t->password != NULL)
		memset(t->password, 0, strlen(t->password));
	free(t->host);
	free(t->socket_path);
	free(t->user);
	free(t->password);
}

static char *url_part(CURLU *h, CURLUPart part)
{
	char *value = NULL, *ret;

	if (curl_url_get(h, part, &value, CURLU_URLDECODE) != CURLUE_OK)
		return NULL;
	ret = pushcore_xstrdup(value);
	curl_free(value);
	return ret;
}

/* unix:/path[?db=N] */
static bool parse_unix(const char *url, struct redis_target *t, const char **error_r)
{
	const char *path = url + 5, *q = strchr(path, '?');

	if (path[0] != '/') {
		*error_r = "unix: needs an absolute socket path (unix:/run/redis.sock)";
		return false;
	}
	t->socket_path = q == NULL ? pushcore_xstrdup(path) : strndup(path, (size_t)(q - path));
	if (q != NULL && sscanf(q, "?db=%d", &t->db) != 1) {
		*error_r = "unix: only ?db=N may follow the socket path";
		return false;
	}
	return true;
}

static bool parse_url(const char *url, struct redis_target *t, const char **error_r)
{
	CURLU *h;
	char *scheme, *port, *path;
	bool ok = false;

	memset(t, 0, sizeof(*t));
	if (strncmp(url, "unix:", 5) == 0)
		return parse_unix(url, t, error_r);
	h = curl_url();
	if (curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
		*error_r = "not a URL (expected redis://host:port or unix:/path)";
		curl_url_cleanup(h);
		return false;
	}
	scheme = url_part(h, CURLUPART_SCHEME);
	if (scheme == NULL || strcmp(scheme, "redis") != 0) {
		*error_r = scheme != NULL && strcmp(scheme, "rediss") == 0 ?
			"rediss:// (TLS) needs hiredis 1.0 or later; this build has "
			"hiredis " "0.14 (Debian 12): use a TLS tunnel or unix:" :
			"the scheme must be redis:// or unix:";
	} else {
		t->host = url_part(h, CURLUPART_HOST);
		t->user = url_part(h, CURLUPART_USER);
		t->password = url_part(h, CURLUPART_PASSWORD);
		port = url_part(h, CURLUPART_PORT);
		path = url_part(h, CURLUPART_PATH);
		t->port = port != NULL ? atoi(port) : REDIS_DEFAULT_PORT;
		ok = path == NULL || path[0] == '\0' || strcmp(path, "/") == 0 ||
			sscanf(path, "/%d", &t->db) == 1;
		if (!ok)
			*error_r = "the path must be the database number (redis://host/1)";
		free(port);
		free(path);
	}
	free(scheme);
	curl_url_cleanup(h);
	return ok;
}

bool pushcore_redis_url_valid(const char *url, const char **error_r)
{
	struct redis_target t;
	bool ok = parse_url(url, &t, error_r);

	target_free(&t);
	return ok;
}

static void conn_close(void)
{
	if (redis_conn != NULL)
		redisFree(redis_conn);
	redis_conn = NULL;
	free(redis_conn_url);
	redis_conn_url = NULL;
}

/* Sends one command and checks its reply; a Redis error reply names it. */
static bool conn_command(const char *what, int argc, const char **argv,
			 const char **error_r)
{
	redisReply *reply = redisCommandArgv(redis_conn, argc, argv, NULL);
	bool ok = reply != NULL && reply->type != REDIS_REPLY_ERROR;

	if (!ok) {
		snprintf(redis_error, sizeof(redis_error), "%s failed: %s", what,
			 reply != NULL ? reply->str : redis_conn->errstr);
		*error_r = redis_error;
	}
	if (reply != NULL)
		freeReplyObject(reply);
	return ok;
}

static bool conn_open(const char *url, unsigned int timeout_msecs,
		      const char **error_r)
{
	struct timeval tv = { timeout_msecs / 1000, (timeout_msecs % 1000) * 1000 };
	struct redis_target t;
	char db[16];
	bool ok;

	if (redis_conn != NULL && strcmp(redis_conn_url, url) == 0 &&
	    redis_conn->err == 0) {
		redisSetTimeout(redis_conn, tv);
		return true;
	}
	conn_close();
	if (!parse_url(url, &t, error_r)) {
		target_free(&t);
		return false;
	}
	redis_conn = t.socket_path != NULL ?
		redisConnectUnixWithTimeout(t.socket_path, tv) :
		redisConnectWithTimeout(t.host, t.port, tv);
	ok = redis_conn != NULL && redis_conn->err == 0;
	if (!ok) {
		snprintf(redis_error, sizeof(redis_error), "connecting to %s failed: %s",
			 t.socket_path != NULL ? t.socket_path : t.host,
			 redis_conn != NULL ? redis_conn->errstr : "out of memory");
		*error_r = redis_error;
	} else {
		redisSetTimeout(redis_conn, tv);
		redis_conn_url = pushcore_xstrdup(url);
		if (t.password != NULL) {
			const char *auth[3] = { "AUTH", t.user != NULL && t.user[0] != '\0' ?
						t.user : t.password, t.password };
			ok = conn_command("AUTH", t.user != NULL && t.user[0] != '\0' ? 3 : 2,
					  auth, error_r);
		}
		if (ok && t.db != 0) {
			const char *select[2] = { "SELECT", db };

			snprintf(db, sizeof(db), "%d", t.db);
			ok = conn_command("SELECT", 2, select, error_r);
		}
	}
	if (!ok)
		conn_close();
	target_free(&t);
	return ok;
}

static void append_xadd(const struct pushcore_redis_add *a)
{
	const char *argv[12];
	size_t lens[12];
	char maxlen[16];
	int n = 0;

	argv[n++] = "XADD";
	argv[n++] = a->stream;
	if (a->maxlen > 0) {
		snprintf(maxlen, sizeof(maxlen), "%u", a->maxlen);
		argv[n++] = "MAXLEN";
		argv[n++] = "~";
		argv[n++] = maxlen;
	}
	argv[n++] = "*";
	argv[n++] = "user";
	argv[n++] = a->user;
	argv[n++] = "event";
	argv[n++] = a->event;
	argv[n++] = "json";
	for (int i = 0; i < n; i++)
		lens[i] = strlen(argv[i]);
	argv[n] = a->json;
	lens[n++] = a->json_len;
	redisAppendCommandArgv(redis_conn, n, argv, lens);
}

int pushcore_redis_xadd(const char *url, unsigned int timeout_msecs,
			const struct pushcore_redis_add *adds, unsigned int count,
			unsigned int *added_r, const char **error_r)
{
	redisReply *reply;
	void *r;
	unsigned int i;
	int ret = 0;

	*added_r = 0;
	if (!conn_open(url, timeout_msecs, error_r))
		return -1;
	for (i = 0; i < count; i++)
		append_xadd(&adds[i]);
	for (i = 0; i < count; i++) {
		if (redisGetReply(redis_conn, &r) != REDIS_OK) {
			snprintf(redis_error, sizeof(redis_error), "XADD failed: %s",
				 redis_conn->errstr);
			*error_r = redis_error;
			conn_close();	/* the pipeline is broken: start afresh */
			return -1;
		}
		reply = r;
		if (reply->type == REDIS_REPLY_ERROR && ret == 0) {
			snprintf(redis_error, sizeof(redis_error), "XADD to %s failed: %s",
				 adds[i].stream, reply->str);
			*error_r = redis_error;
			ret = -1;
		} else if (ret == 0) {
			(*added_r)++;
		}
		freeReplyObject(reply);
	}
	return ret;
}

void pushcore_redis_deinit(void)
{
	conn_close();
}
