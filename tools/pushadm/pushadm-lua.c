/* pushadm lua check FILE: loads a push notification script the way the
   plugin does and says what it handles, before a delivery finds out. */
#include "pushadm.h"
#include "pushcore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void lua_check_row(void *context, const char *item, const char *state,
			  bool problem)
{
	int *problems = context;

	pushadm_print(item);
	pushadm_print(state);
	if (problem)
		(*problems)++;
}

static int cmd_lua_check(struct pushadm_ctx *ctx, int argc, char *argv[])
{
	struct pushcore_pool *pool;
	struct pushcore_user *puser;
	struct pushcore_driver_instance *inst;
	const char *error;
	char *module_dir;
	int problems = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: pushadm lua check FILE\n");
		return PUSHADM_EXIT_USAGE;
	}
	pool = pushcore_pool_new();
	puser = pushadm_user_new(pool, "lua-check");
	/* the Lua module where the plugin would find it (an unreadable
	   configuration leaves the built-in directory) */
	module_dir = pushadm_module_dir_get(ctx);
	if (module_dir != NULL)
		pushcore_user_set_module_dir(puser, module_dir);
	free(module_dir);
	if (pushcore_user_add_driver(puser, "script",
				     pushcore_psprintf(pool, "lua:file=%s", argv[1]),
				     &error) < 0) {
		/* the error can quote the driver's options or the script's
		   own message, either may hold a credential */
		fprintf(stderr, "pushadm: %s\n", ctx->show_secrets ? error :
			pushcore_redact(pool, error));
		pushcore_user_free(&puser);
		pushcore_pool_free(&pool);
		return PUSHADM_EXIT_DATAERR;
	}
	inst = pushcore_user_driver(puser, 0);
	pushadm_print_init(ctx, PUSHADM_FORMAT_TABLE);
	pushadm_print_header("function", "Function");
	pushadm_print_header("status", "Status");
	if (pushcore_inst_driver(inst)->describe != NULL)
		pushcore_inst_driver(inst)->describe(inst, lua_check_row, &problems);
	pushadm_print_flush();
	if (pushcore_inst_events(inst) == 0) {
		fprintf(stderr, "pushadm: %s handles no event\n", argv[1]);
		problems++;
	}
	pushcore_user_free(&puser);
	pushcore_pool_free(&pool);
	return problems == 0 ? PUSHADM_EXIT_OK : PUSHADM_EXIT_DATAERR;
}

static const struct pushadm_cmd lua_check = {
	"lua check", "FILE",
	"Loads a Lua push notification script as the lua driver does (compile,\n"
	"run, script_init) and lists which dovecot_lua_notify_* functions it\n"
	"defines. Exit 65 if it fails to load, lacks begin_txn or end_txn, or\n"
	"handles no event.",
	PUSHADM_FORMAT_TABLE, cmd_lua_check, NULL
};

const struct pushadm_cmd *const pushadm_cmds_lua[] = {
	&lua_check, NULL
};
