/* The definitions of push_notify's Dovecot 2.4 settings, shared by the
   plugin and the settings module the config process loads. */
#include "lib.h"
#include "array.h"
#include "settings-parser.h"
#include "pushcore-driver.h"
#include "pushcore-relay-client.h"
#include "push-notify-settings.h"

/* Names and paths are %variable-expanded as other 2.4 settings are
   (stream = mail-events:%{user|domain}); URLs, filters and headers are
   taken as written, so a %-escape in a URL stays what it is. */
#undef DEF
#define DEF(type, name) \
	SETTING_DEFINE_STRUCT_##type(PUSH_NOTIFY_OPTION_PREFIX #name, name, \
				     struct push_notify_settings)

static const struct setting_define push_notify_setting_defines[] = {
	DEF(TIME_MSECS, max_delay),
	DEF(STR, spool_dir),
	DEF(BOOL, spool_only),
	DEF(STR, relay_socket),
	DEF(TIME_MSECS, relay_timeout),
	DEF(STR, module_dir),
	{
		.type = SET_FILTER_ARRAY,
		.key = PUSH_NOTIFY_FILTER_NAME,
		.offset = offsetof(struct push_notify_settings, push_notifies),
		.filter_array_field_name = PUSH_NOTIFY_OPTION_PREFIX "name",
	},
	DEF(STR, name),
	DEF(STR_NOVARS, driver),

	DEF(STR_NOVARS, url),
	DEF(STR_NOVARS, events),
	DEF(STR_NOVARS, mailboxes),
	DEF(STR, bearer_file),
	DEF(STR, secret_file),
	DEF(STR, tls_ca_file),
	DEF(STR_NOVARS, timeout_msecs),
	DEF(STR_NOVARS, max_retries),
	DEF(STR_NOVARS, cache_lifetime),
	DEF(STR, stream),
	DEF(STR_NOVARS, maxlen),
	DEF(STR, file),
	DEF(BOOL, batch),
	DEF(BOOL, tls_no_verify),
	DEF(BOOL, user_from_metadata),
	DEF(STRLIST, header),
	/* the names Dovecot 2.4's own push_notification blocks use, so a
	   block copied from its documentation works here; libpushcore maps
	   them to the options above (pushcore_settings_option_name) */
	DEF(STR_NOVARS, ox_url),
	DEF(STR_NOVARS, ox_cache_ttl),
	DEF(BOOL, ox_user_from_metadata),
	DEF(STR, lua_file),
	DEF(STRLIST, lua_settings),
	DEF(STR_NOVARS, http_client_request_timeout),
	DEF(STR_NOVARS, http_client_request_max_attempts),

	SETTING_DEFINE_LIST_END,
};

static const struct push_notify_settings push_notify_default_settings = {
	.max_delay = PUSHCORE_DEFAULT_MAX_WAIT_MSECS,
	.spool_dir = PUSHCORE_DEFAULT_SPOOL_DIR,
	.spool_only = FALSE,
	.relay_socket = PUSHCORE_DEFAULT_RELAY_SOCKET,
	.relay_timeout = PUSHCORE_DEFAULT_RELAY_TIMEOUT_MSECS,
	/* empty: the directory configure chose */
	.module_dir = "",
	.push_notifies = ARRAY_INIT,

	.name = "",
	.driver = "",
	.url = "",
	.events = "",
	.mailboxes = "",
	.bearer_file = "",
	.secret_file = "",
	.tls_ca_file = "",
	.timeout_msecs = "",
	.max_retries = "",
	.cache_lifetime = "",
	.stream = "",
	.maxlen = "",
	.file = "",
	.header = ARRAY_INIT,
	.ox_url = "",
	.ox_cache_ttl = "",
	.ox_user_from_metadata = FALSE,
	.lua_file = "",
	.lua_settings = ARRAY_INIT,
	.http_client_request_timeout = "",
	.http_client_request_max_attempts = "",
};

/* Like Dovecot's push_notification blocks: the driver defaults to the
   block's name, so "push_notify dlog { }" is enough. */
static bool push_notify_settings_check(void *_set, pool_t pool ATTR_UNUSED,
				       const char **error_r ATTR_UNUSED)
{
	struct push_notify_settings *set = _set;

	if (set->driver[0] == '\0')
		set->driver = set->name;
	return TRUE;
}

const struct setting_parser_info push_notify_setting_parser_info = {
	.name = "push_notify",
	/* the settings only exist while the plugin is installed */
	.plugin_dependency = "lib20_push_notify_plugin",

	.defines = push_notify_setting_defines,
	.defaults = &push_notify_default_settings,

	.struct_size = sizeof(struct push_notify_settings),
	.pool_offset1 = 1 + offsetof(struct push_notify_settings, pool),
	.check_func = push_notify_settings_check,
};

bool push_notify_setting_is_option(const struct setting_define *def)
{
	return def->offset >= offsetof(struct push_notify_settings, url) &&
		def->type != SET_FILTER_ARRAY;
}
