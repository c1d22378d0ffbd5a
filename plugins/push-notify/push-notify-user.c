/* Per-user setup: the drivers configured for the user, read the way the
   reference plugin reads them. */
#include "lib.h"
#include "str.h"
#include "mail-user.h"
#include "pushcore.h"
#include "push-notify-plugin.h"

#include <dlfcn.h>

#define DRIVER_SETTING "push_notification_driver"
#define BACKEND_SETTING "push_notification_backend"
#define MAX_WAIT_SETTING "push_notification_max_delay"
#define SPOOL_DIR_SETTING "push_notification_spool_dir"
#define SPOOL_ONLY_SETTING "push_notification_spool_only"

struct push_notify_user_module push_notify_user_module =
	MODULE_CONTEXT_INIT(&mail_user_module_register);

/* Dovecot's own push_notification plugin in the same process would send
   every notification a second time; it wins and we stay quiet. */
static bool reference_plugin_loaded(void)
{
	static bool warned = FALSE;

	if (dlsym(RTLD_DEFAULT, "push_notification_plugin_init") == NULL)
		return FALSE;
	if (!warned) {
		i_error("push_notify: Dovecot's own push_notification plugin is "
			"loaded too; push_notify sends nothing so that no "
			"notification goes out twice. Remove push_notification "
			"(or push_notify) from mail_plugins.");
		warned = TRUE;
	}
	return TRUE;
}

static void push_notify_user_deinit(struct mail_user *user)
{
	struct push_notify_user *puser = PUSH_NOTIFY_USER_CONTEXT(user);

	pushcore_user_free(&puser->puser);
	event_unref(&puser->dlog_event);
	puser->module_ctx.super.deinit(user);
}

/* Reads name, name2, name3, ...: the list ends at the first unset or empty
   number, and the first broken driver ends it too (as in the reference). */
static unsigned int
add_drivers(struct push_notify_user *puser, const char *name)
{
	const char *setting, *value, *error;
	unsigned int i, added = 0;

	for (i = 1;; i++) {
		setting = i == 1 ? name : t_strdup_printf("%s%u", name, i);
		value = mail_user_plugin_getenv(puser->user, setting);
		if (value == NULL || value[0] == '\0')
			break;
		if (pushcore_user_add_driver(puser->puser, setting, value,
					     &error) < 0) {
			/* through pushcore_log: the error may quote a URL */
			pushcore_log(PUSHCORE_LOG_ERROR, puser->user, "%s - "
				"this and later drivers are disabled; mail is "
				"delivered without their notifications", error);
			break;
		}
		added++;
	}
	return added;
}

static void read_spool_settings(struct push_notify_user *puser)
{
	const char *value = mail_user_plugin_getenv(puser->user, SPOOL_DIR_SETTING);

	if (value != NULL && value[0] != '\0')
		puser->puser->spool_dir = p_strdup(puser->user->pool, value);
	puser->puser->spool_only =
		mail_user_plugin_getenv_bool(puser->user, SPOOL_ONLY_SETTING);
}

static void read_max_delay(struct push_notify_user *puser)
{
	const char *value = mail_user_plugin_getenv(puser->user, MAX_WAIT_SETTING);
	unsigned int msecs;

	if (value == NULL || value[0] == '\0')
		return;
	if (!pushcore_parse_time_msecs(value, 1000, &msecs)) {
		pushcore_log(PUSHCORE_LOG_ERROR, puser->user, "Invalid %s=%s "
			"(expected a time such as 2s or 500ms); using %u ms",
			MAX_WAIT_SETTING, value, puser->puser->max_wait_msecs);
		return;
	}
	puser->puser->max_wait_msecs = msecs;
}

void push_notify_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct push_notify_user *puser;

	/* the raw user LMTP and LDA parse incoming mail with sends nothing */
	if (user->autocreated)
		return;
	if (mail_user_plugin_getenv(user, DRIVER_SETTING) == NULL &&
	    mail_user_plugin_getenv(user, BACKEND_SETTING) == NULL)
		return;
	if (reference_plugin_loaded())
		return;

	puser = p_new(user->pool, struct push_notify_user, 1);
	puser->module_ctx.super = *v;
	user->vlast = &puser->module_ctx.super;
	v->deinit = push_notify_user_deinit;
	puser->user = user;
	puser->puser = pushcore_user_new(user->username, &push_notify_host, user);
	puser->dlog_event = event_create(user->event);
	event_set_forced_debug(puser->dlog_event, TRUE);
	MODULE_CONTEXT_SET(user, push_notify_user_module, puser);

	read_max_delay(puser);
	read_spool_settings(puser);
	/* the legacy name counts only if no driver was set up */
	if (add_drivers(puser, DRIVER_SETTING) == 0)
		(void)add_drivers(puser, BACKEND_SETTING);
}

struct push_notify_user *push_notify_user_get(struct mail_user *user)
{
	struct push_notify_user *puser = PUSH_NOTIFY_USER_CONTEXT(user);

	if (puser == NULL || puser->puser->instance_count == 0)
		return NULL;
	return puser;
}
