/* Dovecot 2.3: the plugin {} settings, read the way the reference plugin
   reads them (push_notification_driver, _driver2, ...; userdb fields
   override them). Its 2.4 twin is push-notify-settings-v24.c. */
#include "lib.h"
#include "mail-user.h"
#include "pushcore.h"
#include "pushcore-relay-client.h"
#include "push-notify-plugin.h"

#define DRIVER_SETTING "push_notification_driver"
#define BACKEND_SETTING "push_notification_backend"
#define MAX_WAIT_SETTING "push_notification_max_delay"
#define SPOOL_DIR_SETTING "push_notification_spool_dir"
#define SPOOL_ONLY_SETTING "push_notification_spool_only"
#define RELAY_SOCKET_SETTING "push_notification_relay_socket"
#define RELAY_TIMEOUT_SETTING "push_notification_relay_timeout"

bool push_notify_settings_configured(struct mail_user *user)
{
	return mail_user_plugin_getenv(user, DRIVER_SETTING) != NULL ||
		mail_user_plugin_getenv(user, BACKEND_SETTING) != NULL;
}

const char *push_notify_settings_getenv(struct mail_user *user, const char *name)
{
	return mail_user_plugin_getenv(user, name);
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
			push_notify_driver_failed(puser, error);
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

/* unset: the default socket; empty: no hand-off */
static void read_relay_settings(struct push_notify_user *puser)
{
	const char *value = mail_user_plugin_getenv(puser->user, RELAY_SOCKET_SETTING);
	unsigned int msecs;

	puser->puser->relay_socket = value != NULL ?
		p_strdup(puser->user->pool, value) : PUSHCORE_DEFAULT_RELAY_SOCKET;
	value = mail_user_plugin_getenv(puser->user, RELAY_TIMEOUT_SETTING);
	if (value == NULL || value[0] == '\0')
		return;
	if (!pushcore_parse_time_msecs(value, 1, &msecs)) {
		pushcore_log(PUSHCORE_LOG_ERROR, puser->user, "Invalid %s=%s "
			"(expected a time such as 250ms or 1s); using %u ms",
			RELAY_TIMEOUT_SETTING, value, puser->puser->relay_timeout_msecs);
		return;
	}
	puser->puser->relay_timeout_msecs = msecs;
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

void push_notify_settings_apply(struct push_notify_user *puser)
{
	read_max_delay(puser);
	read_spool_settings(puser);
	read_relay_settings(puser);
	/* the legacy name counts only if no driver was set up */
	if (add_drivers(puser, DRIVER_SETTING) == 0)
		(void)add_drivers(puser, BACKEND_SETTING);
}
