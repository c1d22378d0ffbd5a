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

static void check_drivers(struct check *c, struct pushadm_config *cfg)
{
	struct pushadm_driver drivers[PUSHADM_DRIVERS_MAX];
	struct pushcore_user *puser = pushadm_user_new(c->pool, "config-check");
	unsigned int i, n = pushadm_config_drivers(cfg, drivers, PUSHADM_DRIVERS_MAX);
	const char *error;
	char later[64];

	if (n == 0)
		problem(c, cfg->dovecot24 ? "no push_notify block is configured: "
			"nothing is sent" : "no push_notification_driver is set: "
			"nothing is sent");
	for (i = 0; i < n; i++) {
		if (pushadm_driver_add(puser, &drivers[i], &error) < 0)
			problem(c, "%s", error);
	}
	/* the plugin stops at the first gap, as the reference does */
	for (i = n + 2; !cfg->dovecot24 && i < n + 10; i++) {
		snprintf(later, sizeof(later), "push_notification_driver%u", i);
		if (pushadm_config_get(cfg, later) != NULL)
			problem(c, "%s is ignored: push_notification_driver%u is not set "
				"(the list ends at the first gap)", later, n + 1);
	}
	pushcore_user_free(&puser);
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
	check_drivers(&c, &cfg);
	check_spool(&c, &cfg);
	if (c.problems == 0)
		printf("ok: no problems found\n");
	pushadm_config_free(&cfg);
	return c.problems == 0 ? PUSHADM_EXIT_OK : PUSHADM_EXIT_CONFIG;
}

static const struct pushadm_cmd config_check = {
	"config check", "",
	"Checks the push notification setup in Dovecot's configuration and\n"
	"prints one line per problem: push_notify or notify missing from the\n"
	"lmtp or lda mail_plugins, Dovecot's own push_notification loaded too,\n"
	"an unknown driver, a bad option, a missing secret, token or script\n"
	"file, a gap in the numbered driver settings, a missing spool. Exits 78\n"
	"(EX_CONFIG) if there is any.",
	PUSHADM_FORMAT_FLOW, cmd_config_check
};

const struct pushadm_cmd *const pushadm_cmds_config[] = {
	&config_check, NULL
};
