/* pushadm [-c dovecot.conf] [-f FORMAT] [-D] [-P] NOUN VERB [ARGS]:
   global options, command lookup and help. */
#include "config.h"
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
extern const struct pushadm_cmd *const pushadm_cmds_webhook[];

static const struct pushadm_cmd *const *const cmd_tables[] = {
	pushadm_cmds_config,
	pushadm_cmds_convert,
	pushadm_cmds_driver,
	pushadm_cmds_event,
	pushadm_cmds_lua,
	pushadm_cmds_relay,
	pushadm_cmds_spool,
	pushadm_cmds_webhook,
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
		"[-D] [-P] <command> [args]\n"
		"       pushadm --help | --version | help COMMAND\n\ncommands:\n");
	for (table = cmd_tables; *table != NULL; table++) {
		for (cmd = *table; *cmd != NULL; cmd++) {
			if ((*cmd)->alias_of == NULL)
				fprintf(out, "  %-14s %s\n", (*cmd)->name, (*cmd)->usage);
		}
	}
	fprintf(out, "  %-14s %s\n", "help", "[COMMAND]");
}

static void cmd_print_help(const struct pushadm_cmd *cmd)
{
	printf("usage: pushadm %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->help);
	if (cmd->alias_of != NULL)
		printf("\n'%s' is the older name of 'pushadm %s'.\n",
		       cmd->name, cmd->alias_of);
}

/* help NOUN: the noun's commands, with their help; false if none */
static bool help_noun(const char *noun)
{
	const struct pushadm_cmd *const *const *table;
	const struct pushadm_cmd *const *cmd;
	size_t len = strlen(noun);
	unsigned int found = 0;

	for (table = cmd_tables; *table != NULL; table++) {
		for (cmd = *table; *cmd != NULL; cmd++) {
			if (strncmp((*cmd)->name, noun, len) != 0 ||
			    (*cmd)->name[len] != ' ' || (*cmd)->alias_of != NULL)
				continue;
			if (found++ > 0)
				putchar('\n');
			cmd_print_help(*cmd);
		}
	}
	return found > 0;
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
	if (argc == 1 && strcmp(argv[0], "help") == 0) {
		printf("usage: pushadm help [COMMAND]\n\nLists the commands, or "
		       "shows a command's options (a noun alone: all of its "
		       "commands).\n");
		return PUSHADM_EXIT_OK;
	}
	cmd = cmd_find(argc, argv, &words);
	if (cmd == NULL || words != argc) {
		if (argc == 1 && help_noun(argv[0]))
			return PUSHADM_EXIT_OK;
		fprintf(stderr, "pushadm: Unknown command '");
		for (int i = 0; i < argc; i++)
			fprintf(stderr, "%s%s", i == 0 ? "" : " ", argv[i]);
		fprintf(stderr, "' (pushadm help lists the commands)\n");
		return PUSHADM_EXIT_USAGE;
	}
	cmd_print_help(cmd);
	return PUSHADM_EXIT_OK;
}

static void print_version(void)
{
	printf("pushadm (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
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

static const struct option global_long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

int main(int argc, char *argv[])
{
	struct pushadm_ctx ctx = { .format = PUSHADM_FORMAT_DEFAULT };
	const struct pushadm_cmd *cmd;
	int c, words, ret;

	/* a Redis or TLS peer that hangs up must fail a send, not end us */
	signal(SIGPIPE, SIG_IGN);
	/* getopt's own complaints are replaced by ours, which name the
	   command as the administrator typed it */
	opterr = 0;
	/* '+': options after the command name belong to the command */
	while ((c = getopt_long(argc, argv, "+c:f:DPh", global_long_options,
				NULL)) != -1) {
		switch (c) {
		case 'h':
			usage_all(stdout);
			return PUSHADM_EXIT_OK;
		case 'V':
			print_version();
			return PUSHADM_EXIT_OK;
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
			if (optopt == 'c' || optopt == 'f')
				fprintf(stderr, "pushadm: -%c needs a value\n", optopt);
			else if (optopt != 0)
				fprintf(stderr, "pushadm: Unknown option -%c\n", optopt);
			else
				fprintf(stderr, "pushadm: Unknown option %s\n",
					argv[optind - 1]);
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
	/* pushadm NOUN VERB --help: that command's help */
	if (argc > words && (strcmp(argv[words], "--help") == 0 ||
			     strcmp(argv[words], "-h") == 0)) {
		cmd_print_help(cmd);
		return PUSHADM_EXIT_OK;
	}
	log_debug = ctx.debug;
	pushcore_log_set_handler(pushadm_log);
	pushcore_drivers_init();
	/* getopt restarts for the command's own options, and says what it
	   does not know itself */
	optind = 1;
	opterr = 1;
	ret = cmd->run(&ctx, argc - words + 1, argv + words - 1);
	pushadm_ctx_deinit(&ctx);
	pushcore_http_deinit();
	pushcore_drivers_deinit();
	return ret;
}
