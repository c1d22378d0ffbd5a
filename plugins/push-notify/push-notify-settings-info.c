/* The definitions of push_notify's Dovecot 2.4 settings, shared by the
   plugin and the settings module the config process loads. */
#include "lib.h"
#include "array.h"
#include "settings-parser.h"
#include "http-url.h"
#include "pushcore-driver.h"
#include "pushcore-event.h"
#include "pushcore-redact.h"
#include "pushcore-relay-client.h"
#include "push-notify-settings.h"

#include <ctype.h>

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
	DEF(UINT, timeout_msecs),
	DEF(UINT, max_retries),
	DEF(TIME, cache_lifetime),
	DEF(STR, stream),
	DEF(UINT, maxlen),
	DEF(STR, file),
	DEF(BOOL, batch),
	DEF(BOOL, tls_no_verify),
	DEF(BOOL, user_from_metadata),
	DEF(STRLIST, header),
	/* the names Dovecot 2.4's own push_notification blocks use, so a
	   block copied from its documentation works here; libpushcore maps
	   them to the options above (pushcore_settings_option_name) */
	DEF(STR_NOVARS, ox_url),
	DEF(TIME_MSECS, ox_cache_ttl),
	DEF(BOOL, ox_user_from_metadata),
	DEF(STR, lua_file),
	DEF(STRLIST, lua_settings),
	DEF(TIME_MSECS, http_client_request_timeout),
	DEF(UINT, http_client_request_max_attempts),

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
	/* numbers and times: the default means "the driver's own" and is
	   not passed on (push-notify-settings-v24.c) */
	.timeout_msecs = 0,
	.max_retries = 1,
	.cache_lifetime = 60,
	.stream = "",
	.maxlen = 0,
	.file = "",
	.header = ARRAY_INIT,
	.ox_url = "",
	.ox_cache_ttl = 0,
	.ox_user_from_metadata = FALSE,
	.lua_file = "",
	.lua_settings = ARRAY_INIT,
	.http_client_request_timeout = 0,
	.http_client_request_max_attempts = 0,
};

/* The checks below run in Dovecot's config process too, which loads only
   libpush_notify_settings.so: they use Dovecot's own URL parser and
   libpushcore's headers, never its library (whose curl, Lua and Redis
   have no business in the config process). */

static const char *const push_notify_event_names[] = {
	PUSHCORE_EVENT_NAMES, NULL
};

/* A URL for an error message, and a URL in an error is often mistyped
   ("https//h/?access_token=x", "redis//:pw@h"): everything before its
   last '@' (a userinfo, whatever characters its password has) and
   everything after a '?' or '#' (a query may carry a token) is hidden.
   Hiding a host now and then beats showing a secret. */
static const char *url_redacted(const char *url)
{
	const char *scheme_end = strstr(url, "://");
	const char *rest = scheme_end == NULL ? url : scheme_end + 3;
	const char *at = strrchr(rest, '@');
	const char *host = at == NULL ? rest : at;
	const char *query = host + strcspn(host, "?#");

	return t_strconcat(t_strdup_until(url, rest),
			   at == NULL ? "" : PUSHCORE_REDACTED,
			   t_strdup_until(host, query),
			   *query == '\0' ? "" : t_strdup_until(query, query + 1),
			   *query == '\0' ? "" : PUSHCORE_REDACTED, NULL);
}

static bool driver_name_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return FALSE;
	for (i = 0; i < len; i++) {
		if (!i_isalnum(name[i]) && name[i] != '_' && name[i] != '-')
			return FALSE;
	}
	return TRUE;
}

static bool check_url(const char *block, const char *driver, size_t driver_len,
		      const char *key, const char *url, const char **error_r)
{
	struct http_url *http_url;
	const char *error = NULL;

	if (url[0] == '\0')
		return TRUE;
	if ((driver_len == 4 && strncasecmp(driver, "http", 4) == 0) ||
	    (driver_len == 2 && strncasecmp(driver, "ox", 2) == 0)) {
		if (!str_begins_icase_with(url, "http://") &&
		    !str_begins_icase_with(url, "https://"))
			error = "not an http:// or https:// URL";
		else if (http_url_parse(url, NULL, HTTP_URL_ALLOW_USERINFO_PART,
					pool_datastack_create(), &http_url,
					&error) == 0)
			error = NULL;
	} else if (driver_len == 5 && strncasecmp(driver, "redis", 5) == 0) {
		if (!str_begins_icase_with(url, "redis://") &&
		    !str_begins_icase_with(url, "rediss://") &&
		    !str_begins_icase_with(url, "unix:"))
			error = "not a redis://, rediss:// or unix: URL";
	}
	if (error == NULL)
		return TRUE;
	*error_r = t_strdup_printf("push_notify %s: %s = %s: %s", block, key,
				   url_redacted(url), error);
	return FALSE;
}

static bool check_events(const char *block, const char *events,
			 const char **error_r)
{
	const char *const *names = t_strsplit(events, ",");
	unsigned int i, count = 0;

	if (events[0] == '\0')
		return TRUE;
	for (; *names != NULL; names++) {
		if ((*names)[0] == '\0')
			continue;
		count++;
		for (i = 0; push_notify_event_names[i] != NULL; i++) {
			if (strcasecmp(push_notify_event_names[i], *names) == 0)
				break;
		}
		if (push_notify_event_names[i] == NULL) {
			*error_r = t_strdup_printf("push_notify %s: events = %s: "
				"unknown event '%s' (known: %s)", block, events,
				*names, t_strarray_join(push_notify_event_names, ", "));
			return FALSE;
		}
	}
	if (count == 0) {
		*error_r = t_strdup_printf("push_notify %s: events = %s: lists "
					   "no event", block, events);
		return FALSE;
	}
	return TRUE;
}

/* Like Dovecot's push_notification blocks: the driver defaults to the
   block's name, so "push_notify dlog { }" is enough. The config process
   calls this for every block, so doveconf (and Dovecot's start) refuses a
   driver = that is neither a driver name nor a 2.3 spec, a URL the driver
   can't use and an unknown event name, naming the block and the setting,
   instead of the first delivery logging it. A whole 2.3 spec in driver =
   is checked when mail arrives, as on 2.3. */
static bool push_notify_settings_check(void *_set, pool_t pool ATTR_UNUSED,
				       const char **error_r)
{
	struct push_notify_settings *set = _set;
	const char *colon;
	size_t driver_len;

	if (set->driver[0] == '\0')
		set->driver = set->name;
	/* the global level: a block's values are checked in the block */
	if (set->name[0] == '\0')
		return TRUE;
	colon = strchr(set->driver, ':');
	if (colon != NULL) {
		/* a whole 2.3 spec: checked when mail arrives, as on 2.3;
		   its own url= and events= too, the block's below */
		driver_len = (size_t)(colon - set->driver);
	} else {
		driver_len = strlen(set->driver);
		if (!driver_name_valid(set->driver, driver_len)) {
			*error_r = t_strdup_printf("push_notify %s: driver = %s: "
				"not a driver name (letters, digits, _ and -) or a "
				"driver spec (name:options)", set->name, set->driver);
			return FALSE;
		}
	}
	return check_url(set->name, set->driver, driver_len, "url", set->url, error_r) &&
		check_url(set->name, set->driver, driver_len, "ox_url", set->ox_url,
			  error_r) &&
		check_events(set->name, set->events, error_r);
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
