/* http: a generic webhook. POSTs the versioned JSON document of each event
   (or of each transaction with `batch`), signed the Standard Webhooks way
   when a secret file is given. docs/webhook.md documents it. */
#include "config.h"
#include "pushcore-driver-private.h"
#include "pushcore-file.h"
#include "pushcore-filter.h"
#include "pushcore-http.h"
#include "pushcore-json.h"
#include "pushcore-mem.h"
#include "pushcore-payload.h"
#include "pushcore-sign.h"
#include "pushcore-spec.h"
#include "pushcore-spool.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#define HTTP_DEFAULT_TIMEOUT_MSECS 2000
#define HTTP_DEFAULT_MAX_RETRIES 1
#define BEARER_FILE_MAX 8192

static const char *const http_options[] = {
	"url", "events", "mailboxes", "header", "bearer_file", "secret_file",
	"batch", "timeout_msecs", "max_retries", "tls_ca_file", "tls_no_verify",
	NULL
};

struct http_config {
	const char *url;
	struct pushcore_filter filter;
	const char **headers;		/* "Name: value", NULL-terminated */
	unsigned int header_count;
	struct pushcore_secrets *secrets;
	bool batch, tls_no_verify;
	unsigned int timeout_msecs, max_retries;
	const char *tls_ca_file;
};

/* The events of one transaction, for `batch`. */
struct http_batch {
	const struct pushcore_event **events;
	unsigned int count;
};

static bool option_known(const char *key)
{
	unsigned int i;

	for (i = 0; http_options[i] != NULL; i++) {
		if (strcmp(http_options[i], key) == 0)
			return true;
	}
	return false;
}

/* header=Name:Value, with nothing that could split the request. */
static const char *parse_header(struct pushcore_pool *pool, const char *str,
				const char **error_r)
{
	const char *colon = strchr(str, ':'), *p;

	if (colon == NULL || colon == str) {
		*error_r = pushcore_psprintf(pool, "header=%s: expected Name:Value", str);
		return NULL;
	}
	for (p = str; p < colon; p++) {
		if (!isalnum((unsigned char)*p) && strchr("!#$%&'*+-.^_`|~", *p) == NULL) {
			*error_r = pushcore_psprintf(pool, "header=%s: invalid "
						     "character in the name", str);
			return NULL;
		}
	}
	if (strpbrk(colon, "\r\n") != NULL) {
		*error_r = "header=: a value must not contain CR or LF";
		return NULL;
	}
	return pushcore_psprintf(pool, "%.*s: %s", (int)(colon - str), str, colon + 1);
}

static int load_bearer(struct pushcore_pool *pool, const char *path,
		       const char **header_r, const char **error_r)
{
	char *token;
	size_t len;

	if (pushcore_file_read(pool, path, BEARER_FILE_MAX, &token, &len, error_r) < 0)
		return -1;
	while (len > 0 && isspace((unsigned char)token[len - 1]))
		token[--len] = '\0';
	if (len == 0 || strpbrk(token, "\r\n") != NULL) {
		*error_r = pushcore_psprintf(pool, "bearer_file %s must hold one "
					     "token on one line", path);
		return -1;
	}
	*header_r = pushcore_psprintf(pool, "Authorization: Bearer %s", token);
	return 0;
}

static int http_parse_headers(struct pushcore_driver_instance *inst,
			      struct http_config *cfg, const char **error_r)
{
	struct pushcore_pool *pool = inst->user->pool;
	const char **given = pushcore_spec_get_all(pool, inst->spec, "header");
	const char *str;
	unsigned int n = 0;

	cfg->headers = pushcore_palloc(pool, sizeof(*cfg->headers) *
				       (inst->spec->count + 4));
	cfg->headers[n++] = "Content-Type: application/json";
	cfg->headers[n++] = "User-Agent: dovecot-push-notify/" PACKAGE_VERSION;
	for (; *given != NULL; given++) {
		if ((cfg->headers[n++] = parse_header(pool, *given, error_r)) == NULL)
			return -1;
	}
	if ((str = pushcore_spec_get(inst->spec, "bearer_file")) != NULL) {
		if (load_bearer(pool, str, &cfg->headers[n++], error_r) < 0)
			return -1;
	}
	cfg->header_count = n;
	return 0;
}

/* A secret file only root may read is for the relay (or the dispatcher),
   which signs: a delivery process hands such notifications over unsigned
   and never sends them itself. */
static int http_load_secrets(struct pushcore_driver_instance *inst,
			     struct http_config *cfg, const char *path,
			     const char **error_r)
{
	/* the effective uid: lmtp drops only that one while it delivers */
	if (geteuid() != 0 && faccessat(AT_FDCWD, path, R_OK, AT_EACCESS) < 0 &&
	    errno == EACCES && faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0) {
		inst->relay_only = true;
		pushcore_driver_log(inst, PUSHCORE_LOG_DEBUG, "secret_file %s is "
			"not readable here: the relay signs this driver's "
			"notifications", path);
		return 0;
	}
	return pushcore_secrets_load(inst->user->pool, path, &cfg->secrets, error_r);
}

static int http_init(struct pushcore_driver_instance *inst, const char **error_r)
{
	struct pushcore_pool *pool = inst->user->pool;
	struct http_config *cfg = pushcore_palloc(pool, sizeof(*cfg));
	const char *str, *error;
	unsigned int i;

	for (i = 0; i < inst->spec->count; i++) {
		if (!option_known(inst->spec->options[i].key)) {
			*error_r = pushcore_psprintf(pool, "unknown option '%s'",
						     inst->spec->options[i].key);
			return -1;
		}
	}
	cfg->url = pushcore_spec_get(inst->spec, "url");
	if (cfg->url == NULL || cfg->url[0] == '\0') {
		*error_r = "url= is required";
		return -1;
	}
	if (!pushcore_http_url_valid(cfg->url, &error)) {
		*error_r = pushcore_psprintf(pool, "invalid url=%s: %s", cfg->url, error);
		return -1;
	}
	if (pushcore_filter_init(inst, &cfg->filter, error_r) < 0)
		return -1;
	if (http_parse_headers(inst, cfg, error_r) < 0)
		return -1;
	if ((str = pushcore_spec_get(inst->spec, "secret_file")) != NULL &&
	    http_load_secrets(inst, cfg, str, error_r) < 0)
		return -1;
	cfg->batch = pushcore_spec_has(inst->spec, "batch");
	cfg->tls_no_verify = pushcore_spec_has(inst->spec, "tls_no_verify");
	cfg->tls_ca_file = pushcore_spec_get(inst->spec, "tls_ca_file");
	cfg->timeout_msecs = HTTP_DEFAULT_TIMEOUT_MSECS;
	cfg->max_retries = HTTP_DEFAULT_MAX_RETRIES;
	if (((str = pushcore_spec_get(inst->spec, "timeout_msecs")) != NULL &&
	     !pushcore_parse_uint(str, &cfg->timeout_msecs)) ||
	    ((str = pushcore_spec_get(inst->spec, "max_retries")) != NULL &&
	     !pushcore_parse_uint(str, &cfg->max_retries))) {
		*error_r = pushcore_psprintf(pool, "invalid number '%s'", str);
		return -1;
	}
	inst->context = cfg;
	return 0;
}

/* The request for a body with its id, all else from the settings: a fresh
   webhook-timestamp, and the signature over it when there are secrets.
   The delivery and the relay both build it here. */
static void http_request(struct pushcore_driver_instance *inst,
			 struct pushcore_pool *pool, const char *id,
			 const void *body, size_t body_len,
			 struct pushcore_http_request *req)
{
	struct http_config *cfg = inst->context;
	const char **headers;
	long long now = (long long)time(NULL);
	unsigned int n = cfg->header_count;

	memset(req, 0, sizeof(*req));
	req->body = body;
	req->body_len = body_len;
	headers = pushcore_palloc(pool, sizeof(*headers) * (n + 4));
	memcpy(headers, cfg->headers, sizeof(*headers) * n);
	headers[n++] = pushcore_psprintf(pool, "webhook-id: %s", id);
	headers[n++] = pushcore_psprintf(pool, "webhook-timestamp: %lld", now);
	if (cfg->secrets != NULL) {
		headers[n++] = pushcore_psprintf(pool, "webhook-signature: %s",
			pushcore_sign(pool, cfg->secrets, id, now, body, body_len));
	}
	req->method = "POST";
	req->url = cfg->url;
	req->headers = headers;
	req->timeout_msecs = cfg->timeout_msecs;
	req->max_attempts = cfg->max_retries + 1;
	req->tls_ca_file = cfg->tls_ca_file;
	req->tls_no_verify = cfg->tls_no_verify;
}

/* Sends one JSON document with its id, signed if there are secrets. */
static void http_send(struct pushcore_driver_instance *inst,
		      struct pushcore_txn *txn, struct pushcore_json *json,
		      const char *id)
{
	struct pushcore_http_request req;
	const char *body;
	size_t body_len;

	body = pushcore_json_result(json, &body_len);
	http_request(inst, txn->pool, id, body, body_len, &req);
	pushcore_driver_send(inst, txn, &req, id);
}

/* For the relay: the secret is the one this instance loaded from its own
   secret_file (root may be the only one who can read it). */
static int http_rebuild(struct pushcore_driver_instance *inst,
			struct pushcore_pool *pool,
			const struct pushcore_spool_entry *e,
			struct pushcore_http_request *req_r,
			const char **error_r)
{
	if (strcmp(e->method, "POST") != 0) {
		*error_r = pushcore_psprintf(pool, "method %s is not the http "
					     "driver's (POST)", e->method);
		return -1;
	}
	http_request(inst, pool, e->id, e->body, e->body_len, req_r);
	return 0;
}

static bool http_begin_txn(struct pushcore_driver_instance *inst,
			   struct pushcore_txn *txn, void **txn_ctx_r)
{
	struct http_config *cfg = inst->context;
	struct http_batch *batch;

	if (cfg->batch) {
		batch = pushcore_palloc(txn->pool, sizeof(*batch));
		batch->events = pushcore_palloc(txn->pool, sizeof(*batch->events) *
						txn->event_count);
		*txn_ctx_r = batch;
	}
	return true;
}

static void http_process(struct pushcore_driver_instance *inst,
			 struct pushcore_txn *txn, void *txn_ctx,
			 const struct pushcore_event *ev)
{
	struct http_config *cfg = inst->context;
	struct http_batch *batch = txn_ctx;
	struct pushcore_json *json;

	if (!pushcore_filter_mailbox(&cfg->filter, ev->mailbox))
		return;
	if (batch != NULL) {
		batch->events[batch->count++] = ev;
		return;
	}
	json = pushcore_json_new();
	pushcore_payload_event(json, inst->user->username, ev);
	http_send(inst, txn, json, ev->id);
	pushcore_json_free(&json);
}

static void http_end_txn(struct pushcore_driver_instance *inst,
			 struct pushcore_txn *txn, void *txn_ctx)
{
	struct http_batch *batch = txn_ctx;
	struct pushcore_json *json;
	char id[37];

	if (batch == NULL || batch->count == 0)
		return;
	pushcore_uuid(id);
	json = pushcore_json_new();
	pushcore_payload_batch(json, id, inst->user->username,
			       batch->events, batch->count);
	http_send(inst, txn, json, id);
	pushcore_json_free(&json);
}

const struct pushcore_driver push_driver_http = {
	.name = "http",
	.init = http_init,
	.begin_txn = http_begin_txn,
	.process = http_process,
	.end_txn = http_end_txn,
	.rebuild = http_rebuild,
};
