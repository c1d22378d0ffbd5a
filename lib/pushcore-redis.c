/* Redis streams: the target URL, the process's connections
   (pushcore-redis-conn.c), and pipelined XADDs. */
#include "pushcore-redis.h"
#include "pushcore-redis-conn.h"
#include "pushcore-mem.h"
#include "pushcore-text.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDIS_DEFAULT_PORT 6379
/* connections kept open, one per server (URL and CA file): a process
   that feeds several (the relay) doesn't reconnect at every switch */
#define REDIS_CONN_CACHE_MAX 8

struct redis_target {
	char *host, *socket_path, *user, *password;
	int port, db;
	bool tls;
};

/* a kept connection, and the URL and CA file it was made for */
struct redis_slot {
	struct redis_conn *conn;
	char *url, *ca;
	unsigned long long last_used;
};
static struct redis_slot redis_slots[REDIS_CONN_CACHE_MAX];
static unsigned long long redis_uses = 0;
/* the connection in use, and its slot */
static struct redis_conn *redis_conn = NULL;
static struct redis_slot *redis_slot = NULL;
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
	t->tls = scheme != NULL && strcmp(scheme, "rediss") == 0;
	if (scheme == NULL || (strcmp(scheme, "redis") != 0 && !t->tls)) {
		*error_r = "the scheme must be redis://, rediss:// or unix:";
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

bool pushcore_redis_url_valid(const char *url, bool *tls_r, const char **error_r)
{
	struct redis_target t;
	bool ok = parse_url(url, &t, error_r);

	*tls_r = ok && t.tls;
	target_free(&t);
	return ok;
}

static void slot_close(struct redis_slot *slot)
{
	redis_conn_close(&slot->conn);
	free(slot->url);
	free(slot->ca);
	slot->url = slot->ca = NULL;
}

/* Closes the connection in use. */
static void conn_close(void)
{
	if (redis_slot != NULL)
		slot_close(redis_slot);
	redis_slot = NULL;
	redis_conn = NULL;
}

static bool same_str(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* redis_error from the server's error reply: its text goes into log
   lines and the journal, so its control characters are written out. */
static void reply_error(const char *what, const char *target, const char *text)
{
	struct pushcore_pool *pool = pushcore_pool_new();

	snprintf(redis_error, sizeof(redis_error), "%s%s%s failed: %s", what,
		 target == NULL ? "" : " to ", target == NULL ? "" : target,
		 pushcore_escape_controls(pool, text));
	pushcore_pool_free(&pool);
}

/* Sends one command and checks its reply; a Redis error reply names it. */
static bool conn_command(const char *what, int argc, const char **argv,
			 const char **error_r)
{
	redisReply *reply;
	const char *error = NULL;
	bool ok;

	redis_conn_append(redis_conn, argc, argv, NULL);
	reply = redis_conn_reply(redis_conn, &error);
	ok = reply != NULL && reply->type != REDIS_REPLY_ERROR;
	if (!ok) {
		reply_error(what, NULL, reply != NULL ? reply->str : error);
		*error_r = redis_error;
	}
	if (reply != NULL)
		freeReplyObject(reply);
	return ok;
}

/* AUTH and SELECT as the URL asks */
static bool conn_login(const struct redis_target *t, const char **error_r)
{
	bool with_user = t->user != NULL && t->user[0] != '\0';
	char db[16];

	if (t->password != NULL) {
		const char *auth[3] = { "AUTH", with_user ? t->user : t->password,
					t->password };

		if (!conn_command("AUTH", with_user ? 3 : 2, auth, error_r))
			return false;
	}
	if (t->db != 0) {
		const char *select[2] = { "SELECT", db };

		snprintf(db, sizeof(db), "%d", t->db);
		if (!conn_command("SELECT", 2, select, error_r))
			return false;
	}
	return true;
}

/* The kept connection to url (usable), or NULL with *slot_r the slot to
   open it in: an empty one, else the least recently used (closed). */
static struct redis_slot *slot_find(const char *url, const char *ca_file,
				    struct redis_slot **slot_r)
{
	struct redis_slot *slot, *free_slot = &redis_slots[0];

	for (slot = redis_slots; slot < redis_slots + REDIS_CONN_CACHE_MAX; slot++) {
		if (slot->conn != NULL && strcmp(slot->url, url) == 0 &&
		    same_str(slot->ca, ca_file)) {
			if (redis_conn_usable(slot->conn))
				return slot;
			free_slot = slot;
			break;
		}
		if (free_slot->conn != NULL &&
		    (slot->conn == NULL || slot->last_used < free_slot->last_used))
			free_slot = slot;
	}
	slot_close(free_slot);
	*slot_r = free_slot;
	return NULL;
}

static bool conn_open(const char *url, const char *ca_file,
		      unsigned int timeout_msecs, const char **error_r)
{
	struct redis_target t;
	struct redis_slot *slot;
	bool ok;

	if ((redis_slot = slot_find(url, ca_file, &slot)) != NULL) {
		redis_slot->last_used = ++redis_uses;
		redis_conn = redis_slot->conn;
		redis_conn_set_timeout(redis_conn, timeout_msecs);
		return true;
	}
	redis_slot = slot;
	redis_slot->last_used = ++redis_uses;
	redis_conn = NULL;
	if (!parse_url(url, &t, error_r)) {
		target_free(&t);
		return false;
	}
	struct redis_conn_target target = {
		.host = t.host, .socket_path = t.socket_path, .port = t.port,
		.tls = t.tls, .tls_ca_file = ca_file,
	};
	redis_conn = redis_slot->conn = redis_conn_open(&target, timeout_msecs, error_r);
	ok = redis_conn != NULL;
	if (ok) {
		redis_slot->url = pushcore_xstrdup(url);
		redis_slot->ca = ca_file == NULL ? NULL : pushcore_xstrdup(ca_file);
		ok = conn_login(&t, error_r);
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
	redis_conn_append(redis_conn, n, argv, lens);
}

int pushcore_redis_xadd(const char *url, const char *tls_ca_file,
			unsigned int timeout_msecs,
			const struct pushcore_redis_add *adds, unsigned int count,
			unsigned int *added_r, const char **error_r)
{
	redisReply *reply;
	const char *error;
	unsigned int i;
	int ret = 0;

	*added_r = 0;
	if (!conn_open(url, tls_ca_file, timeout_msecs, error_r))
		return -1;
	for (i = 0; i < count; i++)
		append_xadd(&adds[i]);
	for (i = 0; i < count; i++) {
		if ((reply = redis_conn_reply(redis_conn, &error)) == NULL) {
			snprintf(redis_error, sizeof(redis_error), "XADD failed: %s", error);
			*error_r = redis_error;
			conn_close();	/* the pipeline is broken: start afresh */
			return -1;
		}
		if (reply->type == REDIS_REPLY_ERROR && ret == 0) {
			reply_error("XADD", adds[i].stream, reply->str);
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
	unsigned int i;

	for (i = 0; i < REDIS_CONN_CACHE_MAX; i++)
		slot_close(&redis_slots[i]);
	redis_slot = NULL;
	redis_conn = NULL;
}
