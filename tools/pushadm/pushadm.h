#ifndef PUSHADM_H
#define PUSHADM_H

/* pushadm: the doveadm-style admin command, built on libpushcore only.
   Every noun lives in its own file (pushadm-<noun>.c) and exports a
   NULL-terminated table of commands; pushadm.c parses the global options,
   finds the command and runs it. */

#include <stdbool.h>
#include <sysexits.h>
#include <time.h>

#include "pushcore-event.h"
#include "pushcore-settings.h"

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

/* doveconf and doveadm get this long to answer, then they are killed (a
   hanging auth service or config process must not hang the relay) */
#define PUSHADM_CHILD_TIMEOUT_SECS 10

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
	/* which Dovecot doveconf is: 0 not asked yet, 23 or 24 */
	int dovecot_version;
	/* what the last doveconf run printed on stderr (malloc()ed), NULL if
	   nothing */
	char *doveconf_error;
	/* the last doveconf run was stopped at PUSHADM_CHILD_TIMEOUT_SECS */
	bool doveconf_timed_out;
	/* long-running commands (the relay): Dovecot's settings are read
	   with doveconf at most once per this many seconds, not per user */
	unsigned int config_cache_secs;
	char *config_cache;		/* doveconf's output, malloc()ed */
	time_t config_cached;
	/* the auth-userdb socket's client, made when first needed */
	struct pushadm_userdb *userdb;
	bool userdb_tried;
	/* what the userdb said of each user lately (pushadm_user_lookup()) */
	struct pushadm_users *users;
};

struct pushadm_userdb;

/* The userdb client of ctx (base_dir/auth-userdb), or NULL where Dovecot's
   base_dir can't be read. */
struct pushadm_userdb *pushadm_ctx_userdb(struct pushadm_ctx *ctx);
/* Frees what ctx holds (the userdb client, the cached settings). */
void pushadm_ctx_deinit(struct pushadm_ctx *ctx);

struct pushadm_cmd {
	const char *name;		/* "spool run" */
	const char *usage;		/* "[--once]" */
	const char *help;		/* one line */
	enum pushadm_format default_format;
	/* argv[0] is the command name; getopt-style parsing from there.
	   Returns an exit code. */
	int (*run)(struct pushadm_ctx *ctx, int argc, char *argv[]);
	/* an older name kept working: the command it is ("webhook verify");
	   not listed, its help says so */
	const char *alias_of;
};

/* Formatter: one code path prints every -f format. Declare the columns,
   add values row by row, then flush. */
void pushadm_print_init(struct pushadm_ctx *ctx, enum pushadm_format def);
void pushadm_print_header(const char *key, const char *title);
void pushadm_print(const char *value);	/* next column of the current row */
void pushadm_print_flush(void);

#define PUSHADM_EXIT_UNAVAILABLE EX_UNAVAILABLE	/* 69 */

/* Runs doveconf (with -c) and doveadm (with -c) with args; their stdout,
   malloc()ed, or NULL if they failed to run or (doveconf) exited non-zero.
   *status_r gets doveadm's exit status. */
char *pushadm_doveconf_run(struct pushadm_ctx *ctx, const char *const *args);
char *pushadm_doveadm_run(struct pushadm_ctx *ctx, const char *const *args,
			  int *status_r);
/* The same with doveadm's stderr dropped (lookups whose failure the
   caller words itself). */
char *pushadm_doveadm_run_quiet(struct pushadm_ctx *ctx, const char *const *args,
				int *status_r);
/* Whether doveconf is Dovecot 2.4's (typed settings, push_notify blocks). */
bool pushadm_doveconf_is_24(struct pushadm_ctx *ctx);

struct pushcore_spec;
struct pushcore_user;

#define PUSHADM_CONFIG_MAX 256
#define PUSHADM_DRIVERS_MAX 64
#define PUSHADM_BLOCK_OPTIONS_MAX 32
/* A Dovecot 2.4 named block (push_notify NAME { }, or Dovecot's own
   push_notification NAME { }): its driver = (NULL if not written) and its
   other settings as doveconf prints them; a header { A = B } or
   lua_settings { A = B } entry is key "header" / "lua_settings" with value
   "A:B". */
struct pushadm_block {
	const char *name;
	const char *driver;
	unsigned int count;
	const char *keys[PUSHADM_BLOCK_OPTIONS_MAX];
	const char *values[PUSHADM_BLOCK_OPTIONS_MAX];
	/* a setting pushadm could not keep (a nested filter, too many) */
	const char *unreadable;
};
/* The push notification settings (2.3: plugin {}; 2.4: push_notify_* and
   push_notify blocks, kept under the 2.3 names), with a user's userdb
   overrides. */
struct pushadm_config {
	struct pushcore_pool *pool;
	bool dovecot24;
	unsigned int count;
	const char *keys[PUSHADM_CONFIG_MAX], *values[PUSHADM_CONFIG_MAX];
	/* 2.4: our push_notify blocks, and Dovecot's own push_notification
	   blocks (push_notify ignores those) */
	unsigned int block_count, dovecot_block_count;
	struct pushadm_block blocks[PUSHADM_DRIVERS_MAX];
	struct pushadm_block dovecot_blocks[PUSHADM_DRIVERS_MAX];
	/* 2.4: push_notification_* settings outside any block (Dovecot's own
	   names, which nothing reads there), "key = value" */
	unsigned int dovecot_setting_count;
	const char *dovecot_settings[16];
};
/* Returns 0 or an exit code (after printing the error: doveconf's own
   lines, credentials hidden, and what to do about a Dovecot 2.3 file on
   Dovecot 2.4). */
int pushadm_config_load(struct pushadm_ctx *ctx, const char *user,
			struct pushadm_config *cfg);
void pushadm_config_free(struct pushadm_config *cfg);
void pushadm_config_set(struct pushadm_config *cfg, const char *key,
			const char *value);
/* NULL when unset or empty. */
const char *pushadm_config_get(const struct pushadm_config *cfg, const char *key);
/* Starts the configured drivers for puser exactly as the plugin does: the
   same code in libpushcore (pushcore-settings.h) picks them, in the same
   order, and stops at the first that can't start. tried (may be NULL)
   hears of every driver tried. Returns how many started. */
unsigned int pushadm_config_start_drivers(struct pushadm_config *cfg,
					  struct pushcore_user *puser,
					  pushcore_driver_tried_t *tried,
					  void *context);
/* A driver given as a 2.3 spec string on the command line: started as the
   configured ones are, named name. -1 with *error_r. */
int pushadm_driver_add_spec(struct pushcore_user *puser, const char *name,
			    const char *spec_str, const char **error_r);

/* pushadm-convert.c: Dovecot 2.3 settings in Dovecot 2.4's push_notify
   form. Whether the push_notify plugin for the Dovecot doveconf belongs to
   is installed (its module in mail_plugin_dir). */
bool pushadm_plugin_installed(struct pushadm_ctx *ctx);
/* The line for settings found while the plugin isn't installed. */
#define PUSHADM_NOTIFICATIONS_OFF \
	"notifications are off until the build for this Dovecot is installed"

/* pushadm-driver.c: a pushcore user for pushadm (it says every user opted
   in to ox), synthetic events, and the per-endpoint report. */
struct pushcore_pool;
struct pushcore_txn;
struct pushcore_user *pushadm_user_new(struct pushcore_pool *pool,
				       const char *username);
struct pushcore_event *pushadm_event_add(struct pushcore_txn *txn,
					 enum pushcore_event_type type,
					 const char *mailbox);
/* Commits txn and prints what each endpoint answered (or, dry_run, the
   requests without sending them); returns the exit code. */
int pushadm_txn_send(struct pushadm_ctx *ctx, struct pushcore_txn **txn,
		     bool dry_run);

/* true: libpushcore's log lines are not shown (unless -D) */
extern bool pushadm_log_quiet;

/* A setting of Dovecot's effective configuration (doveconf -h KEY, e.g.
   "plugin/push_notification_spool_dir"); malloc()ed, "" if unset, NULL if
   doveconf failed. */
char *pushadm_doveconf_get(struct pushadm_ctx *ctx, const char *key);
/* push_notification_module_dir (2.4: push_notify_module_dir), where
   driver modules are looked for; malloc()ed, NULL if unset or doveconf
   failed (then the built-in directory). */
char *pushadm_module_dir_get(struct pushadm_ctx *ctx);

#endif
