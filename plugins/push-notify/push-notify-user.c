/* Per-user setup: a pushcore user with the drivers configured for the mail
   user (push-notify-settings-*.c reads them). */
#include "lib.h"
#include "array.h"
#include "module-dir.h"
#include "mail-user.h"
#include "mail-storage-service.h"
#include "pushcore.h"
#include "push-notify-plugin.h"

struct push_notify_user_module push_notify_user_module =
	MODULE_CONTEXT_INIT(&mail_user_module_register);

/* Dovecot's own push_notification plugin in the same process would send
   every notification a second time; it wins and we stay quiet. */
static bool reference_plugin_loaded(void)
{
	static bool warned = FALSE;

	/* the mail plugins Dovecot loaded: a list walk per mail user, where
	   a failed dlsym() cost 0.4 % of a delivery (perf) */
	if (module_dir_find(mail_storage_service_modules,
			    "push_notification") == NULL)
		return FALSE;
	if (!warned) {
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "Dovecot's own "
			"push_notification plugin is loaded too; push_notify "
			"sends nothing so that no notification goes out twice. "
			"Remove push_notification (or push_notify) from "
			"mail_plugins.");
		warned = TRUE;
	}
	return TRUE;
}

static void push_notify_user_deinit(struct mail_user *user)
{
	struct push_notify_user *puser = PUSH_NOTIFY_USER_CONTEXT(user);

	pushcore_user_free(&puser->puser);
	push_notify_events_user_deinit(puser);
	puser->module_ctx.super.deinit(user);
}

void push_notify_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct push_notify_user *puser;
	ARRAY_TYPE(const_string) errors;
	const char *error;

	/* the raw user LMTP and LDA parse incoming mail with sends nothing */
	if (user->autocreated)
		return;
	if (!push_notify_settings_configured(user))
		return;
	if (reference_plugin_loaded())
		return;

	puser = p_new(user->pool, struct push_notify_user, 1);
	puser->module_ctx.super = *v;
	user->vlast = &puser->module_ctx.super;
	v->deinit = push_notify_user_deinit;
	puser->user = user;
	/* the host's context: what host.c's callbacks are given */
	puser->puser = pushcore_user_new(user->username, &push_notify_host, puser);
	push_notify_events_user_init(puser);
	MODULE_CONTEXT_SET(user, push_notify_user_module, puser);

	p_array_init(&errors, user->pool, 4);
	push_notify_settings_apply(puser, &errors);
	array_foreach_elem(&errors, error) {
		/* through pushcore_log: the error may quote a URL */
		pushcore_log(PUSHCORE_LOG_ERROR, puser, "%s", error);
	}
}

struct push_notify_user *push_notify_user_get(struct mail_user *user)
{
	struct push_notify_user *puser = PUSH_NOTIFY_USER_CONTEXT(user);

	if (puser == NULL || pushcore_user_driver_count(puser->puser) == 0)
		return NULL;
	return puser;
}
