/* The one way out for libpushcore's messages, with redaction on the way. */
#include "pushcore-log.h"
#include "pushcore-mem.h"
#include "pushcore-redact.h"
#include "pushcore-text.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const level_names[] = {
	"Debug", "Debug", "Info", "Warning", "Error"
};

static void log_to_stderr(enum pushcore_log_level level,
			  void *host_ctx __attribute__((unused)),
			  const char *line)
{
	if (level != PUSHCORE_LOG_DEBUG)
		fprintf(stderr, "%s: %s\n", level_names[level], line);
}

static pushcore_log_func_t *log_handler = log_to_stderr;
static pushcore_log_origin_func_t *origin_handler = NULL;

void pushcore_log_set_handler(pushcore_log_func_t *func)
{
	log_handler = func != NULL ? func : log_to_stderr;
}

void pushcore_log_set_origin_handler(pushcore_log_origin_func_t *func)
{
	origin_handler = func;
}

static void log_v(enum pushcore_log_level level,
		  const struct pushcore_log_origin *origin,
		  const char *fmt, va_list args)
	__attribute__((format(printf, 3, 0)));

static void log_v(enum pushcore_log_level level,
		  const struct pushcore_log_origin *origin,
		  const char *fmt, va_list args)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_buf buf;
	const char *line;

	pushcore_buf_init(&buf);
	/* the text handler gets the instance in the text */
	if (origin_handler == NULL && origin->driver != NULL &&
	    level != PUSHCORE_LOG_DLOG)
		pushcore_buf_printf(&buf, "%s (%s): ", origin->setting, origin->driver);
	pushcore_buf_vprintf(&buf, fmt, args);
	/* no secret and one line, whatever an endpoint put in an error */
	line = pushcore_escape_controls(pool, pushcore_redact(pool, buf.data));
	if (origin_handler != NULL)
		origin_handler(level, origin, line);
	else
		log_handler(level, origin->host_ctx, line);
	pushcore_buf_free(&buf);
	pushcore_pool_free(&pool);
}

void pushcore_log(enum pushcore_log_level level, void *host_ctx,
		  const char *fmt, ...)
{
	struct pushcore_log_origin origin = { .host_ctx = host_ctx };
	va_list args;

	va_start(args, fmt);
	log_v(level, &origin, fmt, args);
	va_end(args);
}

void pushcore_log_from(enum pushcore_log_level level,
		       const struct pushcore_log_origin *origin,
		       const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	log_v(level, origin, fmt, args);
	va_end(args);
}
