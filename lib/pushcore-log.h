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

#endif
