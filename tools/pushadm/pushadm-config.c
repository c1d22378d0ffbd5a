/* Dovecot's configuration as pushadm needs it: the push notification
   settings (with a user's userdb overrides), from Dovecot 2.3's plugin {}
   or from Dovecot 2.4's push_notify_* settings and push_notify blocks. */
#include "pushadm.h"
#include "pushadm-userdb.h"
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
	{ "push_notify_module_dir", "push_notification_module_dir" },
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

static void block_add(struct pushadm_config *cfg, struct pushadm_block *b,
		      const char *key, const char *value)
{
	key = pushcore_settings_block_key(cfg->pool, b->name, key);
	if (strcmp(key, "driver") == 0) {
		b->driver = pushcore_pstrdup(cfg->pool, value);
		return;
	}
	if (b->count == PUSHADM_BLOCK_OPTIONS_MAX) {
		b->unreadable = pushcore_pstrdup(cfg->pool, key);
		return;
	}
	b->keys[b->count] = pushcore_pstrdup(cfg->pool, key);
	b->values[b->count++] = pushcore_pstrdup(cfg->pool, value);
}

/* "push_notify NAME {" or "push_notification NAME {": the block to fill
   (NULL for any other section). */
static struct pushadm_block *block_start(struct pushadm_config *cfg,
					 const char *line)
{
	size_t len = strlen(line);
	struct pushadm_block *b;
	unsigned int *count;
	const char *name;

	if (strncmp(line, "push_notify ", 12) == 0) {
		name = line + 12;
		b = cfg->blocks;
		count = &cfg->block_count;
	} else if (strncmp(line, "push_notification ", 18) == 0) {
		name = line + 18;
		b = cfg->dovecot_blocks;
		count = &cfg->dovecot_block_count;
	} else {
		return NULL;
	}
	if (*count == PUSHADM_DRIVERS_MAX)
		return NULL;
	b += (*count)++;
	memset(b, 0, sizeof(*b));
	b->name = pushcore_pstrndup(cfg->pool, name, len - (size_t)(name - line) - 2);
	return b;
}

static void dovecot_setting(struct pushadm_config *cfg, const char *key,
			    const char *value)
{
	if (value[0] != '\0' && cfg->dovecot_setting_count < 16) {
		cfg->dovecot_settings[cfg->dovecot_setting_count++] =
			pushcore_psprintf(cfg->pool, "%s = %s", key, value);
	}
}

/* `doveconf -P` of Dovecot 2.4: top-level push_notify_* settings and the
   push_notify / push_notification blocks; everything else is skipped. */
static void parse_dovecot24(struct pushadm_config *cfg, char *out)
{
	char *line, *save = NULL, *eq, *key;
	const char *list = NULL;
	struct pushadm_block *block = NULL;
	unsigned int depth = 0;

	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		key = line + strspn(line, " \t");
		if (strcmp(key, "}") == 0) {
			if (depth > 0 && --depth == 0)
				block = NULL;
			list = NULL;
			continue;
		}
		if (key[0] != '\0' && key[strlen(key) - 1] == '{') {
			if (depth++ == 0)
				block = block_start(cfg, key);
			else if (block != NULL && depth == 2) {
				/* header { }, lua_settings { }: name:value
				   entries; anything else can't be read */
				key[strcspn(key, " ")] = '\0';
				list = pushcore_settings_block_key(cfg->pool,
								block->name, key);
				if (strcmp(list, "header") != 0 &&
				    strcmp(list, "lua_settings") != 0 &&
				    block->unreadable == NULL)
					block->unreadable = pushcore_pstrdup(cfg->pool, list);
			}
			continue;
		}
		if ((eq = strstr(key, " = ")) == NULL)
			continue;
		*eq = '\0';
		if (depth == 0 && strncmp(key, "push_notify_", 12) == 0)
			pushadm_config_set(cfg, name23(key), unquote(eq + 3));
		else if (depth == 0 && strncmp(key, "push_notification_", 18) == 0)
			dovecot_setting(cfg, key, unquote(eq + 3));
		else if (block != NULL && depth == 1)
			block_add(cfg, block, key, unquote(eq + 3));
		else if (block != NULL && depth == 2 && list != NULL &&
			 (strcmp(list, "header") == 0 || strcmp(list, "lua_settings") == 0))
			block_add(cfg, block, list, pushcore_psprintf(cfg->pool,
				  "%s:%s", key, unquote(eq + 3)));
	}
}

struct pushadm_userdb *pushadm_ctx_userdb(struct pushadm_ctx *ctx)
{
	char *base_dir, *path;

	if (ctx->userdb_tried)
		return ctx->userdb;
	ctx->userdb_tried = true;
	if ((base_dir = pushadm_doveconf_get(ctx, "base_dir")) == NULL ||
	    base_dir[0] != '/') {
		free(base_dir);
		return NULL;
	}
	path = pushcore_xmalloc(strlen(base_dir) + sizeof("/auth-userdb"));
	sprintf(path, "%s/auth-userdb", base_dir);
	ctx->userdb = pushadm_userdb_new(path);
	free(path);
	free(base_dir);
	return ctx->userdb;
}

void pushadm_ctx_deinit(struct pushadm_ctx *ctx)
{
	pushadm_userdb_free(&ctx->userdb);
	pushadm_users_free(&ctx->users);
	free(ctx->config_cache);
	ctx->config_cache = NULL;
	free(ctx->doveconf_error);
	ctx->doveconf_error = NULL;
}

/* userdb extra fields override plugin settings of the same name */
static int overlay_user(struct pushadm_ctx *ctx, struct pushadm_config *cfg,
			const char *user)
{
	const struct pushadm_user_info *info = pushadm_user_lookup(ctx, user);
	unsigned int i;

	if (info->ret == 0) {
		fprintf(stderr, "pushadm: user %s doesn't exist (%s)\n", user,
			info->source);
		return PUSHADM_EXIT_NOUSER;
	}
	if (info->ret < 0) {
		fprintf(stderr, "pushadm: userdb lookup of %s failed (doveadm user "
			"exited %d): is Dovecot running?\n", user,
			info->doveadm_status);
		return PUSHADM_EXIT_TEMPFAIL;
	}
	for (i = 0; i < info->reply.count; i++) {
		if (strncmp(info->reply.keys[i], "push_notif", 10) == 0)
			pushadm_config_set(cfg, name23(info->reply.keys[i]),
					   info->reply.values[i]);
	}
	return 0;
}

/* doveconf's own lines, credentials hidden, each indented under ours */
static void print_doveconf_error(struct pushadm_ctx *ctx, struct pushcore_pool *pool)
{
	char *text = ctx->doveconf_error, *line, *save = NULL;

	if (text == NULL)
		return;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		fprintf(stderr, "  %s\n", ctx->show_secrets ? line :
			pushcore_redact(pool, line));
	}
}

/* A Dovecot 2.3 file met by Dovecot 2.4 (left behind by a distribution
   upgrade): doveconf names it; so do we, with the fix. */
static void explain_23_file(struct pushadm_ctx *ctx, const char *error)
{
	static const char *const markers[] = {
		"Unknown section name: plugin",
		"Unknown setting: push_notification_",
		"Unknown setting: mail_location",
	};
	const char *p = strstr(error, "Error in configuration file "), *end;
	bool is23 = false;
	char *file;

	for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
		is23 = is23 || strstr(error, markers[i]) != NULL;
	if (!is23 || p == NULL)
		return;
	p += strlen("Error in configuration file ");
	if ((end = strstr(p, " line ")) == NULL)
		return;
	file = strndup(p, (size_t)(end - p));
	fprintf(stderr, "pushadm: %s is in Dovecot 2.3 syntax, which this Dovecot "
		"(2.4) does not read. Its push notification settings in the 2.4 "
		"form: pushadm -P config convert --from-2.3 %s\n", file, file);
	if (!pushadm_plugin_installed(ctx))
		fprintf(stderr, "pushadm: push_notify is not installed for this "
			"Dovecot: " PUSHADM_NOTIFICATIONS_OFF "\n");
	free(file);
}

static int doveconf_failed(struct pushadm_ctx *ctx, struct pushadm_config *cfg)
{
	char timed_out[64];

	snprintf(timed_out, sizeof(timed_out), "it did not answer within %d "
		 "seconds and was stopped", PUSHADM_CHILD_TIMEOUT_SECS);
	fprintf(stderr, "pushadm: doveconf%s%s failed: %s\n",
		ctx->config_path == NULL ? "" : " -c ",
		ctx->config_path == NULL ? "" : ctx->config_path,
		ctx->doveconf_timed_out ? timed_out :
		ctx->doveconf_error == NULL ? "is Dovecot installed?" :
		"Dovecot's configuration is not valid:");
	if (!ctx->doveconf_timed_out && ctx->doveconf_error != NULL) {
		char *copy = strdup(ctx->doveconf_error);

		print_doveconf_error(ctx, cfg->pool);
		explain_23_file(ctx, copy);
		free(copy);
	}
	return PUSHADM_EXIT_CONFIG;
}

/* doveconf's output (malloc()ed), from ctx's cache while it is fresh */
static char *doveconf_output(struct pushadm_ctx *ctx, const char *const *args)
{
	time_t now = time(NULL);
	char *out;

	if (ctx->config_cache != NULL && ctx->config_cached <= now &&
	    now - ctx->config_cached < (time_t)ctx->config_cache_secs)
		return pushcore_xstrdup(ctx->config_cache);
	if ((out = pushadm_doveconf_run(ctx, args)) == NULL ||
	    ctx->config_cache_secs == 0)
		return out;
	free(ctx->config_cache);
	ctx->config_cache = pushcore_xstrdup(out);
	ctx->config_cached = now;
	return out;
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
	if ((out = doveconf_output(ctx, cfg->dovecot24 ? args24 : args23)) == NULL) {
		ret = doveconf_failed(ctx, cfg);
		pushadm_config_free(cfg);
		return ret;
	}
	if (cfg->dovecot24)
		parse_dovecot24(cfg, out);
	else
		parse_plugin_section(cfg, out);
	free(out);
	/* on failure nothing is left for the caller to free */
	if (user != NULL && (ret = overlay_user(ctx, cfg, user)) != 0) {
		pushadm_config_free(cfg);
		return ret;
	}
	return 0;
}

void pushadm_config_free(struct pushadm_config *cfg)
{
	pushcore_pool_free(&cfg->pool);
}

static const char *config_get(void *context, const char *name)
{
	return pushadm_config_get(context, name);
}

static int block_spec(void *context, const char *name,
		      const struct pushcore_spec **spec_r, const char **error_r)
{
	struct pushadm_config *cfg = context;
	const struct pushadm_block *b = NULL;

	for (unsigned int i = 0; i < cfg->block_count && b == NULL; i++) {
		if (strcmp(cfg->blocks[i].name, name) == 0)
			b = &cfg->blocks[i];
	}
	*spec_r = pushcore_settings_block_spec(cfg->pool, b->name, b->driver,
					       b->keys, b->values, b->count,
					       error_r);
	return *spec_r == NULL ? -1 : 0;
}

struct start_ctx {
	struct pushadm_config *cfg;
	pushcore_driver_tried_t *tried;
	void *context;
};

static const char *start_get(void *context, const char *name)
{
	return config_get(((struct start_ctx *)context)->cfg, name);
}

static int start_block_spec(void *context, const char *name,
			    const struct pushcore_spec **spec_r, const char **error_r)
{
	return block_spec(((struct start_ctx *)context)->cfg, name, spec_r, error_r);
}

static void start_tried(void *context, const char *name,
			const struct pushcore_spec *spec, const char *error)
{
	struct start_ctx *ctx = context;

	if (ctx->tried != NULL)
		ctx->tried(ctx->context, name, spec, error);
}

unsigned int pushadm_config_start_drivers(struct pushadm_config *cfg,
					  struct pushcore_user *puser,
					  pushcore_driver_tried_t *tried,
					  void *context)
{
	struct start_ctx ctx = { cfg, tried, context };
	const char *names[PUSHADM_DRIVERS_MAX];
	unsigned int i;

	/* 2.3: pushcore_settings_add_drivers() reads it, as in the plugin */
	if (cfg->dovecot24)
		pushcore_user_set_module_dir(puser,
			pushadm_config_get(cfg, PUSHCORE_SETTING_MODULE_DIR));
	if (!cfg->dovecot24)
		return pushcore_settings_add_drivers(puser, start_get, start_tried, &ctx);
	for (i = 0; i < cfg->block_count; i++)
		names[i] = cfg->blocks[i].name;
	return pushcore_settings_add_blocks(puser, names, cfg->block_count,
					    start_block_spec, start_tried, &ctx);
}

int pushadm_driver_add_spec(struct pushcore_user *puser, const char *name,
			    const char *spec_str, const char **error_r)
{
	return pushcore_user_add_driver(puser, name, spec_str, error_r);
}
