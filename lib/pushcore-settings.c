/* Settings into drivers, for every host (see pushcore-settings.h). */
#include "pushcore-settings.h"
#include "pushcore-driver.h"
#include "pushcore-event.h"
#include "pushcore-filter.h"
#include "pushcore-http.h"
#include "pushcore-mem.h"
#include "pushcore-redact.h"
#include "pushcore-redis.h"
#include "pushcore-spec.h"

#include <string.h>
#include <strings.h>

/* Dovecot 2.4's push_notification blocks name some options differently;
   a block copied from Dovecot's documentation works in a push_notify block
   after renaming the block. */
static const char *const option_aliases[][2] = {
	{ "ox_url", "url" },
	{ "ox_cache_ttl", "cache_lifetime" },
	{ "ox_user_from_metadata", "user_from_metadata" },
	{ "lua_file", "file" },
	{ "lua_settings", "setting" },
};

static const char *const flag_options[] = {
	"batch", "tls_no_verify", "user_from_metadata",
};

/* Every setting a push_notify block takes (push-notify-settings-info.c
   declares them; keep the two in step), and the http_client ones
   Dovecot's own blocks take. */
static const char *const block_keys[] = {
	"driver", "url", "events", "mailboxes", "bearer_file", "secret_file",
	"tls_ca_file", "timeout_msecs", "max_retries", "cache_lifetime",
	"stream", "maxlen", "file", "batch", "tls_no_verify",
	"user_from_metadata", "header", "ox_url", "ox_cache_ttl",
	"ox_user_from_metadata", "lua_file", "lua_settings",
	"http_client_request_timeout", "http_client_request_max_attempts",
};

const char *pushcore_settings_block_key(struct pushcore_pool *pool,
					const char *block_name, const char *key)
{
	const char *full = pushcore_psprintf(pool, "%s_%s", block_name, key);

	for (size_t i = 0; i < sizeof(block_keys) / sizeof(block_keys[0]); i++) {
		if (strcmp(full, block_keys[i]) == 0)
			return full;
	}
	return key;
}

const char *pushcore_settings_option_name(const char *key)
{
	for (size_t i = 0; i < sizeof(option_aliases) / sizeof(option_aliases[0]); i++) {
		if (strcmp(key, option_aliases[i][0]) == 0)
			return option_aliases[i][1];
	}
	return key;
}

bool pushcore_settings_option_is_flag(const char *option)
{
	for (size_t i = 0; i < sizeof(flag_options) / sizeof(flag_options[0]); i++) {
		if (strcmp(option, flag_options[i]) == 0)
			return true;
	}
	return false;
}

const char *pushcore_setting_numbered(struct pushcore_pool *pool,
				      const char *base, unsigned int n)
{
	return n == 1 ? pushcore_pstrdup(pool, base) :
		pushcore_psprintf(pool, "%s%u", base, n);
}

static int start_driver(struct pushcore_user *user, const char *name,
			const struct pushcore_spec *spec, const char *error,
			pushcore_driver_tried_t *tried, void *context)
{
	int ret = -1;

	if (spec != NULL)
		ret = pushcore_user_add_driver_spec(user, name, spec, &error);
	if (tried != NULL)
		tried(context, name, spec, ret == 0 ? NULL : error);
	return ret;
}

/* base, base2, ...: up to the first unset number or the first broken
   driver. Returns how many started. */
static unsigned int add_numbered(struct pushcore_user *user, const char *base,
				 pushcore_setting_get_t *get,
				 pushcore_driver_tried_t *tried, void *context)
{
	const struct pushcore_spec *spec;
	const char *name, *value, *error = NULL;
	unsigned int n, added = 0;

	for (n = 1;; n++) {
		name = pushcore_setting_numbered(user->pool, base, n);
		value = get(context, name);
		if (value == NULL || value[0] == '\0')
			break;
		spec = pushcore_spec_parse(user->pool, value, &error);
		if (spec == NULL)
			error = pushcore_psprintf(user->pool, "%s: %s", name, error);
		if (start_driver(user, name, spec, error, tried, context) < 0)
			break;
		added++;
	}
	return added;
}

unsigned int pushcore_settings_add_drivers(struct pushcore_user *user,
					   pushcore_setting_get_t *get,
					   pushcore_driver_tried_t *tried,
					   void *context)
{
	unsigned int added = add_numbered(user, PUSHCORE_SETTING_DRIVER, get,
					  tried, context);

	/* the legacy name counts only if no driver started (the reference:
	   an empty driver list, even after a broken driver) */
	if (added == 0)
		added = add_numbered(user, PUSHCORE_SETTING_BACKEND, get, tried,
				     context);
	return added;
}

unsigned int pushcore_settings_add_blocks(struct pushcore_user *user,
					  const char *const *names,
					  unsigned int count,
					  pushcore_block_spec_t *block_spec,
					  pushcore_driver_tried_t *tried,
					  void *context)
{
	const struct pushcore_spec *spec;
	const char *error = NULL;
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (block_spec(context, names[i], &spec, &error) < 0)
			spec = NULL;
		if (start_driver(user, names[i], spec, error, tried, context) < 0)
			break;
	}
	return i;
}

bool pushcore_settings_is_block_key(const char *key)
{
	for (size_t i = 0; i < sizeof(block_keys) / sizeof(block_keys[0]); i++) {
		if (strcmp(key, block_keys[i]) == 0)
			return true;
	}
	return false;
}

int pushcore_settings_block_option(struct pushcore_pool *pool, const char *key,
				   const char *value, const char **option_r,
				   const char **value_r, const char **error_r)
{
	const char *option = pushcore_settings_option_name(key);
	unsigned int num;

	*option_r = NULL;
	*value_r = value;
	if (value[0] == '\0')
		return 0;
	if (strcmp(key, "http_client_request_timeout") == 0) {
		/* Dovecot's ox driver: one attempt's timeout */
		if (!pushcore_parse_time_msecs(value, 1000, &num)) {
			*error_r = pushcore_psprintf(pool, "%s = %s: expected a "
						     "time such as 2s", key, value);
			return -1;
		}
		*option_r = "timeout_msecs";
		*value_r = pushcore_psprintf(pool, "%u", num);
	} else if (strcmp(key, "http_client_request_max_attempts") == 0) {
		if (!pushcore_parse_uint(value, &num) || num == 0) {
			*error_r = pushcore_psprintf(pool, "%s = %s: expected a "
						     "number of 1 or more", key, value);
			return -1;
		}
		*option_r = "max_retries";
		*value_r = pushcore_psprintf(pool, "%u", num - 1);
	} else if (!pushcore_settings_option_is_flag(option)) {
		*option_r = option;
	} else if (strcmp(value, "yes") == 0) {
		*option_r = option;
		*value_r = "";
	} else if (strcmp(value, "no") != 0) {
		*error_r = pushcore_psprintf(pool, "%s = %s: expected yes or no",
					     key, value);
		return -1;
	}
	return 0;
}

struct pushcore_spec *
pushcore_settings_block_spec(struct pushcore_pool *pool, const char *name,
			     const char *driver, const char *const *keys,
			     const char *const *values, unsigned int count,
			     const char **error_r)
{
	struct pushcore_spec *spec;
	const char *option, *value, *error;
	unsigned int i;

	if (driver == NULL || driver[0] == '\0')
		driver = name;
	if (strchr(driver, ':') == NULL)
		spec = pushcore_spec_new(pool, driver);
	else if ((spec = pushcore_spec_parse(pool, driver, &error)) == NULL) {
		*error_r = pushcore_psprintf(pool, "%s: %s", name, error);
		return NULL;
	}
	for (i = 0; i < count; i++) {
		if (pushcore_settings_block_option(pool, keys[i], values[i],
						   &option, &value, &error) < 0) {
			*error_r = pushcore_psprintf(pool, "%s: %s", name, error);
			return NULL;
		}
		if (option != NULL)
			pushcore_spec_add(pool, spec, option, value);
	}
	return spec;
}

static const char *event_names(struct pushcore_pool *pool)
{
	struct pushcore_buf buf;
	const char *names;
	unsigned int i;

	pushcore_buf_init(&buf);
	for (i = 0; i < PUSHCORE_EVENT_COUNT; i++)
		pushcore_buf_printf(&buf, "%s%s", i == 0 ? "" : ", ",
				    pushcore_events[i].name);
	names = pushcore_pstrdup(pool, buf.data);
	pushcore_buf_free(&buf);
	return names;
}

static bool driver_name_valid(const char *name)
{
	const char *p;

	if (name[0] == '\0')
		return false;
	for (p = name; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	}
	return true;
}

static int check_url(struct pushcore_pool *pool, const char *block,
		     const char *driver, const char *key, const char *url,
		     const char **error_r)
{
	const char *error = NULL;
	bool tls;

	if (url[0] == '\0')
		return 0;
	if (strcasecmp(driver, "http") == 0 || strcasecmp(driver, "ox") == 0) {
		if (strncasecmp(url, "http://", 7) != 0 &&
		    strncasecmp(url, "https://", 8) != 0)
			error = "not an http:// or https:// URL";
		else if (pushcore_http_url_valid(url, &error))
			error = NULL;
	} else if (strcasecmp(driver, "redis") == 0) {
		if (pushcore_redis_url_valid(url, &tls, &error))
			error = NULL;
	}
	if (error == NULL)
		return 0;
	*error_r = pushcore_redact(pool, pushcore_psprintf(pool,
		"push_notify %s: %s = %s: %s", block, key, url, error));
	return -1;
}

int pushcore_settings_check_block(struct pushcore_pool *pool, const char *name,
				  const char *driver, const char *url,
				  const char *ox_url, const char *events,
				  const char **error_r)
{
	const struct pushcore_spec *spec;
	const char **names, *error;

	if (driver == NULL || driver[0] == '\0')
		driver = name;
	if (strchr(driver, ':') != NULL) {
		if ((spec = pushcore_spec_parse(pool, driver, &error)) == NULL) {
			*error_r = pushcore_redact(pool, pushcore_psprintf(pool,
				"push_notify %s: driver = %s: %s", name, driver, error));
			return -1;
		}
		driver = spec->name;
	}
	if (!driver_name_valid(driver)) {
		*error_r = pushcore_psprintf(pool, "push_notify %s: driver = %s: "
			"not a driver name (letters, digits, _ and -) or a "
			"driver spec (name:options)", name, driver);
		return -1;
	}
	if (check_url(pool, name, driver, "url", url == NULL ? "" : url, error_r) < 0 ||
	    check_url(pool, name, driver, "ox_url", ox_url == NULL ? "" : ox_url,
		      error_r) < 0)
		return -1;
	if (events == NULL || events[0] == '\0')
		return 0;
	names = pushcore_split_list(pool, events);
	if (names[0] == NULL) {
		*error_r = pushcore_psprintf(pool, "push_notify %s: events = %s: "
					     "lists no event", name, events);
		return -1;
	}
	for (; *names != NULL; names++) {
		if (pushcore_event_lookup(*names) < 0) {
			*error_r = pushcore_psprintf(pool, "push_notify %s: events "
				"= %s: unknown event '%s' (known: %s)", name, events,
				*names, event_names(pool));
			return -1;
		}
	}
	return 0;
}
