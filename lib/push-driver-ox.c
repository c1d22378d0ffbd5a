/* ox: the Open-Xchange HTTP push endpoint, byte-compatible with the driver
   of Dovecot's own push_notification plugin: the same trigger (MessageNew in
   INBOX, users who opted in through METADATA), the same PUT request and the
   same JSON keys in the same order. From and Subject are sent decoded to
   UTF-8 rather than raw (docs/ox.md). */
#include "pushcore-driver-private.h"
#include "pushcore-http.h"
#include "pushcore-json.h"
#include "pushcore-mem.h"
#include "pushcore-spec.h"
#include "pushcore-spool.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OX_METADATA_KEY "/private/vendor/vendor.dovecot/http-notify"
#define OX_DEFAULT_CACHE_LIFETIME_SECS 60
#define OX_DEFAULT_TIMEOUT_MSECS 2000
#define OX_DEFAULT_MAX_RETRIES 1

struct ox_config {
	const char *url;
	bool user_from_metadata;
	unsigned int cache_lifetime_secs;
	unsigned int max_retries, timeout_msecs;
};

/* The opt-in METADATA values this process looked up, per user. A delivery
   process serves one user after another, each with a new driver instance:
   a cache inside the instance would be empty every time, and every
   notification would open the user's INBOX once more just for this. The
   cache_lifetime semantics are the reference's (a value may be that old). */
#define OX_METADATA_CACHE_SIZE 64
struct ox_metadata_cache_entry {
	char *user, *value;
	time_t fetched_at;
};
static struct ox_metadata_cache_entry ox_metadata_cache[OX_METADATA_CACHE_SIZE];

static unsigned int ox_uint_option(struct pushcore_driver_instance *inst,
				   const char *key, unsigned int def)
{
	const char *str = pushcore_spec_get(inst->spec, key);
	unsigned int num;

	if (str == NULL)
		return def;
	if (!pushcore_parse_uint(str, &num)) {
		/* the reference ignores it silently; we say so */
		pushcore_driver_log(inst, PUSHCORE_LOG_WARNING,
			"Invalid %s=%s (not an unsigned number), using %u",
			key, str, def);
		return def;
	}
	return num;
}

static int ox_init(struct pushcore_driver_instance *inst, const char **error_r)
{
	struct ox_config *cfg = pushcore_palloc(inst->user->pool, sizeof(*cfg));
	const char *str, *error;
	unsigned int msecs;

	cfg->url = pushcore_spec_get(inst->spec, "url");
	if (cfg->url == NULL || cfg->url[0] == '\0') {
		*error_r = "Driver requires the url parameter";
		return -1;
	}
	if (!pushcore_http_url_valid(cfg->url, &error)) {
		*error_r = pushcore_psprintf(inst->user->pool,
			"Failed to parse OX REST URL %s: %s", cfg->url, error);
		return -1;
	}
	/* presence only, as in the reference: even =no turns it on */
	cfg->user_from_metadata = pushcore_spec_has(inst->spec, "user_from_metadata");
	cfg->cache_lifetime_secs = OX_DEFAULT_CACHE_LIFETIME_SECS;
	str = pushcore_spec_get(inst->spec, "cache_lifetime");
	if (str != NULL) {
		if (!pushcore_parse_time_msecs(str, 1000, &msecs)) {
			*error_r = pushcore_psprintf(inst->user->pool,
				"Failed to parse OX cache_lifetime %s: "
				"expected a number with an optional unit (s, m, h)", str);
			return -1;
		}
		cfg->cache_lifetime_secs = msecs / 1000;
	}
	cfg->max_retries = ox_uint_option(inst, "max_retries", OX_DEFAULT_MAX_RETRIES);
	cfg->timeout_msecs = ox_uint_option(inst, "timeout_msecs", OX_DEFAULT_TIMEOUT_MSECS);
	inst->context = cfg;
	inst->events = PUSHCORE_EVENT_MASK(PUSHCORE_EVENT_MESSAGE_NEW);
	return 0;
}

/* The user's slot: its own, else the oldest (which it then takes). */
static struct ox_metadata_cache_entry *ox_metadata_slot(const char *user)
{
	struct ox_metadata_cache_entry *e, *oldest = &ox_metadata_cache[0];

	for (e = ox_metadata_cache; e < ox_metadata_cache + OX_METADATA_CACHE_SIZE; e++) {
		if (e->user != NULL && strcmp(e->user, user) == 0)
			return e;
		if (e->user == NULL || e->fetched_at < oldest->fetched_at)
			oldest = e;
	}
	free(oldest->user);
	free(oldest->value);
	oldest->user = pushcore_xstrdup(user);
	oldest->value = NULL;
	oldest->fetched_at = 0;
	return oldest;
}

static bool ox_is_watched(const struct pushcore_event *ev)
{
	/* the reference watches INBOX and MessageNew only, hard-coded */
	return ev->type == PUSHCORE_EVENT_MESSAGE_NEW &&
		strcmp(ev->mailbox, "INBOX") == 0;
}

/* The opt-in value, from the cache while it is fresh. */
static const char *ox_get_metadata(struct pushcore_driver_instance *inst)
{
	struct ox_config *cfg = inst->context;
	const struct pushcore_host *host = inst->user->host;
	const char *value, *error = "no METADATA support in this host";
	struct ox_metadata_cache_entry *cached;
	time_t now = time(NULL);
	int ret = -1;

	cached = ox_metadata_slot(inst->user->username);
	if (cached->value != NULL &&
	    cached->fetched_at + (time_t)cfg->cache_lifetime_secs > now &&
	    cached->fetched_at <= now)
		return cached->value;
	if (host != NULL && host->metadata_get != NULL)
		ret = host->metadata_get(inst->user->host_ctx, OX_METADATA_KEY,
					 &value, &error);
	if (ret < 0) {
		pushcore_driver_log(inst, PUSHCORE_LOG_ERROR,
			"Skipped because unable to get attribute: %s", error);
		return NULL;
	}
	if (ret == 0) {
		pushcore_driver_log(inst, PUSHCORE_LOG_DEBUG,
			"Skipped because not active (" OX_METADATA_KEY
			" METADATA not set)");
		return NULL;
	}
	free(cached->value);
	cached->value = pushcore_xstrdup(value);
	cached->fetched_at = now;
	return cached->value;
}

/* Finds user= in a TAB-separated list of key=value, undoing Dovecot's
   tab-escaping (\001 followed by 1, t, r, n or 0). */
static const char *ox_metadata_user(struct pushcore_pool *pool, const char *md)
{
	const char *p = md, *end;
	struct pushcore_buf val;
	const char *ret = NULL;

	for (; ret == NULL && *p != '\0'; p = *end == '\0' ? end : end + 1) {
		end = strchr(p, '\t');
		if (end == NULL)
			end = p + strlen(p);
		if (end - p < 5 || strncmp(p, "user=", 5) != 0)
			continue;
		pushcore_buf_init(&val);
		for (p += 5; p < end; p++) {
			if (*p != '\001' || p + 1 == end) {
				pushcore_buf_append_c(&val, *p);
				continue;
			}
			p++;
			pushcore_buf_append_c(&val, *p == 't' ? '\t' : *p == 'r' ? '\r' :
					      *p == 'n' ? '\n' : *p == '0' ? '\0' : '\001');
		}
		ret = pushcore_pstrdup(pool, val.data);
		pushcore_buf_free(&val);
	}
	return ret;
}

static bool ox_begin_txn(struct pushcore_driver_instance *inst,
			 struct pushcore_txn *txn, void **txn_ctx_r)
{
	const struct pushcore_event *ev;
	const char *md, *user;

	for (ev = txn->events; ev != NULL && !ox_is_watched(ev); ev = ev->next) ;
	if (ev == NULL)
		return false;	/* not even a METADATA lookup for these */
	if ((md = ox_get_metadata(inst)) == NULL)
		return false;
	user = ox_metadata_user(txn->pool, md);
	if (user == NULL) {
		pushcore_driver_log(inst, PUSHCORE_LOG_ERROR,
			"No user provided in config (" OX_METADATA_KEY
			" needs user=NAME)");
		return false;
	}
	*txn_ctx_r = (void *)user;
	return true;
}

/* The body, keys in the reference's order; optional keys left out. */
static void ox_build_body(struct pushcore_json *json, const char *user,
			  const struct pushcore_event *ev,
			  bool have_unseen, uint32_t unseen)
{
	static const enum pushcore_field optional[] = {
		PUSHCORE_FIELD_FROM, PUSHCORE_FIELD_SUBJECT, PUSHCORE_FIELD_SNIPPET
	};
	unsigned int i;

	pushcore_json_object_open(json);
	pushcore_json_key(json, "user");
	pushcore_json_string(json, user);
	pushcore_json_key(json, "event");
	pushcore_json_string(json, "messageNew");
	pushcore_json_key(json, "folder");
	pushcore_json_string(json, ev->mailbox);
	pushcore_json_key(json, "imap-uidvalidity");
	pushcore_json_int(json, ev->uidvalidity);
	pushcore_json_key(json, "imap-uid");
	pushcore_json_int(json, ev->uid);
	for (i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		if (!ev->fields[optional[i]].set)
			continue;
		pushcore_json_key(json, pushcore_field_info(optional[i])->name);
		pushcore_json_string(json, ev->fields[optional[i]].str);
	}
	if (have_unseen) {
		pushcore_json_key(json, "unseen");
		pushcore_json_int(json, unseen);
	}
	pushcore_json_object_close(json);
}

/* The PUT for a body, all else from the settings (URL with the Basic
   auth credentials, timeout, a fresh Date). The delivery and the relay
   both build it here. */
static void ox_request(struct pushcore_driver_instance *inst,
		       struct pushcore_pool *pool, const void *body,
		       size_t body_len, struct pushcore_http_request *req)
{
	struct ox_config *cfg = inst->context;
	const char **headers = pushcore_palloc(pool, sizeof(*headers) * 4);
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	/* Dovecot's lib-http adds Date and Connection; the reference's
	   request has them, so ours does too */
	strftime(date, sizeof(date), "Date: %a, %d %b %Y %H:%M:%S GMT",
		 gmtime_r(&now, &tm));
	headers[0] = "Content-Type: application/json; charset=utf-8";
	headers[1] = pushcore_pstrdup(pool, date);
	headers[2] = "Connection: Keep-Alive";
	headers[3] = NULL;
	memset(req, 0, sizeof(*req));
	req->method = "PUT";
	req->url = cfg->url;
	req->headers = headers;
	req->body = body;
	req->body_len = body_len;
	req->timeout_msecs = cfg->timeout_msecs;
	req->max_attempts = cfg->max_retries + 1;
}

static void ox_process(struct pushcore_driver_instance *inst,
		       struct pushcore_txn *txn, void *txn_ctx,
		       const struct pushcore_event *ev)
{
	struct ox_config *cfg = inst->context;
	const struct pushcore_host *host = inst->user->host;
	struct pushcore_http_request req;
	struct pushcore_json *json;
	const char *error = "no mailbox status in this host", *body;
	uint32_t unseen = 0;
	bool have_unseen = false;
	size_t body_len;

	if (!ox_is_watched(ev))
		return;
	if (host != NULL && host->mailbox_unseen != NULL)
		have_unseen = host->mailbox_unseen(inst->user->host_ctx,
						   ev->mailbox, &unseen, &error) == 0;
	if (!have_unseen && host != NULL && host->mailbox_unseen != NULL) {
		pushcore_driver_log(inst, PUSHCORE_LOG_ERROR,
			"Unseen count of %s unavailable, sending without it: %s",
			ev->mailbox, error);
	}
	json = pushcore_json_new();
	ox_build_body(json, cfg->user_from_metadata ? (const char *)txn_ctx :
		      inst->user->username, ev, have_unseen, unseen);
	body = pushcore_json_result(json, &body_len);
	ox_request(inst, txn->pool, body, body_len, &req);
	pushcore_driver_log(inst, PUSHCORE_LOG_DEBUG, "Sending notification: %.*s",
			    (int)req.body_len, (const char *)req.body);
	pushcore_driver_send(inst, txn, &req, ev->id);
	pushcore_json_free(&json);
}

static int ox_rebuild(struct pushcore_driver_instance *inst,
		      struct pushcore_pool *pool,
		      const struct pushcore_spool_entry *e,
		      struct pushcore_http_request *req_r, const char **error_r)
{
	if (strcmp(e->method, "PUT") != 0) {
		*error_r = pushcore_psprintf(pool, "method %s is not the ox "
					     "driver's (PUT)", e->method);
		return -1;
	}
	ox_request(inst, pool, e->body, e->body_len, req_r);
	return 0;
}

const struct pushcore_driver push_driver_ox = {
	.name = "ox",
	.init = ox_init,
	.begin_txn = ox_begin_txn,
	.process = ox_process,
	.rebuild = ox_rebuild,
};
