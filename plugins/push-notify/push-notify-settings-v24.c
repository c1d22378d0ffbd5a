/* Dovecot 2.4: the typed push_notify settings (push-notify-settings.h),
   turned into the same driver specs the 2.3 settings give. Its 2.3 twin is
   push-notify-settings-v23.c. */
#include "lib.h"
#include "array.h"
#include "settings.h"
#include "mail-user.h"
#include "pushcore.h"
#include "push-notify-plugin.h"
#include "push-notify-settings.h"

static const struct push_notify_settings *
push_notify_settings_read(struct mail_user *user)
{
	const struct push_notify_settings *set;
	const char *error;

	if (settings_get(user->event, &push_notify_setting_parser_info, 0,
			 &set, &error) < 0) {
		e_error(user->event, "push_notify: Failed to get settings: %s",
			error);
		return NULL;
	}
	return set;
}

bool push_notify_settings_configured(struct mail_user *user)
{
	const struct push_notify_settings *set = push_notify_settings_read(user);
	bool configured;

	if (set == NULL)
		return FALSE;
	configured = array_not_empty(&set->push_notifies);
	settings_free(set);
	return configured;
}

/* 2.4 has no plugin {} settings any more: a script's plugin_getenv(name)
   sees the user's userdb fields. */
const char *push_notify_settings_getenv(struct mail_user *user, const char *name)
{
	const char *const *field;
	size_t len = strlen(name);

	if (user->userdb_fields == NULL)
		return NULL;
	for (field = user->userdb_fields; *field != NULL; field++) {
		if (strncmp(*field, name, len) == 0 && (*field)[len] == '=')
			return *field + len + 1;
	}
	return NULL;
}

/* Adds one option of a block to spec, in 2.3 spec terms. */
static void spec_add_option(struct pushcore_pool *pool, struct pushcore_spec *spec,
			    const struct push_notify_settings *set,
			    const struct setting_define *def)
{
	const void *value = CONST_PTR_OFFSET(set, def->offset);
	const char *key = def->key + strlen(PUSH_NOTIFY_OPTION_PREFIX);
	const ARRAY_TYPE(const_string) *list;
	const char *const *items;
	unsigned int i, count;

	switch (def->type) {
	case SET_STR:
	case SET_STR_NOVARS:
		if ((*(const char *const *)value)[0] != '\0')
			pushcore_spec_add(pool, spec, key, *(const char *const *)value);
		break;
	case SET_BOOL:
		if (*(const bool *)value)
			pushcore_spec_add(pool, spec, key, "");
		break;
	case SET_STRLIST:
		/* name, value pairs: header { X-Tenant = acme } */
		list = value;
		if (!array_is_created(list))
			break;
		items = array_get(list, &count);
		for (i = 0; i + 1 < count; i += 2) {
			pushcore_spec_add(pool, spec, key, t_strdup_printf(
				"%s:%s", items[i], items[i + 1]));
		}
		break;
	default:
		i_unreached();
	}
}

/* A block's driver: a driver name, or a whole 2.3 driver spec
   ("ox:url=... user_from_metadata") so 2.3 lines can be moved as they are;
   options set in the block add to it. */
static int add_driver(struct push_notify_user *puser, const char *name,
		      const char **error_r)
{
	struct pushcore_pool *pool = puser->puser->pool;
	const struct push_notify_settings *set;
	const struct setting_define *def;
	struct pushcore_spec *spec;
	const char *error;
	int ret;

	if (settings_get_filter(puser->user->event, PUSH_NOTIFY_FILTER_NAME, name,
				&push_notify_setting_parser_info, 0, &set,
				&error) < 0) {
		*error_r = t_strdup_printf("push_notify %s: %s", name, error);
		return -1;
	}
	if (strchr(set->driver, ':') == NULL)
		spec = pushcore_spec_new(pool, set->driver);
	else if ((spec = pushcore_spec_parse(pool, set->driver, &error)) == NULL) {
		*error_r = t_strdup_printf("%s: %s", name, error);
		settings_free(set);
		return -1;
	}
	for (def = push_notify_setting_parser_info.defines; def->key != NULL; def++) {
		if (push_notify_setting_is_option(def))
			spec_add_option(pool, spec, set, def);
	}
	settings_free(set);
	/* log lines name the block, as they name the setting on 2.3 */
	ret = pushcore_user_add_driver_spec(puser->puser, name, spec, &error);
	if (ret < 0)
		*error_r = error;
	return ret;
}

void push_notify_settings_apply(struct push_notify_user *puser)
{
	const struct push_notify_settings *set = push_notify_settings_read(puser->user);
	const char *const *names, *error;
	unsigned int i, count = 0;

	if (set == NULL)
		return;
	names = !array_is_created(&set->push_notifies) ? NULL :
		array_get(&set->push_notifies, &count);
	puser->puser->max_wait_msecs = set->max_delay;
	puser->puser->spool_dir = p_strdup(puser->user->pool, set->spool_dir);
	puser->puser->spool_only = set->spool_only;
	puser->puser->relay_socket = p_strdup(puser->user->pool, set->relay_socket);
	puser->puser->relay_timeout_msecs = set->relay_timeout;
	/* as on 2.3, the first broken driver ends the list */
	for (i = 0; i < count; i++) {
		if (add_driver(puser, names[i], &error) < 0) {
			push_notify_driver_failed(puser, error);
			break;
		}
	}
	settings_free(set);
}
