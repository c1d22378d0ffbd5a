/* push_notify's Dovecot events (docs/metrics.md): the category push_notify
   on a child of each mail user's event, a child of that per driver
   instance with the fields driver and setting, and one named event,
   push_notify_request_finished, for each notification's outcome.
   libpushcore's log lines and outcomes arrive here through its origin log
   hook and outcome hook (pushcore-log.h, pushcore-outcome.h), so that log
   filters (log_debug = category=push_notify driver=http) and metrics
   select them. */
#include "lib.h"
#include "array.h"
#include "time-util.h"
/* the creation time of an event (event_set_begin()); no API sets it */
#include "lib-event-private.h"
#include "mail-user.h"
#include "pushcore.h"
#include "push-notify-plugin.h"

#define PUSH_NOTIFY_LOG_PREFIX "push_notify: "
#define PUSH_NOTIFY_EVENT_FINISHED "push_notify_request_finished"

struct event_category event_category_push_notify = {
	.name = "push_notify",
};

struct push_notify_instance_event {
	const char *driver, *setting;
	struct event *event;
	/* dlog's lines: debug lines that are always shown */
	struct event *dlog_event;
};

/* lines about no user (the spool's fsync warning) */
static struct event *push_notify_global_event;
static struct event *push_notify_global_dlog_event;

static struct event *push_notify_event_create(struct event *parent)
{
	struct event *event = event_create(parent);

	event_add_category(event, &event_category_push_notify);
	event_set_append_log_prefix(event, PUSH_NOTIFY_LOG_PREFIX);
	return event;
}

static struct event *dlog_event_create(struct event *parent)
{
	struct event *event = event_create(parent);

	event_set_forced_debug(event, TRUE);
	return event;
}

void push_notify_events_user_init(struct push_notify_user *puser)
{
	puser->event = push_notify_event_create(puser->user->event);
	puser->dlog_event = dlog_event_create(puser->event);
	p_array_init(&puser->instance_events, puser->user->pool, 4);
}

void push_notify_events_user_deinit(struct push_notify_user *puser)
{
	struct push_notify_instance_event *ie;

	array_foreach_modifiable(&puser->instance_events, ie) {
		event_unref(&ie->dlog_event);
		event_unref(&ie->event);
	}
	array_clear(&puser->instance_events);
	event_unref(&puser->dlog_event);
	event_unref(&puser->event);
}

/* The driver instance's event, made when it first has something to say. */
static struct push_notify_instance_event *
instance_event(struct push_notify_user *puser, const char *driver,
	       const char *setting)
{
	struct push_notify_instance_event *ie;

	array_foreach_modifiable(&puser->instance_events, ie) {
		if (strcmp(ie->setting, setting) == 0 &&
		    strcmp(ie->driver, driver) == 0)
			return ie;
	}
	ie = array_append_space(&puser->instance_events);
	ie->driver = p_strdup(puser->user->pool, driver);
	ie->setting = p_strdup(puser->user->pool, setting);
	ie->event = event_create(puser->event);
	event_add_category(ie->event, &event_category_push_notify);
	event_add_str(ie->event, "driver", ie->driver);
	event_add_str(ie->event, "setting", ie->setting);
	return ie;
}

/* The event a line or outcome belongs to; *tmp_r is set (and must be
   unreferenced) when it had to be made for this line only. */
static struct event *origin_event(const struct pushcore_log_origin *origin,
				  bool dlog, struct event **tmp_r)
{
	/* the host's context: the push_notify_user (push-notify-user.c) */
	struct push_notify_user *puser = origin->host_ctx;
	struct push_notify_instance_event *ie;

	*tmp_r = NULL;
	if (puser == NULL)
		return dlog ? push_notify_global_dlog_event : push_notify_global_event;
	if (puser->event == NULL) {
		/* a user whose events are gone (deinit): a line on its
		   mail user's event */
		*tmp_r = push_notify_event_create(puser->user->event);
		if (dlog)
			event_set_forced_debug(*tmp_r, TRUE);
		return *tmp_r;
	}
	if (origin->driver == NULL)
		return dlog ? puser->dlog_event : puser->event;
	ie = instance_event(puser, origin->driver, origin->setting);
	if (!dlog)
		return ie->event;
	if (ie->dlog_event == NULL)
		ie->dlog_event = dlog_event_create(ie->event);
	return ie->dlog_event;
}

/* The text as the log shows it: a driver instance's lines start with
   "<setting> (<driver>): ", as they always did (a dlog line is dlog's own
   output and is shown as it is). */
static const char *origin_line(enum pushcore_log_level level,
			       const struct pushcore_log_origin *origin,
			       const char *line)
{
	if (origin->driver == NULL || level == PUSHCORE_LOG_DLOG)
		return line;
	return t_strdup_printf("%s (%s): %s", origin->setting, origin->driver,
			       line);
}

static void push_notify_event_log(struct event *event, enum pushcore_log_level level,
		      const char *line)
{
	switch (level) {
	case PUSHCORE_LOG_DEBUG:
	case PUSHCORE_LOG_DLOG:
		e_debug(event, "%s", line);
		break;
	case PUSHCORE_LOG_INFO:
		e_info(event, "%s", line);
		break;
	case PUSHCORE_LOG_WARNING:
		e_warning(event, "%s", line);
		break;
	case PUSHCORE_LOG_ERROR:
		e_error(event, "%s", line);
		break;
	}
}

void push_notify_events_mail_user_log(struct mail_user *user,
				      enum pushcore_log_level level,
				      const char *line)
{
	struct event *event = push_notify_event_create(user->event);
	struct pushcore_pool *pool = pushcore_pool_new();

	/* credentials hidden, as in every line of libpushcore's */
	push_notify_event_log(event, level, pushcore_redact(pool, line));
	pushcore_pool_free(&pool);
	event_unref(&event);
}

static void push_notify_log_from(enum pushcore_log_level level,
				 const struct pushcore_log_origin *origin,
				 const char *line)
{
	struct event *tmp, *event;

	T_BEGIN {
		event = origin_event(origin, level == PUSHCORE_LOG_DLOG, &tmp);
		push_notify_event_log(event, level, origin_line(level, origin, line));
		if (tmp != NULL)
			event_unref(&tmp);
	} T_END;
}

/* Dovecot's duration of an event (metrics, exporters) runs from its
   creation to its sending; this one stands for the notification, so it
   begins when the notification was made. */
static void event_set_begin(struct event *event, long long age_usecs)
{
	struct timeval now;

	i_gettimeofday(&now);
	event->tv_created = now;
	timeval_sub_usecs(&event->tv_created, age_usecs < 0 ? 0 : age_usecs);
	event->tv_created_ioloop = event->tv_created;
}

static void push_notify_outcome(const struct pushcore_outcome *o,
				enum pushcore_log_level level,
				const struct pushcore_log_origin *origin,
				const char *line)
{
	struct event *tmp, *event;

	T_BEGIN {
		/* not a passthrough event: that would take its parent's
		   creation time */
		event = event_create(origin_event(origin, FALSE, &tmp));
		event_set_begin(event, o->duration_usecs);
		event_set_name(event, PUSH_NOTIFY_EVENT_FINISHED);
		event_add_str(event, "result", pushcore_result_name(o->result));
		event_add_str(event, "driver", o->driver);
		event_add_str(event, "setting", o->setting);
		event_add_str(event, "user", o->user);
		event_add_str(event, "id", o->id);
		event_add_int(event, "status_code", o->status_code);
		event_add_int(event, "attempts", o->attempts);
		event_add_int(event, "duration", o->duration_usecs);
		/* in filters event= means the event's name: mail_event is the
		   same field under a name a filter can use */
		if (o->event != NULL) {
			event_add_str(event, "event", o->event);
			event_add_str(event, "mail_event", o->event);
		}
		if (o->mailbox != NULL)
			event_add_str(event, "mailbox", o->mailbox);
		if (o->host != NULL)
			event_add_str(event, "host", o->host);
		if (o->error != NULL)
			event_add_str(event, "error", o->error);
		push_notify_event_log(event, level, origin_line(level, origin, line));
		event_unref(&event);
		if (tmp != NULL)
			event_unref(&tmp);
	} T_END;
}

void push_notify_events_init(void)
{
	push_notify_global_event = push_notify_event_create(NULL);
	push_notify_global_dlog_event = dlog_event_create(push_notify_global_event);
	pushcore_log_set_origin_handler(push_notify_log_from);
	pushcore_outcome_set_handler(push_notify_outcome);
}

void push_notify_events_deinit(void)
{
	pushcore_outcome_set_handler(NULL);
	pushcore_log_set_origin_handler(NULL);
	event_unref(&push_notify_global_dlog_event);
	event_unref(&push_notify_global_event);
}
