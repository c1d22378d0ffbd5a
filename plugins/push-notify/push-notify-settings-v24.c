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
		/* on the push_notify event, credentials hidden */
		push_notify_events_mail_user_log(user, PUSHCORE_LOG_ERROR,
			t_strdup_printf("Failed to get settings: %s", error));
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

/* Whether a define is one of the block's driver options (not name,
   driver or a global setting), by its name. */
static bool push_notify_setting_is_option(const struct setting_define *def)
{
	const char *key = def->key;

	if (def->type == SET_FILTER_ARRAY ||
	    strncmp(key, PUSH_NOTIFY_OPTION_PREFIX,
		    strlen(PUSH_NOTIFY_OPTION_PREFIX)) != 0)
		return FALSE;
	key += strlen(PUSH_NOTIFY_OPTION_PREFIX);
	/* libpushcore's list of block settings, which pushadm reads too */
	return strcmp(key, "driver") != 0 && pushcore_settings_is_block_key(key);
}

struct block_options {
	ARRAY_TYPE(const_string) keys, values;
};

/* One option of a block as a key and a string, the way libpushcore takes
   them: a bool is yes/no, a header { Name = Value } entry is
   header=Name:Value, a number or a time is passed on only when it is not
   its default (the driver's own then applies), a time with its unit. */
static void block_option(struct block_options *opts,
			 const struct push_notify_settings *set,
			 const struct setting_define *def)
{
	const void *value = CONST_PTR_OFFSET(set, def->offset);
	const void *default_value =
		CONST_PTR_OFFSET(push_notify_setting_parser_info.defaults, def->offset);
	const char *key = def->key + strlen(PUSH_NOTIFY_OPTION_PREFIX), *str;
	const ARRAY_TYPE(const_string) *list;
	const char *const *items;
	unsigned int i, count, num;

	switch (def->type) {
	case SET_STR:
	case SET_STR_NOVARS:
		str = *(const char *const *)value;
		break;
	case SET_BOOL:
		str = *(const bool *)value ? "yes" : "no";
		break;
	case SET_UINT:
	case SET_TIME:
	case SET_TIME_MSECS:
		num = *(const unsigned int *)value;
		if (num == *(const unsigned int *)default_value)
			return;
		str = t_strdup_printf("%u%s", num, def->type == SET_TIME ? "s" :
				      def->type == SET_TIME_MSECS ? "ms" : "");
		break;
	case SET_STRLIST:
		list = value;
		if (!array_is_created(list))
			return;
		items = array_get(list, &count);
		for (i = 0; i + 1 < count; i += 2) {
			str = t_strdup_printf("%s:%s", items[i], items[i + 1]);
			array_push_back(&opts->keys, &key);
			array_push_back(&opts->values, &str);
		}
		return;
	default:
		i_unreached();
	}
	array_push_back(&opts->keys, &key);
	array_push_back(&opts->values, &str);
}

/* A block's driver spec: its driver = (a driver name, or a whole 2.3 spec
   so 2.3 lines can be moved as they are) and its options, put together by
   libpushcore as pushadm does. */
struct apply_ctx {
	struct push_notify_user *puser;
	ARRAY_TYPE(const_string) *errors;
};

static int block_spec(void *context, const char *name,
		      const struct pushcore_spec **spec_r, const char **error_r)
{
	struct push_notify_user *puser = ((struct apply_ctx *)context)->puser;
	const struct push_notify_settings *set;
	const struct setting_define *def;
	struct block_options opts;
	const char *error;

	if (settings_get_filter(puser->user->event, PUSH_NOTIFY_FILTER_NAME, name,
				&push_notify_setting_parser_info, 0, &set,
				&error) < 0) {
		*error_r = t_strdup_printf("push_notify %s: %s", name, error);
		return -1;
	}
	t_array_init(&opts.keys, 16);
	t_array_init(&opts.values, 16);
	for (def = push_notify_setting_parser_info.defines; def->key != NULL; def++) {
		if (push_notify_setting_is_option(def))
			block_option(&opts, set, def);
	}
	/* the spec lives in the user's pool, as long as its drivers */
	*spec_r = pushcore_settings_block_spec(pushcore_user_pool(puser->puser), name,
		set->driver, array_front(&opts.keys), array_front(&opts.values),
		array_count(&opts.keys), error_r);
	settings_free(set);
	return *spec_r == NULL ? -1 : 0;
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

void push_notify_settings_apply(struct push_notify_user *puser,
				ARRAY_TYPE(const_string) *errors)
{
	struct apply_ctx ctx = { puser, errors };
	const struct push_notify_settings *set = push_notify_settings_read(puser->user);
	const char *const *names;
	unsigned int count = 0;

	if (set == NULL)
		return;
	names = !array_is_created(&set->push_notifies) ? NULL :
		array_get(&set->push_notifies, &count);
	pushcore_user_set_max_wait_msecs(puser->puser, set->max_delay);
	pushcore_user_set_spool_dir(puser->puser, set->spool_dir);
	pushcore_user_set_spool_only(puser->puser, set->spool_only);
	pushcore_user_set_relay(puser->puser, set->relay_socket, set->relay_timeout);
	pushcore_user_set_module_dir(puser->puser, set->module_dir);
	/* the order and the stopping rule: libpushcore, shared with pushadm */
	T_BEGIN {
		(void)pushcore_settings_add_blocks(puser->puser, names, count,
						   block_spec, driver_tried, &ctx);
	} T_END;
	settings_free(set);
}
