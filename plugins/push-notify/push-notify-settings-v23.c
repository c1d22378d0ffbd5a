/* Dovecot 2.3: the plugin {} settings, read the way the reference plugin
   reads them (push_notification_driver, _driver2, ...; userdb fields
   override them). Its 2.4 twin is push-notify-settings-v24.c. */
#include "lib.h"
#include "array.h"
#include "mail-user.h"
#include "pushcore.h"
#include "pushcore-relay-client.h"
#include "push-notify-plugin.h"

#define MAX_WAIT_SETTING "push_notification_max_delay"
#define SPOOL_DIR_SETTING "push_notification_spool_dir"
#define SPOOL_ONLY_SETTING "push_notification_spool_only"
#define RELAY_SOCKET_SETTING "push_notification_relay_socket"
#define RELAY_TIMEOUT_SETTING "push_notification_relay_timeout"

/* A list that starts at _driver2 is never read (the reference reads
   push_notification_driver first and stops at the first gap): said once
   per process, so the administrator learns why nothing is sent. */
static void warn_gap_at_start(struct mail_user *user)
{
	static bool warned = FALSE;
	const char *value = mail_user_plugin_getenv(user, PUSHCORE_SETTING_DRIVER "2");

	if (warned || value == NULL || value[0] == '\0')
		return;
	warned = TRUE;
	/* on the push_notify event (push-notify-events.c) */
	push_notify_events_mail_user_log(user, PUSHCORE_LOG_WARNING,
		PUSHCORE_SETTING_DRIVER "2 is set but " PUSHCORE_SETTING_DRIVER
		" is not: the list starts at " PUSHCORE_SETTING_DRIVER " and ends "
		"at the first gap, so no driver is used (rename it "
		PUSHCORE_SETTING_DRIVER ")");
}

bool push_notify_settings_configured(struct mail_user *user)
{
	if (mail_user_plugin_getenv(user, PUSHCORE_SETTING_DRIVER) != NULL ||
	    mail_user_plugin_getenv(user, PUSHCORE_SETTING_BACKEND) != NULL)
		return TRUE;
	warn_gap_at_start(user);
	return FALSE;
}

const char *push_notify_settings_getenv(struct mail_user *user, const char *name)
{
	return mail_user_plugin_getenv(user, name);
}

struct apply_ctx {
	struct push_notify_user *puser;
	ARRAY_TYPE(const_string) *errors;
};

static const char *setting_get(void *context, const char *name)
{
	struct apply_ctx *ctx = context;

	return mail_user_plugin_getenv(ctx->puser->user, name);
}

static void driver_tried(void *context, const char *name ATTR_UNUSED,
			 const struct pushcore_spec *spec ATTR_UNUSED,
			 const char *error)
{
	struct apply_ctx *ctx = context;
	const char *line;

	if (error != NULL) {
		line = PUSH_NOTIFY_DRIVER_FAILED(ctx->puser->user->pool, error);
		array_push_back(ctx->errors, &line);
	}
}

static void read_spool_settings(struct push_notify_user *puser)
{
	const char *value = mail_user_plugin_getenv(puser->user, SPOOL_DIR_SETTING);

	if (value != NULL && value[0] != '\0')
		pushcore_user_set_spool_dir(puser->puser, value);
	pushcore_user_set_spool_only(puser->puser,
		mail_user_plugin_getenv_bool(puser->user, SPOOL_ONLY_SETTING));
}

/* unset: the default socket; empty: no hand-off */
static void read_relay_settings(struct push_notify_user *puser,
				ARRAY_TYPE(const_string) *errors)
{
	const char *value = mail_user_plugin_getenv(puser->user, RELAY_SOCKET_SETTING);
	const char *socket_path = value != NULL ? value : PUSHCORE_DEFAULT_RELAY_SOCKET;
	unsigned int msecs = pushcore_user_relay_timeout_msecs(puser->puser);

	value = mail_user_plugin_getenv(puser->user, RELAY_TIMEOUT_SETTING);
	if (value != NULL && value[0] != '\0' &&
	    !pushcore_parse_time_msecs(value, 1, &msecs)) {
		const char *line = p_strdup_printf(puser->user->pool, "Invalid %s=%s "
			"(expected a time such as 250ms or 1s); using %u ms",
			RELAY_TIMEOUT_SETTING, value,
			pushcore_user_relay_timeout_msecs(puser->puser));

		array_push_back(errors, &line);
		msecs = pushcore_user_relay_timeout_msecs(puser->puser);
	}
	pushcore_user_set_relay(puser->puser, socket_path, msecs);
}

static void read_max_delay(struct push_notify_user *puser,
			   ARRAY_TYPE(const_string) *errors)
{
	const char *value = mail_user_plugin_getenv(puser->user, MAX_WAIT_SETTING);
	unsigned int msecs;

	if (value == NULL || value[0] == '\0')
		return;
	if (!pushcore_parse_time_msecs(value, 1000, &msecs)) {
		const char *line = p_strdup_printf(puser->user->pool, "Invalid %s=%s "
			"(expected a time such as 2s or 500ms); using %u ms",
			MAX_WAIT_SETTING, value,
			pushcore_user_max_wait_msecs(puser->puser));

		array_push_back(errors, &line);
		return;
	}
	pushcore_user_set_max_wait_msecs(puser->puser, msecs);
}

void push_notify_settings_apply(struct push_notify_user *puser,
				ARRAY_TYPE(const_string) *errors)
{
	struct apply_ctx ctx = { puser, errors };

	read_max_delay(puser, errors);
	read_spool_settings(puser);
	read_relay_settings(puser, errors);
	/* numbering, the legacy name and the stopping rule: libpushcore,
	   shared with pushadm */
	(void)pushcore_settings_add_drivers(puser->puser, setting_get,
					    driver_tried, &ctx);
}
