#ifndef PUSH_NOTIFY_PLUGIN_H
#define PUSH_NOTIFY_PLUGIN_H

/* push_notify: the Dovecot adapter of libpushcore. It turns the notify
   plugin's callbacks into pushcore events inside the mail transaction and
   hands them over after the commit. */

#include "module-context.h"
#include "mail-user.h"

struct pushcore_user;
struct pushcore_txn;
struct push_notify_instance_event;

#define PUSH_NOTIFY_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, push_notify_user_module)

struct push_notify_user {
	union mail_user_module_context module_ctx;
	struct mail_user *user;
	struct pushcore_user *puser;
	/* push-notify-events.c: the user's push_notify event (category
	   push_notify, prefix "push_notify: "), its always-shown debug child
	   for dlog lines, and one event per driver instance */
	struct event *event;
	struct event *dlog_event;
	ARRAY(struct push_notify_instance_event) instance_events;
};

extern MODULE_CONTEXT_DEFINE(push_notify_user_module, &mail_user_module_register);

/* push-notify-user.c */
void push_notify_user_created(struct mail_user *user);
struct push_notify_user *push_notify_user_get(struct mail_user *user);

/* push-notify-settings-v23.c or -v24.c, whichever Dovecot this is built
   for: the only place the two settings systems differ. */
/* Whether any push notification driver is configured for the user. */
bool push_notify_settings_configured(struct mail_user *user);
/* Sets max delay, spool and the drivers of an enabled user. What is
   wrong (a bad value, a driver that can't start) is added to errors, one
   log line each (from the user's pool), for the caller to log. */
void push_notify_settings_apply(struct push_notify_user *puser,
				ARRAY_TYPE(const_string) *errors);
/* The line for a driver that could not start. */
#define PUSH_NOTIFY_DRIVER_FAILED(pool, error) \
	p_strdup_printf((pool), "%s - this and later drivers are disabled; " \
			"mail is delivered without their notifications", (error))
/* A setting by name, for scripts (user:plugin_getenv). */
const char *push_notify_settings_getenv(struct mail_user *user, const char *name);

/* push-notify-txn.c */
void push_notify_txn_register(void);
void push_notify_txn_unregister(void);

/* push-notify-message.c: fills a MessageNew/MessageAppend event */
struct mail;
struct pushcore_event;
void push_notify_message_fill(struct pushcore_txn *txn,
			      struct pushcore_event *ev, struct mail *mail);

/* push-notify-host.c */
extern const struct pushcore_host push_notify_host;

/* push-notify-events.c: libpushcore's lines and outcomes as Dovecot
   events (docs/metrics.md) */
extern struct event_category event_category_push_notify;
void push_notify_events_init(void);
void push_notify_events_deinit(void);
void push_notify_events_user_init(struct push_notify_user *puser);
void push_notify_events_user_deinit(struct push_notify_user *puser);
/* A line about a mail user push_notify has not set up (yet): on a
   push_notify event of its own (the settings' checks), credentials
   hidden. */
void push_notify_events_mail_user_log(struct mail_user *user,
				      enum pushcore_log_level level,
				      const char *line);

void push_notify_plugin_init(struct module *module);
void push_notify_plugin_deinit(void);

#endif
