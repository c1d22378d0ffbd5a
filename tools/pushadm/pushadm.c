/* pushadm [-c dovecot.conf] [-f FORMAT] [-D] [-P] NOUN VERB [ARGS]:
   global options, command lookup and help. */
#include "pushadm.h"
#include "pushcore.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each noun's commands, from its own file. */
extern const struct pushadm_cmd *const pushadm_cmds_driver[];
extern const struct pushadm_cmd *const pushadm_cmds_spool[];
extern const struct pushadm_cmd *const pushadm_cmds_config[];
extern const struct pushadm_cmd *const pushadm_cmds_convert[];
extern const struct pushadm_cmd *const pushadm_cmds_event[];
extern const struct pushadm_cmd *const pushadm_cmds_lua[];
extern const struct pushadm_cmd *const pushadm_cmds_relay[];
extern const struct pushadm_cmd *const pushadm_cmds_verify[];

static const struct pushadm_cmd *const *const cmd_tables[] = {
	pushadm_cmds_config,
	pushadm_cmds_convert,
	pushadm_cmds_driver,
	pushadm_cmds_event,
	pushadm_cmds_lua,
	pushadm_cmds_relay,
	pushadm_cmds_spool,
	pushadm_cmds_verify,
	NULL
};

bool pushadm_log_quiet = false;
static bool log_debug = false;

/* libpushcore's lines on stderr: errors and warnings, debug with -D */
static void pushadm_log(enum pushcore_log_level level,
			void *host_ctx __attribute__((unused)), const char *line)
{
	static const char *const prefixes[] = {
		"Debug", "Debug", "Info", "Warning", "Error"
	};

	if ((level <= PUSHCORE_LOG_DLOG || pushadm_log_quiet) && !log_debug)
		return;
	fprintf(stderr, "%s: %s\n", prefixes[level], line);
}

static const struct {
	const char *name;
	enum pushadm_format format;
} formats[] = {
	{ "table", PUSHADM_FORMAT_TABLE }, { "flow", PUSHADM_FORMAT_FLOW },
	{ "json", PUSHADM_FORMAT_JSON }, { "tab", PUSHADM_FORMAT_TAB },
	{ "pager", PUSHADM_FORMAT_PAGER },
};

static void usage_all(FILE *out)
{
	const struct pushadm_cmd *const *const *table;
	const struct pushadm_cmd *const *cmd;

	fprintf(out, "usage: pushadm [-c dovecot.conf] [-f table|flow|json|tab|pager] "
		"[-D] [-P] <command> [args]\n\ncommands:\n");
	for (table = cmd_tables; *table != NULL; table++) {
		for (cmd = *table; *cmd != NULL; cmd++)
			fprintf(out, "  %-14s %s\n", (*cmd)->name, (*cmd)->usage);
	}
	fprintf(out, "  %-14s %s\n", "help", "[COMMAND]");
}

/* Finds the command whose (possibly multi-word) name starts argv. */
static const struct pushadm_cmd *cmd_find(int argc, char *argv[], int *words_r)
{
	const struct pushadm_cmd *const *const *table;
	const struct pushadm_cmd *const *cmd;
	char name[128];
	int words;

	for (words = argc < 3 ? argc : 3; words > 0; words--) {
		name[0] = '\0';
		for (int i = 0; i < words; i++) {
			if (strlen(name) + strlen(argv[i]) + 2 > sizeof(name))
				return NULL;
			if (i > 0)
				strcat(name, " ");
			strcat(name, argv[i]);
		}
		for (table = cmd_tables; *table != NULL; table++) {
			for (cmd = *table; *cmd != NULL; cmd++) {
				if (strcmp((*cmd)->name, name) == 0) {
					*words_r = words;
					return *cmd;
				}
			}
		}
	}
	return NULL;
}

static int cmd_help(int argc, char *argv[])
{
	const struct pushadm_cmd *cmd;
	int words;

	if (argc == 0) {
		usage_all(stdout);
		return PUSHADM_EXIT_OK;
	}
	cmd = cmd_find(argc, argv, &words);
	if (cmd == NULL) {
		fprintf(stderr, "pushadm: Unknown command '%s'\n", argv[0]);
		return PUSHADM_EXIT_USAGE;
	}
	printf("usage: pushadm %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->help);
	return PUSHADM_EXIT_OK;
}

static bool parse_format(const char *name, enum pushadm_format *format_r)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (strcmp(formats[i].name, name) == 0) {
			*format_r = formats[i].format;
			return true;
		}
	}
	return false;
}

int main(int argc, char *argv[])
{
	struct pushadm_ctx ctx = { .format = PUSHADM_FORMAT_DEFAULT };
	const struct pushadm_cmd *cmd;
	int c, words, ret;

	/* a Redis or TLS peer that hangs up must fail a send, not end us */
	signal(SIGPIPE, SIG_IGN);
	/* '+': options after the command name belong to the command */
	while ((c = getopt(argc, argv, "+c:f:DP")) != -1) {
		switch (c) {
		case 'c': ctx.config_path = optarg; break;
		case 'D': ctx.debug = true; break;
		case 'P': ctx.show_secrets = true; break;
		case 'f':
			if (!parse_format(optarg, &ctx.format)) {
				fprintf(stderr, "pushadm: Unknown formatter '%s' "
					"(use table, flow, json, tab or pager)\n", optarg);
				return PUSHADM_EXIT_USAGE;
			}
			break;
		default:
			usage_all(stderr);
			return PUSHADM_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage_all(stderr);
		return PUSHADM_EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0)
		return cmd_help(argc - 1, argv + 1);
	cmd = cmd_find(argc, argv, &words);
	if (cmd == NULL) {
		fprintf(stderr, "pushadm: Unknown command '%s'\n", argv[0]);
		usage_all(stderr);
		return PUSHADM_EXIT_USAGE;
	}
	log_debug = ctx.debug;
	pushcore_log_set_handler(pushadm_log);
	pushcore_drivers_init();
	/* getopt restarts for the command's own options */
	optind = 1;
	ret = cmd->run(&ctx, argc - words + 1, argv + words - 1);
	free(ctx.doveconf_error);
	pushcore_http_deinit();
	pushcore_drivers_deinit();
	return ret;
}
