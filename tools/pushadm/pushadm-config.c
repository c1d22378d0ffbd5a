/* Dovecot's configuration as pushadm needs it: the push_notification_*
   plugin settings (with a user's userdb overrides) and mail_plugins. */
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
		if (strncmp(line, "push_notification", 17) != 0 ||
		    (sp = strpbrk(line, " \t")) == NULL)
			continue;
		*sp++ = '\0';
		pushadm_config_set(cfg, line, sp + strspn(sp, " \t"));
	}
	free(out);
	return 0;
}

int pushadm_config_load(struct pushadm_ctx *ctx, const char *user,
			struct pushadm_config *cfg)
{
	const char *args[] = { "-P", "plugin", NULL };
	char *out;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->pool = pushcore_pool_new();
	if ((out = pushadm_doveconf_run(ctx, args)) == NULL) {
		fprintf(stderr, "pushadm: doveconf%s%s failed: is Dovecot's "
			"configuration valid?\n", ctx->config_path == NULL ? "" : " -c ",
			ctx->config_path == NULL ? "" : ctx->config_path);
		return PUSHADM_EXIT_CONFIG;
	}
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

/* The driver settings in the order the plugin reads them. */
unsigned int pushadm_config_drivers(const struct pushadm_config *cfg,
				    const char **names, const char **specs,
				    unsigned int max)
{
	const char *value;
	unsigned int n = 0;
	char name[64];

	for (unsigned int i = 1; n < max; i++) {
		if (i == 1)
			snprintf(name, sizeof(name), "push_notification_driver");
		else
			snprintf(name, sizeof(name), "push_notification_driver%u", i);
		if ((value = pushadm_config_get(cfg, name)) == NULL)
			break;
		names[n] = pushcore_pstrdup(cfg->pool, name);
		specs[n++] = value;
	}
	return n;
}
