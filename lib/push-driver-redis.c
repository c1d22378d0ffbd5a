/* redis: every event, as the same versioned JSON document the http driver
   sends, added to a Redis stream with XADD (fields user, event, json), so
   that many Dovecot servers feed one stream that a consumer group shares.
   All events of a transaction go in one pipelined round trip; when Redis
   can't be reached they are spooled, in order, for the dispatcher.
   docs/redis.md. */
#include "pushcore-driver.h"
#include "pushcore-filter.h"
#include "pushcore-http.h"
#include "pushcore-json.h"
#include "pushcore-mem.h"
#include "pushcore-payload.h"
#include "pushcore-redis.h"
#include "pushcore-relay-client.h"
#include "pushcore-spec.h"
#include "pushcore-spool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REDIS_DEFAULT_TIMEOUT_MSECS 1000

static const char *const redis_options[] = {
	"url", "stream", "maxlen", "events", "mailboxes", "timeout_msecs",
	"tls_ca_file", NULL
};

struct redis_config {
	const char *url, *stream, *tls_ca_file;
	unsigned int maxlen, timeout_msecs;
	struct pushcore_filter filter;
};

struct redis_txn {
	const struct pushcore_event **events;
	unsigned int count;
};

static int redis_init(struct pushcore_driver_instance *inst, const char **error_r)
{
	struct pushcore_pool *pool = pushcore_user_pool(pushcore_inst_user(inst));
	struct redis_config *cfg = pushcore_palloc(pool, sizeof(*cfg));
	const char *str, *error;
	unsigned int i, j;
	bool tls;

	for (i = 0; i < pushcore_inst_spec(inst)->count; i++) {
		for (j = 0; redis_options[j] != NULL &&
			    strcmp(redis_options[j], pushcore_inst_spec(inst)->options[i].key) != 0; j++) ;
		if (redis_options[j] == NULL) {
			*error_r = pushcore_psprintf(pool, "unknown option '%s'",
						     pushcore_inst_spec(inst)->options[i].key);
			return -1;
		}
	}
	cfg->url = pushcore_spec_get(pushcore_inst_spec(inst), "url");
	cfg->stream = pushcore_spec_get(pushcore_inst_spec(inst), "stream");
	cfg->tls_ca_file = pushcore_spec_get(pushcore_inst_spec(inst), "tls_ca_file");
	if (cfg->url == NULL || cfg->stream == NULL || cfg->stream[0] == '\0') {
		*error_r = "url= and stream= are required";
		return -1;
	}
	if (!pushcore_redis_url_valid(cfg->url, &tls, &error)) {
		*error_r = pushcore_psprintf(pool, "invalid url=%s: %s", cfg->url, error);
		return -1;
	}
	if (cfg->tls_ca_file != NULL) {
		if (!tls) {
			*error_r = "tls_ca_file= needs a rediss:// url";
			return -1;
		}
		if (access(cfg->tls_ca_file, R_OK) < 0) {
			*error_r = pushcore_psprintf(pool, "tls_ca_file=%s: %s",
						     cfg->tls_ca_file, strerror(errno));
			return -1;
		}
	}
	cfg->timeout_msecs = REDIS_DEFAULT_TIMEOUT_MSECS;
	if (((str = pushcore_spec_get(pushcore_inst_spec(inst), "maxlen")) != NULL &&
	     !pushcore_parse_uint(str, &cfg->maxlen)) ||
	    ((str = pushcore_spec_get(pushcore_inst_spec(inst), "timeout_msecs")) != NULL &&
	     !pushcore_parse_uint(str, &cfg->timeout_msecs))) {
		*error_r = pushcore_psprintf(pool, "invalid number '%s'", str);
		return -1;
	}
	if (pushcore_filter_init(inst, &cfg->filter, error_r) < 0)
		return -1;
	pushcore_inst_set_context(inst, cfg);
	return 0;
}

static bool redis_begin_txn(struct pushcore_driver_instance *inst __attribute__((unused)),
			    struct pushcore_txn *txn, void **txn_ctx_r)
{
	struct redis_txn *rtxn = pushcore_palloc(pushcore_txn_pool(txn), sizeof(*rtxn));

	rtxn->events = pushcore_palloc(pushcore_txn_pool(txn), sizeof(*rtxn->events) *
				       pushcore_txn_event_count(txn));
	*txn_ctx_r = rtxn;
	return true;
}

static void redis_process(struct pushcore_driver_instance *inst,
			  struct pushcore_txn *txn __attribute__((unused)),
			  void *txn_ctx, const struct pushcore_event *ev)
{
	struct redis_config *cfg = pushcore_inst_context(inst);
	struct redis_txn *rtxn = txn_ctx;

	if (pushcore_filter_mailbox(&cfg->filter, ev->mailbox))
		rtxn->events[rtxn->count++] = ev;
}

/* What an XADD needs beside the URL and the body: the resend operation's
   context (pushcore-http.h). */
struct redis_resend_ctx {
	const char *stream, *user, *event, *id;
	unsigned int maxlen;
};

static int redis_resend_send(const struct pushcore_http_request *const *reqs,
			     unsigned int count, unsigned int timeout_msecs,
			     unsigned int *sent_r, const char **error_r);
static const struct pushcore_resend redis_resend = {
	.send = redis_resend_send,
};

/* The XADD as a request: method XADD, the Redis URL, the document, and
   the stream entry's other fields in the resend context. The delivery's
   spool entry and the relay's rebuild both make it here, from the
   settings, copied into pool: the relay's batch outlives them (its
   resolver frees a user's settings when they are too old). */
static void redis_request(struct pushcore_driver_instance *inst,
			  struct pushcore_pool *pool, const char *user,
			  const char *event, const char *id, const void *body,
			  size_t body_len, struct pushcore_http_request *req)
{
	struct redis_config *cfg = pushcore_inst_context(inst);
	struct redis_resend_ctx *ctx = pushcore_palloc(pool, sizeof(*ctx));

	ctx->stream = pushcore_pstrdup(pool, cfg->stream);
	ctx->maxlen = cfg->maxlen;
	ctx->user = pushcore_pstrdup(pool, user);
	ctx->event = event;
	ctx->id = pushcore_pstrdup(pool, id);
	memset(req, 0, sizeof(*req));
	req->method = "XADD";
	req->url = pushcore_pstrdup(pool, cfg->url);
	req->tls_ca_file = cfg->tls_ca_file == NULL ? NULL :
		pushcore_pstrdup(pool, cfg->tls_ca_file);
	req->body = body;
	req->body_len = body_len;
	req->timeout_msecs = cfg->timeout_msecs;
	req->max_attempts = 1;
	req->resend = &redis_resend;
	req->resend_ctx = ctx;
}

/* The resend operation: the requests' XADDs in one pipeline, to the
   server of the first (the caller groups them by method and URL). */
static int redis_resend_send(const struct pushcore_http_request *const *reqs,
			     unsigned int count, unsigned int timeout_msecs,
			     unsigned int *sent_r, const char **error_r)
{
	struct pushcore_redis_add *adds;
	const struct redis_resend_ctx *ctx;
	unsigned int i;
	int ret;

	adds = pushcore_xmalloc(sizeof(*adds) * count);
	for (i = 0; i < count; i++) {
		ctx = reqs[i]->resend_ctx;
		adds[i] = (struct pushcore_redis_add){
			.stream = ctx->stream, .maxlen = ctx->maxlen,
			.user = ctx->user, .event = ctx->event, .id = ctx->id,
			.json = reqs[i]->body, .json_len = reqs[i]->body_len,
		};
	}
	ret = pushcore_redis_xadd(reqs[0]->url, reqs[0]->tls_ca_file,
				  timeout_msecs, adds, count, sent_r, error_r);
	free(adds);
	return ret;
}

/* The XADD as a spool entry (the same request the relay rebuilds). */
static void redis_entry(struct pushcore_driver_instance *inst,
			struct pushcore_txn *txn, const struct pushcore_redis_add *add,
			const struct pushcore_event *ev, struct pushcore_spool_entry *e)
{
	struct pushcore_http_request req;

	memset(e, 0, sizeof(*e));
	redis_request(inst, pushcore_txn_pool(txn), add->user, add->event, add->id,
		      add->json, add->json_len, &req);
	pushcore_driver_spool_entry(inst, txn, &req, add->id, e);
	/* one entry per event (the transaction's may be several) */
	e->event = add->event;
	e->mailbox = ev->mailbox;
}

static void redis_spool(struct pushcore_driver_instance *inst,
			struct pushcore_txn *txn, const struct pushcore_redis_add *add,
			const struct pushcore_event *ev, const char *error,
			bool temporary)
{
	struct pushcore_spool_entry e;

	redis_entry(inst, txn, add, ev, &e);
	if (error != NULL) {
		pushcore_driver_failed(inst, &e, error, 1, temporary, 0);
	} else if (pushcore_spool_write(pushcore_user_spool_dir(pushcore_inst_user(inst)),
					PUSHCORE_SPOOL_NEW, &e, &error) < 0) {
		/* spool-only mode: straight to the dispatcher */
		pushcore_outcome_report(inst, &e, PUSHCORE_RESULT_FAILED, 0, error,
			0, PUSHCORE_LOG_ERROR, "Notification %s: %s - "
			"the notification is LOST (check push_notification_spool_dir)",
			add->id, error);
	} else {
		pushcore_outcome_report(inst, &e, PUSHCORE_RESULT_SPOOLED, 0, NULL,
			0, PUSHCORE_LOG_DEBUG, "Notification %s spooled for the "
			"dispatcher", add->id);
	}
}

/* One pipelined XADD from this process, bounded by the delivery's time;
   what was not added waits in the spool, in order. */
static void redis_send(struct pushcore_driver_instance *inst,
		       struct pushcore_txn *txn, struct pushcore_redis_add *adds,
		       const struct pushcore_event *const *events,
		       unsigned int count)
{
	struct redis_config *cfg = pushcore_inst_context(inst);
	struct pushcore_spool_entry e;
	const char *error = NULL;
	unsigned int i, added = 0, timeout;
	int ret = -1;

	/* the delivery's bound covers Redis too */
	timeout = cfg->timeout_msecs < pushcore_user_max_wait_msecs(pushcore_inst_user(inst)) ?
		cfg->timeout_msecs : pushcore_user_max_wait_msecs(pushcore_inst_user(inst));
	if (!pushcore_user_spool_only(pushcore_inst_user(inst)))
		ret = pushcore_redis_xadd(cfg->url, cfg->tls_ca_file, timeout,
					  adds, count, &added, &error);
	for (i = 0; i < added; i++) {
		redis_entry(inst, txn, &adds[i], events[i], &e);
		pushcore_outcome_report(inst, &e, PUSHCORE_RESULT_SENT, 0, NULL, 1,
			PUSHCORE_LOG_DEBUG, "Notification %s added to stream %s",
			adds[i].id, adds[i].stream);
	}
	if (ret == 0)
		return;
	for (i = added; i < count; i++)
		redis_spool(inst, txn, &adds[i], events[i], error, true);
}

struct redis_fallback {
	struct pushcore_driver_instance *inst;
	struct pushcore_txn *txn;
	struct pushcore_redis_add *adds;
	const struct pushcore_event *const *events;
	unsigned int count;
};

static void redis_relay_fallback(void *context)
{
	struct redis_fallback *fb = context;

	redis_send(fb->inst, fb->txn, fb->adds, fb->events, fb->count);
}

/* To the relay, which sends the same XADDs: one fallback for the whole
   pipeline, so that it stays one round trip when the relay is away. */
static void redis_relay(struct pushcore_driver_instance *inst,
			struct pushcore_txn *txn, struct pushcore_redis_add *adds,
			const struct pushcore_event *const *events,
			unsigned int count)
{
	struct redis_fallback *fb = pushcore_palloc(pushcore_txn_pool(txn), sizeof(*fb));
	struct pushcore_spool_entry *entries =
		pushcore_palloc(pushcore_txn_pool(txn), sizeof(*entries) * count);
	unsigned int i;

	*fb = (struct redis_fallback){ inst, txn, adds, events, count };
	for (i = 0; i < count; i++) {
		redis_entry(inst, txn, &adds[i], events[i], &entries[i]);
		pushcore_relay_add(txn, inst, &entries[i],
				   i == 0 ? redis_relay_fallback : NULL, fb);
	}
}

/* The event's name, from the document's "event" key (the record carries
   the body only); checked against the event table. */
static const char *redis_body_event(const char *body, size_t body_len)
{
	static const char key[] = "\"event\":\"";
	const char *p, *end = body + body_len, *q;
	char name[64];
	int type;

	for (p = body; p + sizeof(key) - 1 <= end; p++) {
		if (memcmp(p, key, sizeof(key) - 1) != 0)
			continue;
		p += sizeof(key) - 1;
		if ((q = memchr(p, '"', (size_t)(end - p))) == NULL ||
		    (size_t)(q - p) >= sizeof(name))
			return NULL;
		memcpy(name, p, (size_t)(q - p));
		name[q - p] = '\0';
		type = pushcore_event_lookup(name);
		return type < 0 ? NULL : pushcore_event_name(type);
	}
	return NULL;
}

static int redis_rebuild(struct pushcore_driver_instance *inst,
			 struct pushcore_pool *pool,
			 const struct pushcore_spool_entry *e,
			 struct pushcore_http_request *req_r, const char **error_r)
{
	const char *event = redis_body_event(e->body, e->body_len);

	/* also the records spooled before the resend operation existed:
	   the same method, user and body */
	if (strcmp(e->method, "XADD") != 0) {
		*error_r = pushcore_psprintf(pool, "method %s is not the redis "
					     "driver's (XADD)", e->method);
		return -1;
	}
	if (event == NULL) {
		*error_r = "the body names no known event";
		return -1;
	}
	redis_request(inst, pool, e->user, event, e->id, e->body, e->body_len,
		      req_r);
	return 0;
}

static void redis_end_txn(struct pushcore_driver_instance *inst,
			  struct pushcore_txn *txn, void *txn_ctx)
{
	struct redis_config *cfg = pushcore_inst_context(inst);
	struct redis_txn *rtxn = txn_ctx;
	struct pushcore_redis_add *adds;
	struct pushcore_json *json;
	unsigned int i;
	const char *doc;
	size_t len;

	if (rtxn->count == 0)
		return;
	adds = pushcore_palloc(pushcore_txn_pool(txn), sizeof(*adds) * rtxn->count);
	for (i = 0; i < rtxn->count; i++) {
		json = pushcore_json_new();
		pushcore_payload_event(json, pushcore_user_name(pushcore_inst_user(inst)),
				       rtxn->events[i]);
		doc = pushcore_json_result(json, &len);
		adds[i].json = pushcore_pstrndup(pushcore_txn_pool(txn), doc, len);
		adds[i].json_len = len;
		pushcore_json_free(&json);
		adds[i].stream = cfg->stream;
		adds[i].maxlen = cfg->maxlen;
		adds[i].user = pushcore_user_name(pushcore_inst_user(inst));
		adds[i].event = pushcore_event_name(rtxn->events[i]->type);
		adds[i].id = rtxn->events[i]->id;
	}
	if (pushcore_relay_wanted(pushcore_inst_user(inst)))
		redis_relay(inst, txn, adds, rtxn->events, rtxn->count);
	else
		redis_send(inst, txn, adds, rtxn->events, rtxn->count);
}

static const struct pushcore_driver push_driver_redis = {
	.name = "redis",
	.init = redis_init,
	.begin_txn = redis_begin_txn,
	.process = redis_process,
	.end_txn = redis_end_txn,
	.rebuild = redis_rebuild,
};

static const struct pushcore_driver *const redis_drivers[] = {
	&push_driver_redis, NULL
};

/* the module's entry (pushcore-driver.h): push_driver_redis.so */
PUSHCORE_DRIVER_MODULE_EXPORT const struct pushcore_driver_module pushcore_driver_module = {
	.abi_version = PUSHCORE_DRIVER_ABI_VERSION,
	.drivers = redis_drivers,
	.deinit = pushcore_redis_deinit,
};
