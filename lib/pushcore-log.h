#ifndef PUSHCORE_LOG_H
#define PUSHCORE_LOG_H

#include "pushcore-api.h"

/* libpushcore never writes to a terminal or a file itself: every message goes
   to the callback the host sets (Dovecot's log in the plugin, stderr in
   pushadm), after credentials were redacted from it. */

enum pushcore_log_level {
	PUSHCORE_LOG_DEBUG,	/* shown only when the host enables debugging */
	PUSHCORE_LOG_DLOG,	/* the dlog driver's output: debug level, always shown */
	PUSHCORE_LOG_INFO,
	PUSHCORE_LOG_WARNING,
	PUSHCORE_LOG_ERROR,
};

/* host_ctx is the context the host attached to the user the message is
   about (NULL if none); line is already redacted. */
typedef void pushcore_log_func_t(enum pushcore_log_level level,
				 void *host_ctx, const char *line);

PUSHCORE_API void pushcore_log_set_handler(pushcore_log_func_t *func);

PUSHCORE_API
void pushcore_log(enum pushcore_log_level level, void *host_ctx,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* What a line is about, for hosts that route lines by it (the Dovecot
   plugin: one event per driver instance, with driver and setting as
   fields, so that log filters can select a driver). */
struct pushcore_log_origin {
	/* the host context of the user the line is about, NULL if none */
	void *host_ctx;
	/* the driver instance's driver ("http") and setting or block name
	   ("push_notification_driver2", "webhook"); both NULL when the line
	   is not about one driver instance */
	const char *driver;
	const char *setting;
};

/* line is redacted and, unlike what the text handler gets, carries no
   "<setting> (<driver>): " prefix: the origin says it. */
typedef void pushcore_log_origin_func_t(enum pushcore_log_level level,
					const struct pushcore_log_origin *origin,
					const char *line);

/* With an origin handler set, every line goes to it (origin->driver NULL
   for lines not about a driver instance). Without one (NULL, the default),
   lines go to the text handler, a driver instance's with the prefix
   "<setting> (<driver>): " - except PUSHCORE_LOG_DLOG lines, which are a
   driver's own output and are passed as they are. */
PUSHCORE_API void pushcore_log_set_origin_handler(pushcore_log_origin_func_t *func);

PUSHCORE_API
void pushcore_log_from(enum pushcore_log_level level,
		       const struct pushcore_log_origin *origin,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
