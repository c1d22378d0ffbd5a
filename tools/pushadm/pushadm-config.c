/* Dovecot's configuration as pushadm needs it: the push notification
   settings (with a user's userdb overrides), from Dovecot 2.3's plugin {}
   or from Dovecot 2.4's push_notify_* settings and push_notify blocks. */
#include "pushadm.h"
#include "pushcore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses "  key = value" lines of `doveconf -P plugin` output. */
static void parse_plugin_section(struct pushadm_config *cfg, char *out)
{
	char *line, *save = NULL, *eq, *key, *value;

	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if ((eq = strstr(line, " = ")) == NULL)
			continue;
		*eq = '\0';
		key = line + strspn(line, " \t");
		value = eq + 3;
		pushadm_config_set(cfg, key, value);
	}
}

void pushadm_config_set(struct pushadm_config *cfg, const char *key,
			const char *value)
{
	unsigned int i;

	for (i = 0; i < cfg->count; i++) {
		if (strcmp(cfg->keys[i], key) == 0) {
			cfg->values[i] = pushcore_pstrdup(cfg->pool, value);
			return;
		}
	}
	if (cfg->count == PUSHADM_CONFIG_MAX)
		return;
	cfg->keys[cfg->count] = pushcore_pstrdup(cfg->pool, key);
	cfg->values[cfg->count++] = pushcore_pstrdup(cfg->pool, value);
}

const char *pushadm_config_get(const struct pushadm_config *cfg, const char *key)
{
	unsigned int i;

	for (i = 0; i < cfg->count; i++) {
		if (strcmp(cfg->keys[i], key) == 0)
			return cfg->values[i][0] == '\0' ? NULL : cfg->values[i];
	}
	return NULL;
}

/* Dovecot 2.4's names of the global settings, and the 2.3 names pushadm
   keeps them under. */
static const char *const settings24[][2] = {
	{ "push_notify_max_delay", "push_notification_max_delay" },
	{ "push_notify_spool_dir", "push_notification_spool_dir" },
	{ "push_notify_spool_only", "push_notification_spool_only" },
	{ "push_notify_relay_socket", "push_notification_relay_socket" },
	{ "push_notify_relay_timeout", "push_notification_relay_timeout" },
};

static const char *name23(const char *key)
{
	for (size_t i = 0; i < sizeof(settings24) / sizeof(settings24[0]); i++) {
		if (strcmp(key, settings24[i][0]) == 0)
			return settings24[i][1];
	}
	return key;
}

/* doveconf quotes a value only when it has to */
static char *unquote(char *value)
{
	size_t len = strlen(value);
	char *src, *dst;

	if (len < 2 || value[0] != '"' || value[len - 1] != '"')
		return value;
	value[len - 1] = '\0';
	for (src = dst = value + 1; *src != '\0'; src++) {
		if (*src == '\\' && src[1] != '\0')
			src++;
		*dst++ = *src;
	}
	*dst = '\0';
	return value + 1;
}

/* One option line of a push_notify block, as the plugin reads it: a yes
   bool is a flag, a no bool is nothing, a header { Name = Value } entry is
   header=Name:Value. */
static void block_option(struct pushcore_pool *pool, struct pushcore_spec *spec,
			 const char **driver, bool in_header, const char *key,
			 const char *value)
{
	if (in_header)
		pushcore_spec_add(pool, spec, "header",
				  pushcore_psprintf(pool, "%s:%s", key, value));
	else if (strcmp(key, "driver") == 0)
		*driver = pushcore_pstrdup(pool, value);
	else if (strcmp(value, "yes") == 0)
		pushcore_spec_add(pool, spec, key, "");
	else if (strcmp(value, "no") != 0 && value[0] != '\0')
		pushcore_spec_add(pool, spec, key, value);
}

/* A finished block: its driver (a name, or a whole 2.3 spec) and options. */
static void block_end(struct pushadm_config *cfg, const char *name,
		      const char *driver, const struct pushcore_spec *options)
{
	struct pushadm_driver *d;
	unsigned int i;

	if (cfg->block_count == PUSHADM_DRIVERS_MAX)
		return;
	d = &cfg->blocks[cfg->block_count++];
	pushadm_driver_parse(cfg->pool, d, name, driver == NULL ? name : driver);
	if (d->spec == NULL)
		return;
	for (i = 0; i < options->count; i++) {
		pushcore_spec_add(cfg->pool, (struct pushcore_spec *)d->spec,
				  options->options[i].key, options->options[i].value);
	}
}

/* `doveconf -P` of Dovecot 2.4: top-level push_notify_* settings and
   "push_notify NAME {" blocks; everything else is skipped. */
static void parse_dovecot24(struct pushadm_config *cfg, char *out)
{
	char *line, *save = NULL, *eq, *key, *name = NULL;
	struct pushcore_spec *options = NULL;
	const char *driver = NULL;
	unsigned int depth = 0;
	bool in_header = false;

	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		key = line + strspn(line, " \t");
		if (strcmp(key, "}") == 0) {
			if (depth > 0 && --depth == 0 && name != NULL) {
				block_end(cfg, name, driver, options);
				name = NULL;
			}
			in_header = false;
			continue;
		}
		if (key[0] != '\0' && key[strlen(key) - 1] == '{') {
			if (depth++ == 0 && strncmp(key, "push_notify ", 12) == 0) {
				name = pushcore_pstrndup(cfg->pool, key + 12,
							 strlen(key) - 14);
				options = pushcore_spec_new(cfg->pool, "-");
				driver = NULL;
			}
			in_header = depth == 2 && name != NULL &&
				strcmp(key, "header {") == 0;
			continue;
		}
		if ((eq = strstr(key, " = ")) == NULL)
			continue;
		*eq = '\0';
		if (depth == 0 && strncmp(key, "push_notify_", 12) == 0)
			pushadm_config_set(cfg, name23(key), unquote(eq + 3));
		else if (name != NULL && (depth == 1 || in_header))
			block_option(cfg->pool, options, &driver, in_header, key,
				     unquote(eq + 3));
	}
}

/* userdb extra fields override plugin settings of the same name */
static int overlay_user(struct pushadm_ctx *ctx, struct pushadm_config *cfg,
			const char *user)
{
	/* "field<TAB>value" lines (doveadm's default formatter) */
	const char *args[] = { "user", user, NULL };
	int status;
	char *out = pushadm_doveadm_run(ctx, args, &status), *line, *save = NULL, *sp;

	if (status == 67) {
		free(out);
		fprintf(stderr, "pushadm: user %s doesn't exist (doveadm user)\n", user);
		return PUSHADM_EXIT_NOUSER;
	}
	if (out == NULL || status != 0) {
		free(out);
		fprintf(stderr, "pushadm: userdb lookup of %s failed (doveadm user "
			"exited %d): is Dovecot running?\n", user, status);
		return PUSHADM_EXIT_TEMPFAIL;
	}
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "push_notif", 10) != 0 ||
		    (sp = strpbrk(line, " \t")) == NULL)
			continue;
		*sp++ = '\0';
		pushadm_config_set(cfg, name23(line), sp + strspn(sp, " \t"));
	}
	free(out);
	return 0;
}

int pushadm_config_load(struct pushadm_ctx *ctx, const char *user,
			struct pushadm_config *cfg)
{
	const char *args23[] = { "-P", "plugin", NULL }, *args24[] = { "-P", NULL };
	char *out;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->pool = pushcore_pool_new();
	cfg->dovecot24 = pushadm_doveconf_is_24(ctx);
	if ((out = pushadm_doveconf_run(ctx, cfg->dovecot24 ? args24 : args23)) == NULL) {
		fprintf(stderr, "pushadm: doveconf%s%s failed: is Dovecot's "
			"configuration valid?\n", ctx->config_path == NULL ? "" : " -c ",
			ctx->config_path == NULL ? "" : ctx->config_path);
		return PUSHADM_EXIT_CONFIG;
	}
	if (cfg->dovecot24)
		parse_dovecot24(cfg, out);
	else
		parse_plugin_section(cfg, out);
	free(out);
	if (user != NULL && (ret = overlay_user(ctx, cfg, user)) != 0)
		return ret;
	return 0;
}

void pushadm_config_free(struct pushadm_config *cfg)
{
	pushcore_pool_free(&cfg->pool);
}

void pushadm_driver_parse(struct pushcore_pool *pool, struct pushadm_driver *driver,
			  const char *name, const char *spec_str)
{
	const char *error;

	driver->name = pushcore_pstrdup(pool, name);
	driver->spec = pushcore_spec_parse(pool, spec_str, &error);
	driver->error = driver->spec != NULL ? NULL :
		pushcore_psprintf(pool, "%s: %s", name, error);
}

int pushadm_driver_add(struct pushcore_user *puser,
		       const struct pushadm_driver *driver, const char **error_r)
{
	if (driver->spec == NULL) {
		*error_r = driver->error;
		return -1;
	}
	return pushcore_user_add_driver_spec(puser, driver->name, driver->spec,
					     error_r);
}

/* 2.3: push_notification_driver, _driver2, ... up to the first gap;
   2.4: the push_notify blocks in the order of the configuration. */
unsigned int pushadm_config_drivers(struct pushadm_config *cfg,
				    struct pushadm_driver *drivers,
				    unsigned int max)
{
	const char *value;
	unsigned int n = 0;
	char name[64];

	if (cfg->dovecot24) {
		for (n = 0; n < cfg->block_count && n < max; n++)
			drivers[n] = cfg->blocks[n];
		return n;
	}
	for (unsigned int i = 1; n < max; i++) {
		if (i == 1)
			snprintf(name, sizeof(name), "push_notification_driver");
		else
			snprintf(name, sizeof(name), "push_notification_driver%u", i);
		if ((value = pushadm_config_get(cfg, name)) == NULL)
			break;
		pushadm_driver_parse(cfg->pool, &drivers[n++], name, value);
	}
	return n;
}
