/* Notification outcomes (pushcore-outcome.h). */
#include "pushcore-outcome.h"
#include "pushcore-driver-private.h"
#include "pushcore-mem.h"
#include "pushcore-redact.h"
#include "pushcore-spool.h"
#include "pushcore-text.h"

#include <stdarg.h>
#include <string.h>
#include <sys/time.h>

static pushcore_outcome_func_t *outcome_handler = NULL;

static const char *const result_names[] = {
	[PUSHCORE_RESULT_SENT] = "sent",
	[PUSHCORE_RESULT_FAILED] = "failed",
	[PUSHCORE_RESULT_SPOOLED] = "spooled",
	[PUSHCORE_RESULT_RELAYED] = "relayed",
};

void pushcore_outcome_set_handler(pushcore_outcome_func_t *func)
{
	outcome_handler = func;
}

const char *pushcore_result_name(enum pushcore_result result)
{
	return result_names[result];
}

const char *pushcore_url_host(struct pushcore_pool *pool, const char *url)
{
	const char *start, *end, *at;

	if (url == NULL)
		return NULL;
	start = strstr(url, "://");
	if (start == NULL) {
		/* unix:/path?db=N */
		return pushcore_pstrndup(pool, url, strcspn(url, "?#"));
	}
	start += 3;
	end = start + strcspn(start, "/?#");
	/* the last '@' before the path ends the userinfo */
	for (at = end; at > start && at[-1] != '@'; at--) ;
	if (at > start)
		start = at;
	return pushcore_pstrndup(pool, start, (size_t)(end - start));
}

static long long now_usecs(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

void pushcore_outcome_report(struct pushcore_driver_instance *inst,
			     const struct pushcore_spool_entry *e,
			     enum pushcore_result result, int status_code,
			     const char *error, unsigned int attempts,
			     enum pushcore_log_level level, const char *fmt, ...)
{
	struct pushcore_log_origin origin = pushcore_driver_log_origin(inst);
	struct pushcore_outcome o;
	struct pushcore_pool *pool;
	struct pushcore_buf line;
	va_list args;

	pushcore_buf_init(&line);
	va_start(args, fmt);
	pushcore_buf_vprintf(&line, fmt, args);
	va_end(args);
	if (outcome_handler == NULL) {
		pushcore_log_from(level, &origin, "%s", line.data);
		pushcore_buf_free(&line);
		return;
	}
	pool = pushcore_pool_new();
	memset(&o, 0, sizeof(o));
	o.result = result;
	o.id = e->id;
	o.driver = inst->driver->name;
	o.setting = inst->setting_name;
	o.user = inst->user->username;
	o.event = e->event;
	o.mailbox = e->mailbox;
	o.host = pushcore_url_host(pool, e->url);
	o.status_code = status_code;
	o.error = error == NULL ? NULL :
		pushcore_escape_controls(pool, pushcore_redact(pool, error));
	o.attempts = attempts;
	o.duration_usecs = e->created_usecs == 0 ? 0 :
		now_usecs() - e->created_usecs;
	if (o.duration_usecs < 0)
		o.duration_usecs = 0;
	outcome_handler(&o, level, &origin, pushcore_escape_controls(pool,
			pushcore_redact(pool, line.data)));
	pushcore_buf_free(&line);
	pushcore_pool_free(&pool);
}
