/* The one way out for libpushcore's messages, with redaction on the way. */
#include "pushcore-log.h"
#include "pushcore-mem.h"
#include "pushcore-redact.h"

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

void pushcore_log_set_handler(pushcore_log_func_t *func)
{
	log_handler = func != NULL ? func : log_to_stderr;
}

void pushcore_log(enum pushcore_log_level level, void *host_ctx,
		  const char *fmt, ...)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_buf buf;
	va_list args;

	pushcore_buf_init(&buf);
	va_start(args, fmt);
	pushcore_buf_vprintf(&buf, fmt, args);
	va_end(args);
	log_handler(level, host_ctx, pushcore_redact(pool, buf.data));
	pushcore_buf_free(&buf);
	pushcore_pool_free(&pool);
}
