#ifndef PUSHCORE_OUTCOME_H
#define PUSHCORE_OUTCOME_H

#include "pushcore-api.h"

/* What became of each notification, for hosts that count it (the Dovecot
   plugin: one push_notify_request_finished event per notification, which
   metrics and log filters select; docs/metrics.md). A notification has
   exactly one outcome in the process that made it:

     sent     the endpoint (or Redis) took it
     failed   it was not sent and is not waiting to be retried: a
              permanent failure (kept in the spool's failed area), or a
              request that could not be made or spooled
     spooled  written to the spool for the dispatcher to retry (a
              temporary failure, or spool-only / relay-only sending)
     relayed  the relay acknowledged it (pushadm relay run sends it) */

#include <stdbool.h>

#include "pushcore-log.h"

struct pushcore_driver_instance;
struct pushcore_spool_entry;

enum pushcore_result {
	PUSHCORE_RESULT_SENT,
	PUSHCORE_RESULT_FAILED,
	PUSHCORE_RESULT_SPOOLED,
	PUSHCORE_RESULT_RELAYED,
};

struct pushcore_outcome {
	enum pushcore_result result;
	const char *id;		/* the notification's unique id */
	const char *driver;	/* "http", "ox", "redis" */
	const char *setting;	/* setting or block name */
	const char *user;
	/* the mail event ("MessageNew"); NULL when one notification carries
	   several kinds (a batch) */
	const char *event;
	/* its mailbox, NULL when several */
	const char *mailbox;
	/* the endpoint's host[:port], never credentials; NULL if unknown */
	const char *host;
	/* the HTTP status that arrived, 0 if none */
	int status_code;
	/* why it failed or was spooled (redacted), NULL when sent or relayed */
	const char *error;
	/* sends tried from this process (0 when spooled or relayed without
	   one) */
	unsigned int attempts;
	/* microseconds from the notification's creation to this outcome */
	long long duration_usecs;
};

/* origin and line are what the text log would get (line redacted, at
   level); the handler logs the line itself, with the outcome attached. */
typedef void pushcore_outcome_func_t(const struct pushcore_outcome *outcome,
				     enum pushcore_log_level level,
				     const struct pushcore_log_origin *origin,
				     const char *line);

/* NULL (the default): outcomes are only logged, as pushcore_log_from()
   logs lines. */
PUSHCORE_API void pushcore_outcome_set_handler(pushcore_outcome_func_t *func);

/* "sent", "failed", "spooled", "relayed" */
PUSHCORE_API const char *pushcore_result_name(enum pushcore_result result);

/* For drivers and the relay client: the outcome of notification e of inst,
   with its log line. error is redacted here. */
PUSHCORE_API
void pushcore_outcome_report(struct pushcore_driver_instance *inst,
			     const struct pushcore_spool_entry *e,
			     enum pushcore_result result, int status_code,
			     const char *error, unsigned int attempts,
			     enum pushcore_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

/* The host[:port] of a URL ("https://u:p@example.com:8443/x" ->
   "example.com:8443", "unix:/path" -> "unix:/path" without query),
   allocated from pool; NULL for NULL. */
struct pushcore_pool;
const char *pushcore_url_host(struct pushcore_pool *pool, const char *url);

#endif
