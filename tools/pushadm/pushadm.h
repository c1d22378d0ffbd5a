#ifndef PUSHADM_H
#define PUSHADM_H

/* pushadm: the doveadm-style admin command, built on libpushcore only.
   Every noun lives in its own file (pushadm-<noun>.c) and exports a
   NULL-terminated table of commands; pushadm.c parses the global options,
   finds the command and runs it. */

#include <stdbool.h>
#include <sysexits.h>

/* Exit codes as doveadm uses them (sysexits.h). */
#define PUSHADM_EXIT_OK 0
#define PUSHADM_EXIT_USAGE EX_USAGE		/* 64 */
#define PUSHADM_EXIT_DATAERR EX_DATAERR		/* 65 */
#define PUSHADM_EXIT_NOINPUT EX_NOINPUT		/* 66 */
#define PUSHADM_EXIT_NOUSER EX_NOUSER		/* 67 */
#define PUSHADM_EXIT_SOFTWARE EX_SOFTWARE	/* 70 */
#define PUSHADM_EXIT_TEMPFAIL EX_TEMPFAIL	/* 75 */
#define PUSHADM_EXIT_NOPERM EX_NOPERM		/* 77 */
#define PUSHADM_EXIT_CONFIG EX_CONFIG		/* 78 */

enum pushadm_format {
	PUSHADM_FORMAT_DEFAULT,	/* the command's own default */
	PUSHADM_FORMAT_TABLE,
	PUSHADM_FORMAT_FLOW,
	PUSHADM_FORMAT_JSON,
	PUSHADM_FORMAT_TAB,
	PUSHADM_FORMAT_PAGER,
};

struct pushadm_ctx {
	const char *config_path;	/* -c, NULL: doveconf's default */
	enum pushadm_format format;	/* -f */
	bool debug;			/* -D */
	bool show_secrets;		/* -P */
};

struct pushadm_cmd {
	const char *name;		/* "spool run" */
	const char *usage;		/* "[--once]" */
	const char *help;		/* one line */
	enum pushadm_format default_format;
	/* argv[0] is the command name; getopt-style parsing from there.
	   Returns an exit code. */
	int (*run)(struct pushadm_ctx *ctx, int argc, char *argv[]);
};

/* Formatter: one code path prints every -f format. Declare the columns,
   add values row by row, then flush. */
void pushadm_print_init(struct pushadm_ctx *ctx, enum pushadm_format def);
void pushadm_print_header(const char *key, const char *title);
void pushadm_print(const char *value);	/* next column of the current row */
void pushadm_print_flush(void);

/* A setting of Dovecot's effective configuration (doveconf -h KEY, e.g.
   "plugin/push_notification_spool_dir"); malloc()ed, "" if unset, NULL if
   doveconf failed. */
char *pushadm_doveconf_get(struct pushadm_ctx *ctx, const char *key);

#endif
