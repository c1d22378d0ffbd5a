/* Settings into drivers, for every host (see pushcore-settings.h). */
#include "pushcore-settings.h"
#include "pushcore-driver-private.h"
#include "pushcore-mem.h"
#include "pushcore-spec.h"

#include <string.h>

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
	const char *module_dir = get(context, PUSHCORE_SETTING_MODULE_DIR);
	unsigned int added;

	if (module_dir != NULL && module_dir[0] != '\0')
		user->module_dir = pushcore_pstrdup(user->pool, module_dir);
	added = add_numbered(user, PUSHCORE_SETTING_DRIVER, get, tried, context);

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
