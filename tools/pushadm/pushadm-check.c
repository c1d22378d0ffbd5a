/* pushadm config check: every problem of the push notification setup, one
   line each. */
#include "pushadm.h"
#include "pushcore.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct check {
	struct pushadm_ctx *ctx;
	struct pushcore_pool *pool;
	unsigned int problems;
};

static void problem(struct check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct check *c, const char *fmt, ...)
{
	struct pushcore_buf buf;
	va_list args;

	pushcore_buf_init(&buf);
	va_start(args, fmt);
	pushcore_buf_vprintf(&buf, fmt, args);
	va_end(args);
	printf("problem: %s\n", c->ctx->show_secrets ? buf.data :
	       pushcore_redact(c->pool, buf.data));
	pushcore_buf_free(&buf);
	c->problems++;
}

static bool has_word(const char *list, const char *word)
{
	size_t len = strlen(word);
	const char *p;

	for (p = list; p != NULL && (p = strstr(p, word)) != NULL; p += len) {
		if ((p == list || p[-1] == ' ') && (p[len] == '\0' || p[len] == ' '))
			return true;
	}
	return false;
}

/* 2.3 prints mail_plugins as "a b", 2.4 as "a = yes" lines: both become
   "a b" (a plugin set to no is left out). */
static void words_of(char *plugins)
{
	char *line, *save = NULL, *eq, *out = plugins;

	for (line = strtok_r(plugins, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if ((eq = strstr(line, " = ")) != NULL) {
			if (strcmp(eq + 3, "yes") != 0)
				continue;
			*eq = '\0';
		}
		if (out != plugins)
			*out++ = ' ';
		memmove(out, line, strlen(line));
		out += strlen(line);
	}
	*out = '\0';
}

static void check_mail_plugins(struct check *c, const char *protocol)
{
	char filter[64], *plugins;
	const char *args[] = { "-f", filter, "-h", "mail_plugins", NULL };

	snprintf(filter, sizeof(filter), "protocol=%s", protocol);
	if ((plugins = pushadm_doveconf_run(c->ctx, args)) == NULL) {
		problem(c, "doveconf failed to show mail_plugins for protocol %s", protocol);
		return;
	}
	words_of(plugins);
	if (!has_word(plugins, "push_notify"))
		problem(c, "push_notify is not in mail_plugins for %s: %s deliveries "
			"send no notifications", protocol, protocol);
	else if (!has_word(plugins, "notify"))
		problem(c, "notify is missing from mail_plugins for %s (push_notify "
			"needs it)", protocol);
	if (has_word(plugins, "push_notification"))
		problem(c, "Dovecot's own push_notification is in mail_plugins for %s "
			"too: push_notify then sends nothing; remove one of them", protocol);
	free(plugins);
}

static void driver_problem(void *context, const char *name __attribute__((unused)),
			   const struct pushcore_spec *spec __attribute__((unused)),
			   const char *error)
{
	if (error != NULL)
		problem(context, "%s (this and later drivers are not started)", error);
}

/* The numbered settings a delivery never reads: after the first gap, or
   a list that does not start at push_notification_driver. */
static void check_gaps(struct check *c, struct pushadm_config *cfg)
{
	const char *first_unset = NULL, *name;
	unsigned int i;

	for (i = 1; i < 20; i++) {
		name = pushcore_setting_numbered(c->pool, PUSHCORE_SETTING_DRIVER, i);
		if (pushadm_config_get(cfg, name) == NULL) {
			if (first_unset == NULL)
				first_unset = name;
		} else if (first_unset != NULL) {
			problem(c, "%s is ignored: %s is not set (the list starts at "
				"push_notification_driver and ends at the first gap)",
				name, first_unset);
		}
	}
}

static void check_drivers(struct check *c, struct pushadm_config *cfg)
{
	struct pushcore_user *puser = pushadm_user_new(c->pool, "config-check");

	if (pushadm_config_start_drivers(cfg, puser, driver_problem, c) == 0 &&
	    c->problems == 0) {
		problem(c, cfg->dovecot24 ? "no push_notify block is configured: "
			"nothing is sent" : "no push_notification_driver is set: "
			"nothing is sent");
	}
	if (!cfg->dovecot24)
		check_gaps(c, cfg);
	pushcore_user_free(&puser);
}

/* Dovecot 2.4's own push_notification blocks are for Dovecot's plugin:
   push_notify reads only push_notify blocks, so these would send nothing. */
static void check_dovecot_blocks(struct check *c, struct pushadm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->dovecot_block_count; i++) {
		problem(c, "push_notification %s { } is a block of Dovecot's own "
			"push_notification plugin: push_notify ignores it (pushadm "
			"config convert prints it as a push_notify block)",
			cfg->dovecot_blocks[i].name);
	}
	for (unsigned int i = 0; i < cfg->dovecot_setting_count; i++) {
		problem(c, "%s is a setting of Dovecot's own push_notification "
			"plugin outside a block: nothing reads it (write a push_notify "
			"block, see docs/upgrading.md)", cfg->dovecot_settings[i]);
	}
}

static void check_spool(struct check *c, const struct pushadm_config *cfg)
{
	const char *dir = pushadm_config_get(cfg, "push_notification_spool_dir");
	struct stat st;

	if (dir == NULL)
		dir = "/var/spool/dovecot-push-notify";
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		problem(c, "spool directory %s does not exist: notifications that "
			"can't be sent at once are lost (create it, see docs/spool.md)", dir);
}

/* Settings but no plugin for this Dovecot (after a distribution upgrade,
   before the matching build is installed). */
static void check_plugin_installed(struct check *c, struct pushadm_config *cfg)
{
	if (!pushadm_plugin_installed(c->ctx))
		problem(c, "push_notify is not installed for this Dovecot (%s): "
			PUSHADM_NOTIFICATIONS_OFF, cfg->dovecot24 ? "2.4" : "2.3");
}

static int cmd_config_check(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	struct pushadm_config cfg;
	struct check c = { .ctx = ctx };
	int ret;

	if (argc > 1)
		return PUSHADM_EXIT_USAGE;
	(void)argv;
	if ((ret = pushadm_config_load(ctx, NULL, &cfg)) != 0)
		return ret;
	c.pool = cfg.pool;
	check_mail_plugins(&c, "lmtp");
	check_mail_plugins(&c, "lda");
	check_plugin_installed(&c, &cfg);
	check_drivers(&c, &cfg);
	check_dovecot_blocks(&c, &cfg);
	check_spool(&c, &cfg);
	if (c.problems == 0)
		printf("ok: no problems found\n");
	pushadm_config_free(&cfg);
	return c.problems == 0 ? PUSHADM_EXIT_OK : PUSHADM_EXIT_CONFIG;
}

static const struct pushadm_cmd config_check = {
	"config check", "",
	"Checks the push notification setup in Dovecot's configuration and\n"
	"prints one line per problem: the plugin not installed for this Dovecot,\n"
	"push_notify or notify missing from the lmtp or lda mail_plugins,\n"
	"Dovecot's own push_notification loaded too or its 2.4 blocks left in\n"
	"place, an unknown driver, a bad option, a missing secret, token or\n"
	"script file (drivers start as in a delivery: the first that can't\n"
	"ends the list), a gap in the numbered driver settings, a missing\n"
	"spool. When doveconf fails: its own lines, and for a Dovecot 2.3 file\n"
	"on Dovecot 2.4 the convert command. Exits 78 (EX_CONFIG) if there is\n"
	"any.",
	PUSHADM_FORMAT_FLOW, cmd_config_check, NULL
};

const struct pushadm_cmd *const pushadm_cmds_config[] = {
	&config_check, NULL
};
