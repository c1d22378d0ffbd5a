/* The driver registry, users and transactions. */
#include "pushcore-driver-private.h"
#include "pushcore-http.h"
#include "pushcore-mem.h"
#include "pushcore-relay-client.h"
#include "pushcore-spec.h"
#include "pushcore-spool.h"

#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include <stdarg.h>
#include <string.h>
#include <strings.h>

#define MAX_DRIVERS 32

extern const struct pushcore_driver push_driver_dlog;
extern const struct pushcore_driver push_driver_ox;
extern const struct pushcore_driver push_driver_http;

static const struct pushcore_driver *drivers[MAX_DRIVERS];
static unsigned int driver_count = 0;

void pushcore_driver_register(const struct pushcore_driver *driver)
{
	if (pushcore_driver_lookup(driver->name) != NULL ||
	    driver_count == MAX_DRIVERS)
		return;
	drivers[driver_count++] = driver;
}

void pushcore_driver_unregister(const struct pushcore_driver *driver)
{
	unsigned int i;

	for (i = 0; i < driver_count; i++) {
		if (drivers[i] == driver) {
			drivers[i] = drivers[--driver_count];
			return;
		}
	}
}

const struct pushcore_driver *pushcore_driver_lookup(const char *name)
{
	unsigned int i;

	for (i = 0; i < driver_count; i++) {
		if (strcasecmp(drivers[i]->name, name) == 0)
			return drivers[i];
	}
	return NULL;
}

void pushcore_drivers_init(void)
{
	pushcore_driver_register(&push_driver_dlog);
	pushcore_driver_register(&push_driver_ox);
	pushcore_driver_register(&push_driver_http);
}

struct pushcore_user *
pushcore_user_new(const char *username, const struct pushcore_host *host,
		  void *host_ctx)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_user *user = pushcore_palloc(pool, sizeof(*user));

	user->pool = pool;
	user->username = pushcore_pstrdup(pool, username);
	user->host = host;
	user->host_ctx = host_ctx;
	user->max_wait_msecs = PUSHCORE_DEFAULT_MAX_WAIT_MSECS;
	user->spool_dir = PUSHCORE_DEFAULT_SPOOL_DIR;
	/* hosts that want the relay say so (the plugin, from its settings) */
	user->relay_socket = NULL;
	user->relay_timeout_msecs = PUSHCORE_DEFAULT_RELAY_TIMEOUT_MSECS;
	return user;
}

int pushcore_user_add_driver(struct pushcore_user *user,
			     const char *setting_name, const char *spec_str,
			     const char **error_r)
{
	const struct pushcore_spec *spec;
	const char *error;

	spec = pushcore_spec_parse(user->pool, spec_str, &error);
	if (spec == NULL) {
		*error_r = pushcore_psprintf(user->pool, "%s: %s", setting_name, error);
		return -1;
	}
	return pushcore_user_add_driver_spec(user, setting_name, spec, error_r);
}

int pushcore_user_add_driver_spec(struct pushcore_user *user,
				  const char *setting_name,
				  const struct pushcore_spec *spec,
				  const char **error_r)
{
	struct pushcore_driver_instance *inst, **instances;
	const char *error;

	inst = pushcore_palloc(user->pool, sizeof(*inst));
	if (pushcore_driver_load(spec->name, user->module_dir, &inst->driver,
				 &error) < 0) {
		*error_r = pushcore_psprintf(user->pool, "%s: %s",
					     setting_name, error);
		return -1;
	}
	inst->user = user;
	inst->setting_name = pushcore_pstrdup(user->pool, setting_name);
	inst->spec = spec;
	if (inst->driver->init(inst, &error) < 0) {
		*error_r = pushcore_psprintf(user->pool, "%s (%s): %s",
					     setting_name, spec->name, error);
		return -1;
	}
	instances = pushcore_palloc(user->pool, sizeof(*instances) *
				    (user->instance_count + 1));
	if (user->instance_count > 0)
		memcpy(instances, user->instances,
		       sizeof(*instances) * user->instance_count);
	instances[user->instance_count++] = inst;
	user->instances = instances;
	return 0;
}

void pushcore_user_free(struct pushcore_user **_user)
{
	struct pushcore_user *user = *_user;
	unsigned int i;

	if (user == NULL)
		return;
	*_user = NULL;
	for (i = 0; i < user->instance_count; i++) {
		if (user->instances[i]->driver->deinit != NULL)
			user->instances[i]->driver->deinit(user->instances[i]);
	}
	pushcore_pool_free(&user->pool);
}

bool pushcore_user_wants(const struct pushcore_user *user,
			 enum pushcore_event_type type)
{
	unsigned int i;

	for (i = 0; i < user->instance_count; i++) {
		if ((user->instances[i]->events & PUSHCORE_EVENT_MASK(type)) != 0)
			return true;
	}
	return false;
}

struct pushcore_txn *pushcore_txn_begin(struct pushcore_user *user)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_txn *txn = pushcore_palloc(pool, sizeof(*txn));

	txn->pool = pool;
	txn->user = user;
	txn->events_tail = &txn->events;
	return txn;
}

struct pushcore_event *pushcore_txn_add(struct pushcore_txn *txn,
					enum pushcore_event_type type,
					const char *mailbox)
{
	struct pushcore_event *ev = pushcore_event_new(txn->pool, type, mailbox);

	*txn->events_tail = ev;
	txn->events_tail = &ev->next;
	txn->event_count++;
	return ev;
}

static void txn_run_instance(struct pushcore_txn *txn,
			     struct pushcore_driver_instance *inst)
{
	const struct pushcore_event *ev, *first = NULL;
	void *txn_ctx = NULL;
	bool any = false, same_type = false, same_mailbox = false;

	for (ev = txn->events; ev != NULL && !any; ev = ev->next)
		any = (inst->events & PUSHCORE_EVENT_MASK(ev->type)) != 0;
	if (!any)
		return;
	if (inst->driver->begin_txn != NULL &&
	    !inst->driver->begin_txn(inst, txn, &txn_ctx))
		return;
	for (ev = txn->events; ev != NULL; ev = ev->next) {
		if ((inst->events & PUSHCORE_EVENT_MASK(ev->type)) == 0)
			continue;
		txn->current_event = pushcore_event_name(ev->type);
		txn->current_mailbox = ev->mailbox;
		if (first == NULL) {
			first = ev;
			same_type = same_mailbox = true;
		} else {
			same_type = same_type && ev->type == first->type;
			same_mailbox = same_mailbox &&
				strcmp(ev->mailbox, first->mailbox) == 0;
		}
		inst->driver->process(inst, txn, txn_ctx, ev);
	}
	/* a notification made now may carry all of them (a batch) */
	txn->current_event = same_type ? pushcore_event_name(first->type) : NULL;
	txn->current_mailbox = same_mailbox ? first->mailbox : NULL;
	if (inst->driver->end_txn != NULL)
		inst->driver->end_txn(inst, txn, txn_ctx);
	txn->current_event = txn->current_mailbox = NULL;
}

void pushcore_txn_commit(struct pushcore_txn **_txn)
{
	struct pushcore_txn *txn = *_txn;
	unsigned int i;

	*_txn = NULL;
	for (i = 0; i < txn->user->instance_count; i++)
		txn_run_instance(txn, txn->user->instances[i]);
	/* the relay takes everything relayable, or its fallbacks queue it
	   for the HTTP run below */
	pushcore_relay_flush(txn);
	if (pushcore_http_pending() > 0)
		pushcore_http_run(txn->user->max_wait_msecs);
	pushcore_pool_free(&txn->pool);
}

void pushcore_txn_rollback(struct pushcore_txn **_txn)
{
	struct pushcore_txn *txn = *_txn;

	*_txn = NULL;
	pushcore_pool_free(&txn->pool);
}

/* pushadm spool run's longest backoff (docs/spool.md) */
#define SPOOL_RETRY_AFTER_MAX_SECS 3600

static pushcore_send_observer_t *send_observer = NULL;
static void *send_observer_context;
static bool send_dry_run;

void pushcore_set_send_observer(pushcore_send_observer_t *observer,
				void *context, bool dry_run)
{
	send_observer = observer;
	send_observer_context = context;
	send_dry_run = observer != NULL && dry_run;
}

struct driver_send {
	struct pushcore_driver_instance *inst;
	struct pushcore_spool_entry entry;
	/* for a fallback from the relay */
	unsigned int max_attempts;
};

static long long now_usecs(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Hands a notification to the spool; returns the text for the log line
   and whether it waits there for a retry (area "new"). */
static const char *driver_spool(struct driver_send *ctx, const char *area,
				bool *waits_r)
{
	static char lost[1024];
	struct pushcore_user *user = ctx->inst->user;
	const char *error;

	*waits_r = false;
	if (user->spool_dir == NULL)
		return "not spooled (no spool here)";
	if (pushcore_spool_write(user->spool_dir, area, &ctx->entry, &error) < 0) {
		snprintf(lost, sizeof(lost), "%s - the notification is LOST "
			 "(check push_notification_spool_dir)", error);
		return lost;
	}
	*waits_r = strcmp(area, PUSHCORE_SPOOL_NEW) == 0;
	return *waits_r ?
		"spooled; the dispatcher (pushadm spool run) retries it" :
		"kept in the spool's failed area for inspection (pushadm spool list --failed)";
}

static void driver_failed(struct pushcore_driver_instance *inst,
			  struct pushcore_spool_entry *e, int status,
			  const char *error, unsigned int attempts, bool temporary,
			  unsigned int retry_after_secs)
{
	struct driver_send ctx = { .inst = inst, .entry = *e };
	const char *spooled;
	bool waits;

	ctx.entry.attempts = attempts;
	ctx.entry.last_error = error;
	/* the endpoint's Retry-After, at most the dispatcher's longest
	   backoff: a spool file is not left for years by one answer */
	ctx.entry.next_attempt = time(NULL) + (retry_after_secs < SPOOL_RETRY_AFTER_MAX_SECS ?
					       retry_after_secs : SPOOL_RETRY_AFTER_MAX_SECS);
	spooled = driver_spool(&ctx, temporary ? PUSHCORE_SPOOL_NEW :
			       PUSHCORE_SPOOL_FAILED, &waits);
	pushcore_outcome_report(inst, e, waits ? PUSHCORE_RESULT_SPOOLED :
				PUSHCORE_RESULT_FAILED, status, error, attempts,
		PUSHCORE_LOG_ERROR,
		"Notification %s to %s failed: %s (after %u attempts); %s",
		e->id, e->url, error, attempts, spooled);
}

void pushcore_driver_failed(struct pushcore_driver_instance *inst,
			   struct pushcore_spool_entry *e, const char *error,
			   unsigned int attempts, bool temporary,
			   unsigned int retry_after_secs)
{
	driver_failed(inst, e, 0, error, attempts, temporary, retry_after_secs);
}

static void driver_send_callback(const struct pushcore_http_result *r,
				 void *context)
{
	struct driver_send *ctx = context;
	struct pushcore_spool_entry *e = &ctx->entry;

	if (send_observer != NULL)
		send_observer(ctx->inst, e, r, send_observer_context);
	if (r->outcome == PUSHCORE_HTTP_OK) {
		pushcore_outcome_report(ctx->inst, e, PUSHCORE_RESULT_SENT,
			r->status, NULL, r->attempts, PUSHCORE_LOG_DEBUG,
			"Notification %s sent to %s: HTTP %d", e->id, e->url,
			r->status);
		return;
	}
	driver_failed(ctx->inst, e, r->status, r->error,
		      r->attempts, r->outcome == PUSHCORE_HTTP_TEMPFAIL,
		      r->retry_after_secs);
}

void pushcore_driver_spool_entry(struct pushcore_driver_instance *inst,
				 struct pushcore_txn *txn,
				 const struct pushcore_http_request *req,
				 const char *id, struct pushcore_spool_entry *e)
{
	struct pushcore_pool *pool = txn->pool;
	unsigned int n = 0;

	memcpy(e->id, id, sizeof(e->id) - 1);
	e->created_usecs = now_usecs();
	e->next_attempt = e->created_usecs / 1000000;
	e->user = inst->user->username;
	/* the setting or block name alone: the relay and the dispatcher
	   find the driver, its URL and credentials, by it */
	e->driver = inst->setting_name;
	e->method = req->method;
	e->url = pushcore_pstrdup(pool, req->url);
	e->tls_ca_file = pushcore_pstrdup(pool, req->tls_ca_file);
	e->tls_no_verify = req->tls_no_verify;
	e->timeout_msecs = req->timeout_msecs;
	while (req->headers != NULL && req->headers[n] != NULL)
		n++;
	e->headers = pushcore_palloc(pool, sizeof(*e->headers) * (n + 1));
	for (e->header_count = 0; e->header_count < n; e->header_count++)
		e->headers[e->header_count] =
			pushcore_pstrdup(pool, req->headers[e->header_count]);
	e->body = pushcore_pstrndup(pool, req->body, req->body_len);
	e->body_len = req->body_len;
	e->event = txn->current_event;
	e->mailbox = txn->current_mailbox;
}

/* Today's path: send from this process within max_delay, or (spool-only)
   straight to the spool. */
static void driver_send_now(struct driver_send *ctx,
			    const struct pushcore_http_request *req)
{
	struct pushcore_http_request copy = *req;
	struct pushcore_spool_entry *e = &ctx->entry;
	const char *error;

	/* relay_only: the secret is root's; never sent unsigned from here */
	if (ctx->inst->user->spool_only || ctx->inst->relay_only) {
		if (pushcore_spool_write(ctx->inst->user->spool_dir,
					 PUSHCORE_SPOOL_NEW, e, &error) < 0) {
			pushcore_outcome_report(ctx->inst, e, PUSHCORE_RESULT_FAILED,
				0, error, 0, PUSHCORE_LOG_ERROR,
				"Notification %s to %s: %s - the notification is LOST "
				"(check push_notification_spool_dir)", e->id, e->url, error);
		} else {
			pushcore_outcome_report(ctx->inst, e, PUSHCORE_RESULT_SPOOLED,
				0, NULL, 0, PUSHCORE_LOG_DEBUG,
				"Notification %s to %s spooled for the dispatcher",
				e->id, e->url);
		}
		return;
	}
	copy.callback = driver_send_callback;
	copy.context = ctx;
	if (!pushcore_http_submit(&copy, &error)) {
		pushcore_outcome_report(ctx->inst, e, PUSHCORE_RESULT_FAILED, 0,
			error, 0, PUSHCORE_LOG_ERROR,
			"Notification %s to %s can't be sent: %s", e->id, e->url, error);
	}
}

/* The relay did not take it: the request again, from the entry's copies
   (the driver's own request is gone by now). */
static void driver_send_fallback(void *context)
{
	struct driver_send *ctx = context;
	struct pushcore_spool_entry *e = &ctx->entry;
	struct pushcore_http_request req = {
		.method = e->method, .url = e->url, .headers = e->headers,
		.body = e->body, .body_len = e->body_len,
		.timeout_msecs = e->timeout_msecs, .max_attempts = ctx->max_attempts,
		.tls_ca_file = e->tls_ca_file, .tls_no_verify = e->tls_no_verify,
		.resign_secret_file = e->secret_file,
	};

	driver_send_now(ctx, &req);
}

void pushcore_driver_send(struct pushcore_driver_instance *inst,
			  struct pushcore_txn *txn,
			  const struct pushcore_http_request *req,
			  const char *id)
{
	struct driver_send *ctx = pushcore_palloc(txn->pool, sizeof(*ctx));

	ctx->inst = inst;
	pushcore_driver_spool_entry(inst, txn, req, id, &ctx->entry);
	if (send_dry_run) {
		send_observer(inst, &ctx->entry, NULL, send_observer_context);
		return;
	}
	if (send_observer == NULL && pushcore_relay_wanted(inst->user)) {
		ctx->max_attempts = req->max_attempts;
		pushcore_relay_add(txn, inst, &ctx->entry, driver_send_fallback, ctx);
		return;
	}
	driver_send_now(ctx, req);
}

int pushcore_driver_rebuild(struct pushcore_driver_instance *inst,
			    struct pushcore_pool *pool,
			    const struct pushcore_spool_entry *e,
			    struct pushcore_http_request *req_r,
			    const char **error_r)
{
	memset(req_r, 0, sizeof(*req_r));
	if (inst->driver->rebuild == NULL) {
		*error_r = pushcore_psprintf(pool, "%s (%s): the %s driver sends "
			"from the delivery only (not relayable)", inst->setting_name,
			inst->driver->name, inst->driver->name);
		return -1;
	}
	return inst->driver->rebuild(inst, pool, e, req_r, error_r);
}

int pushcore_resend(const struct pushcore_http_request *const *reqs,
		    unsigned int count, unsigned int timeout_msecs,
		    unsigned int *sent_r, const char **error_r)
{
	unsigned int i;

	*sent_r = 0;
	if (count == 0)
		return 0;
	for (i = 0; i < count; i++) {
		if (reqs[i]->resend == NULL || reqs[i]->resend != reqs[0]->resend) {
			*error_r = "requests of different transports in one batch";
			return -1;
		}
	}
	return reqs[0]->resend->send(reqs, count, timeout_msecs, sent_r, error_r);
}

struct pushcore_driver_instance *
pushcore_user_find_driver(struct pushcore_user *user, const char *name)
{
	unsigned int i;

	for (i = 0; i < user->instance_count; i++) {
		if (strcmp(user->instances[i]->setting_name, name) == 0)
			return user->instances[i];
	}
	return NULL;
}

unsigned int pushcore_user_keep_driver(struct pushcore_user *user, const char *name)
{
	unsigned int i, n = 0;

	for (i = 0; i < user->instance_count; i++) {
		if (strcmp(user->instances[i]->setting_name, name) == 0)
			user->instances[n++] = user->instances[i];
		else if (user->instances[i]->driver->deinit != NULL)
			user->instances[i]->driver->deinit(user->instances[i]);
	}
	user->instance_count = n;
	return n;
}

struct pushcore_log_origin
pushcore_driver_log_origin(const struct pushcore_driver_instance *inst)
{
	struct pushcore_log_origin origin = {
		.host_ctx = inst->user->host_ctx,
		.driver = inst->driver->name,
		.setting = inst->setting_name,
	};

	return origin;
}

void pushcore_driver_log(struct pushcore_driver_instance *inst,
			 enum pushcore_log_level level, const char *fmt, ...)
{
	struct pushcore_log_origin origin = pushcore_driver_log_origin(inst);
	struct pushcore_buf buf;
	va_list args;

	pushcore_buf_init(&buf);
	va_start(args, fmt);
	pushcore_buf_vprintf(&buf, fmt, args);
	va_end(args);
	pushcore_log_from(level, &origin, "%s", buf.data);
	pushcore_buf_free(&buf);
}

/* --- accessors of the opaque structs ------------------------------------ */

const struct pushcore_driver *
pushcore_inst_driver(const struct pushcore_driver_instance *inst)
{
	return inst->driver;
}

struct pushcore_user *pushcore_inst_user(const struct pushcore_driver_instance *inst)
{
	return inst->user;
}

const char *pushcore_inst_setting_name(const struct pushcore_driver_instance *inst)
{
	return inst->setting_name;
}

const struct pushcore_spec *pushcore_inst_spec(const struct pushcore_driver_instance *inst)
{
	return inst->spec;
}

uint32_t pushcore_inst_events(const struct pushcore_driver_instance *inst)
{
	return inst->events;
}

void pushcore_inst_set_events(struct pushcore_driver_instance *inst, uint32_t mask)
{
	inst->events = mask;
}

void *pushcore_inst_context(const struct pushcore_driver_instance *inst)
{
	return inst->context;
}

void pushcore_inst_set_context(struct pushcore_driver_instance *inst, void *context)
{
	inst->context = context;
}

void pushcore_inst_set_relay_only(struct pushcore_driver_instance *inst, bool relay_only)
{
	inst->relay_only = relay_only;
}

struct pushcore_pool *pushcore_user_pool(const struct pushcore_user *user)
{
	return user->pool;
}

const char *pushcore_user_name(const struct pushcore_user *user)
{
	return user->username;
}

const struct pushcore_host *pushcore_user_host(const struct pushcore_user *user)
{
	return user->host;
}

void *pushcore_user_host_ctx(const struct pushcore_user *user)
{
	return user->host_ctx;
}

unsigned int pushcore_user_max_wait_msecs(const struct pushcore_user *user)
{
	return user->max_wait_msecs;
}

void pushcore_user_set_max_wait_msecs(struct pushcore_user *user, unsigned int msecs)
{
	user->max_wait_msecs = msecs;
}

const char *pushcore_user_spool_dir(const struct pushcore_user *user)
{
	return user->spool_dir;
}

void pushcore_user_set_spool_dir(struct pushcore_user *user, const char *dir)
{
	user->spool_dir = dir == NULL ? NULL : pushcore_pstrdup(user->pool, dir);
}

bool pushcore_user_spool_only(const struct pushcore_user *user)
{
	return user->spool_only;
}

void pushcore_user_set_spool_only(struct pushcore_user *user, bool spool_only)
{
	user->spool_only = spool_only;
}

void pushcore_user_set_relay(struct pushcore_user *user, const char *socket_path,
			     unsigned int timeout_msecs)
{
	user->relay_socket = socket_path == NULL ? NULL :
		pushcore_pstrdup(user->pool, socket_path);
	user->relay_timeout_msecs = timeout_msecs;
}

unsigned int pushcore_user_relay_timeout_msecs(const struct pushcore_user *user)
{
	return user->relay_timeout_msecs;
}

void pushcore_user_set_module_dir(struct pushcore_user *user, const char *dir)
{
	user->module_dir = dir == NULL || dir[0] == '\0' ? NULL :
		pushcore_pstrdup(user->pool, dir);
}

unsigned int pushcore_user_driver_count(const struct pushcore_user *user)
{
	return user->instance_count;
}

struct pushcore_driver_instance *
pushcore_user_driver(const struct pushcore_user *user, unsigned int i)
{
	return i < user->instance_count ? user->instances[i] : NULL;
}

struct pushcore_pool *pushcore_txn_pool(const struct pushcore_txn *txn)
{
	return txn->pool;
}

struct pushcore_user *pushcore_txn_user(const struct pushcore_txn *txn)
{
	return txn->user;
}

unsigned int pushcore_txn_event_count(const struct pushcore_txn *txn)
{
	return txn->event_count;
}

struct pushcore_event *pushcore_txn_events(const struct pushcore_txn *txn)
{
	return txn->events;
}
