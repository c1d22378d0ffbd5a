/* lua: the reference's Lua API in Lua 5.3, with its own interpreter state
   per user. Scripts define dovecot_lua_notify_begin_txn(user),
   dovecot_lua_notify_event_<name>(ctx, event) and
   dovecot_lua_notify_end_txn(ctx, success); this calls the ones that exist.
   No script can stop or crash a delivery: every call runs protected, with
   a memory cap and a time budget, and os.exit is disabled. docs/lua.md.

   A module of its own (push_driver_lua.so, package dovecot-push-notify-lua):
   libpushcore loads it when a configuration names "lua", so only processes
   that run scripts have Lua in them. */
#include "pushcore-driver.h"
#include "pushcore-mem.h"
#include "pushcore-spec.h"

#include <lauxlib.h>
#include <lualib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LUA_MEMORY_LIMIT (64 * 1024 * 1024)
#define LUA_CALL_MSECS 5000
#define LUA_HOOK_COUNT 10000
#define FN_PREFIX "dovecot_lua_notify_"

struct lua_script {
	lua_State *L;
	const char *path;
	size_t memory;
	long long deadline_msecs;	/* of the running call */
	int ctx_ref;			/* begin_txn's return value */
	struct pushcore_driver_instance *inst;
};

/* The script a state belongs to (the allocator's userdata). */
static struct lua_script *lua_script_of(lua_State *L)
{
	void *ud;

	lua_getallocf(L, &ud);
	return ud;
}

/* CLOCK_MONOTONIC in milliseconds. The module's own: a driver module is
   built on libpushcore's public API, which pushcore_mono_msecs() is not. */
static long long now_msecs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every allocation counted: a script can't take the process's memory. */
static void *lua_alloc_capped(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct lua_script *s = ud;
	size_t old = ptr == NULL ? 0 : osize;

	if (nsize == 0) {
		free(ptr);
		s->memory -= old;
		return NULL;
	}
	if (nsize > old && s->memory + (nsize - old) > LUA_MEMORY_LIMIT)
		return NULL;	/* Lua raises "not enough memory" */
	ptr = realloc(ptr, nsize);
	if (ptr != NULL)
		s->memory = s->memory - old + nsize;
	return ptr;
}

static void lua_budget_hook(lua_State *L, lua_Debug *ar __attribute__((unused)))
{
	struct lua_script *s = lua_script_of(L);

	if (now_msecs() > s->deadline_msecs)
		luaL_error(L, "ran longer than %d ms", LUA_CALL_MSECS);
}

static int lua_traceback(lua_State *L)
{
	luaL_traceback(L, L, lua_tostring(L, 1), 1);
	return 1;
}

/* Calls the function below nargs arguments on the stack, protected and
   budgeted; logs a failure naming the script and the function. */
static bool lua_call_safe(struct lua_script *s, const char *fn, int nargs, int nresults)
{
	int base = lua_gettop(s->L) - nargs, ret;

	lua_pushcfunction(s->L, lua_traceback);
	lua_insert(s->L, base);
	s->deadline_msecs = now_msecs() + LUA_CALL_MSECS;
	lua_sethook(s->L, lua_budget_hook, LUA_MASKCOUNT, LUA_HOOK_COUNT);
	ret = lua_pcall(s->L, nargs, nresults, base);
	lua_sethook(s->L, NULL, 0, 0);
	lua_remove(s->L, base);
	if (ret != LUA_OK) {
		pushcore_driver_log(s->inst, PUSHCORE_LOG_ERROR, "%s: %s() failed: %s",
				    s->path, fn, lua_tostring(s->L, -1));
		lua_pop(s->L, 1);
		return false;
	}
	return true;
}

static bool lua_has_function(lua_State *L, const char *name)
{
	bool ret = lua_getglobal(L, name) == LUA_TFUNCTION;

	lua_pop(L, 1);
	return ret;
}

/* --- the dovecot table and the user object ------------------------------ */

/* The script's lines belong to its driver instance, as the driver's own
   do: "<setting> (lua): lua: ..." on the instance's event, so that a
   filter on driver=lua selects them. */
static int l_log(lua_State *L, enum pushcore_log_level level)
{
	struct lua_script *s = lua_script_of(L);

	pushcore_driver_log(s->inst, level, "lua: %s", luaL_checkstring(L, 1));
	return 0;
}
static int l_i_debug(lua_State *L) { return l_log(L, PUSHCORE_LOG_DLOG); }
static int l_i_info(lua_State *L) { return l_log(L, PUSHCORE_LOG_INFO); }
static int l_i_warning(lua_State *L) { return l_log(L, PUSHCORE_LOG_WARNING); }
static int l_i_error(lua_State *L) { return l_log(L, PUSHCORE_LOG_ERROR); }

/* print() is a script's first debugging tool. Left alone it writes to
   the process's stdout: nowhere in a Dovecot service, unfiltered into the
   journal under pushadm. Its line joins the script's other log lines,
   through the same redaction. */
static int l_print(lua_State *L)
{
	struct lua_script *s = lua_script_of(L);
	int i, n = lua_gettop(L);
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	for (i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		(void)luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	pushcore_driver_log(s->inst, PUSHCORE_LOG_INFO, "lua: %s", lua_tostring(L, -1));
	return 0;
}

static int l_os_exit(lua_State *L)
{
	return luaL_error(L, "os.exit() is disabled in push notification scripts");
}

static const char *lua_driver_setting(struct pushcore_driver_instance *inst,
				      const char *name)
{
	const char **values =
		pushcore_spec_get_all(pushcore_user_pool(pushcore_inst_user(inst)),
				      pushcore_inst_spec(inst), "setting");
	size_t len = strlen(name);

	for (; *values != NULL; values++) {
		if (strncmp(*values, name, len) == 0 && (*values)[len] == ':')
			return *values + len + 1;
	}
	return NULL;
}

static int l_plugin_getenv(lua_State *L)
{
	struct lua_script *s = lua_script_of(L);
	const struct pushcore_host *host = pushcore_user_host(pushcore_inst_user(s->inst));
	const char *name = luaL_checkstring(L, 2), *value = NULL;

	if (host != NULL && host->plugin_getenv != NULL)
		value = host->plugin_getenv(pushcore_user_host_ctx(pushcore_inst_user(s->inst)), name);
	/* then the driver's own setting=NAME:VALUE options (a 2.4 block's
	   lua_settings { NAME = VALUE }): Dovecot 2.4 has no plugin {} */
	if (value == NULL)
		value = lua_driver_setting(s->inst, name);
	if (value == NULL)
		lua_pushnil(L);
	else
		lua_pushstring(L, value);
	return 1;
}

static void lua_push_user(struct lua_script *s)
{
	static const char *const fields[] = {
		"home", "uid", "gid", "service", "session_id", NULL
	};
	const struct pushcore_host *host = pushcore_user_host(pushcore_inst_user(s->inst));
	const char *value;
	unsigned int i;

	lua_newtable(s->L);
	lua_pushstring(s->L, pushcore_user_name(pushcore_inst_user(s->inst)));
	lua_setfield(s->L, -2, "username");
	for (i = 0; fields[i] != NULL; i++) {
		value = host == NULL || host->user_field == NULL ? NULL :
			host->user_field(pushcore_user_host_ctx(pushcore_inst_user(s->inst)), fields[i]);
		if (value == NULL)
			continue;
		if (strcmp(fields[i], "uid") == 0 || strcmp(fields[i], "gid") == 0)
			lua_pushinteger(s->L, strtoll(value, NULL, 10));
		else
			lua_pushstring(s->L, value);
		lua_setfield(s->L, -2, fields[i]);
	}
	lua_pushcfunction(s->L, l_plugin_getenv);
	lua_setfield(s->L, -2, "plugin_getenv");
}

static void lua_setup_globals(lua_State *L)
{
	static const luaL_Reg dovecot_fns[] = {
		{ "i_debug", l_i_debug }, { "i_info", l_i_info },
		{ "i_warning", l_i_warning }, { "i_error", l_i_error },
		{ NULL, NULL }
	};

	luaL_openlibs(L);
	luaL_newlib(L, dovecot_fns);
	lua_setglobal(L, "dovecot");
	lua_register(L, "print", l_print);
	/* a script must not end the delivery process */
	lua_getglobal(L, "os");
	lua_pushcfunction(L, l_os_exit);
	lua_setfield(L, -2, "exit");
	lua_pop(L, 1);
}

/* --- event tables --------------------------------------------------------- */

static void push_flags(lua_State *L, long long flags)
{
	lua_Integer n = 1;
	unsigned int i;

	lua_newtable(L);
	for (i = 0; pushcore_flag_name(i) != NULL; i++) {
		if ((flags & (1LL << i)) == 0)
			continue;
		lua_pushstring(L, pushcore_flag_name(i));
		lua_rawseti(L, -2, n++);
	}
}

static void push_list(lua_State *L, const char *const *list)
{
	lua_Integer n = 1;

	lua_newtable(L);
	for (; list != NULL && *list != NULL; list++) {
		lua_pushstring(L, *list);
		lua_rawseti(L, -2, n++);
	}
}

static void push_value(lua_State *L, enum pushcore_field f,
		       const struct pushcore_value *v)
{
	switch (pushcore_field_info(f)->type) {
	case PUSHCORE_FIELD_TYPE_STRING: lua_pushstring(L, v->str); break;
	case PUSHCORE_FIELD_TYPE_INT: lua_pushinteger(L, v->num); break;
	case PUSHCORE_FIELD_TYPE_FLAGS: push_flags(L, v->num); break;
	case PUSHCORE_FIELD_TYPE_LIST: push_list(L, v->list); break;
	}
}

/* The fields Dovecot 2.3's own Lua driver passes that our event model
   names differently or leaves out when empty. */
static void push_reference_fields(lua_State *L, const struct pushcore_event *ev)
{
	static const enum pushcore_field empty_strings[] = {
		PUSHCORE_FIELD_FROM, PUSHCORE_FIELD_TO, PUSHCORE_FIELD_FROM_ADDRESS,
		PUSHCORE_FIELD_FROM_DISPLAY_NAME, PUSHCORE_FIELD_TO_ADDRESS,
		PUSHCORE_FIELD_TO_DISPLAY_NAME,
	};
	const struct pushcore_value *f = ev->fields;
	unsigned int i;

	switch (ev->type) {
	case PUSHCORE_EVENT_MESSAGE_NEW:
	case PUSHCORE_EVENT_MESSAGE_APPEND:
		for (i = 0; i < sizeof(empty_strings) / sizeof(empty_strings[0]); i++) {
			if (!f[empty_strings[i]].set) {
				lua_pushstring(L, "");
				lua_setfield(L, -2, pushcore_field_info(empty_strings[i])->name);
			}
		}
		break;
	case PUSHCORE_EVENT_FLAGS_SET:
	case PUSHCORE_EVENT_FLAGS_CLEAR: {
		enum pushcore_field kw = ev->type == PUSHCORE_EVENT_FLAGS_SET ?
			PUSHCORE_FIELD_KEYWORDS_SET : PUSHCORE_FIELD_KEYWORDS_CLEAR;

		/* "keywords" is what 2.3.5+ passes, keywords_set/_clear what
		   the documentation names; flags and keywords always there */
		push_list(L, f[kw].set ? f[kw].list : NULL);
		lua_setfield(L, -2, "keywords");
		if (!f[kw].set) {
			push_list(L, NULL);
			lua_setfield(L, -2, pushcore_field_info(kw)->name);
		}
		if (!f[PUSHCORE_FIELD_FLAGS].set) {
			push_flags(L, 0);
			lua_setfield(L, -2, "flags");
		}
		if (ev->type == PUSHCORE_EVENT_FLAGS_CLEAR) {
			if (!f[PUSHCORE_FIELD_FLAGS_OLD].set) {
				push_flags(L, 0);
				lua_setfield(L, -2, "flags_old");
			}
			if (!f[PUSHCORE_FIELD_KEYWORDS_OLD].set) {
				push_list(L, NULL);
				lua_setfield(L, -2, "keywords_old");
			}
		}
		break;
	}
	default:
		break;
	}
}

static void push_event(struct lua_script *s, const struct pushcore_event *ev)
{
	lua_State *L = s->L;
	const enum pushcore_field *f;

	lua_newtable(L);
	lua_pushstring(L, pushcore_event_info(ev->type)->name);
	lua_setfield(L, -2, "name");
	lua_pushstring(L, pushcore_user_name(pushcore_inst_user(s->inst)));
	lua_setfield(L, -2, "user");
	lua_pushstring(L, ev->mailbox);
	lua_setfield(L, -2, "mailbox");
	if (pushcore_event_info(ev->type)->is_message) {
		lua_pushinteger(L, ev->uid);
		lua_setfield(L, -2, "uid");
		lua_pushinteger(L, ev->uidvalidity);
		lua_setfield(L, -2, "uid_validity");
	}
	for (f = pushcore_event_info(ev->type)->fields; *f != PUSHCORE_FIELD_COUNT; f++) {
		if (!ev->fields[*f].set)
			continue;
		push_value(L, *f, &ev->fields[*f]);
		lua_setfield(L, -2, pushcore_field_info(*f)->name);
	}
	push_reference_fields(L, ev);
}

/* --- the driver ---------------------------------------------------------- */

static const char *lua_script_path(struct pushcore_driver_instance *inst)
{
	const struct pushcore_host *host = pushcore_user_host(pushcore_inst_user(inst));
	const char *path = NULL;

	/* the reference's order: the setting, file=, mail_lua's script */
	if (host != NULL && host->plugin_getenv != NULL)
		path = host->plugin_getenv(pushcore_user_host_ctx(pushcore_inst_user(inst)),
					   "push_notification_lua_script_file");
	if (path == NULL || path[0] == '\0')
		path = pushcore_spec_get(pushcore_inst_spec(inst), "file");
	if ((path == NULL || path[0] == '\0') && host != NULL &&
	    host->plugin_getenv != NULL)
		path = host->plugin_getenv(pushcore_user_host_ctx(pushcore_inst_user(inst)), "mail_lua_script");
	return path == NULL || path[0] == '\0' ? NULL : path;
}

static bool lua_script_init(struct lua_script *s, const char **error_r)
{
	lua_Integer ret;
	int isnum;

	if (luaL_loadfile(s->L, s->path) != LUA_OK) {
		*error_r = pushcore_psprintf(pushcore_user_pool(pushcore_inst_user(s->inst)),
					     "loading %s failed: %s",
					     s->path, lua_tostring(s->L, -1));
		return false;
	}
	if (!lua_call_safe(s, "(main chunk)", 0, 0)) {
		*error_r = pushcore_psprintf(pushcore_user_pool(pushcore_inst_user(s->inst)),
					     "running %s failed (see the line above)", s->path);
		return false;
	}
	if (!lua_has_function(s->L, "script_init"))
		return true;
	lua_getglobal(s->L, "script_init");
	if (!lua_call_safe(s, "script_init", 0, 1)) {
		*error_r = "script_init() failed";
		return false;
	}
	/* the reference insists on 0; nothing at all is fine here too */
	ret = lua_tointegerx(s->L, -1, &isnum);
	if (!lua_isnil(s->L, -1) && (!isnum || ret != 0)) {
		*error_r = pushcore_psprintf(pushcore_user_pool(pushcore_inst_user(s->inst)),
			"%s: script_init() returned %s, not 0", s->path,
			luaL_tolstring(s->L, -1, NULL));
		lua_pop(s->L, 2);
		return false;
	}
	lua_pop(s->L, 1);
	return true;
}

static int lua_driver_init(struct pushcore_driver_instance *inst, const char **error_r)
{
	struct pushcore_pool *pool = pushcore_user_pool(pushcore_inst_user(inst));
	struct lua_script *s = pushcore_palloc(pool, sizeof(*s));
	uint32_t events = 0;
	char fn[128];
	int i;

	s->inst = inst;
	s->ctx_ref = LUA_NOREF;
	if ((s->path = lua_script_path(inst)) == NULL) {
		*error_r = "No file in config and no push_notification_lua_script_file "
			"or mail_lua_script set";
		return -1;
	}
	s->L = lua_newstate(lua_alloc_capped, s);
	if (s->L == NULL) {
		*error_r = "cannot create a Lua state";
		return -1;
	}
	pushcore_inst_set_context(inst, s);
	lua_setup_globals(s->L);
	if (!lua_script_init(s, error_r)) {
		lua_close(s->L);
		s->L = NULL;
		return -1;
	}
	/* ask only for the events the script handles */
	for (i = 0; i < PUSHCORE_EVENT_COUNT; i++) {
		snprintf(fn, sizeof(fn), FN_PREFIX "event_%s", pushcore_event_info(i)->lua_name);
		if (lua_has_function(s->L, fn))
			events |= PUSHCORE_EVENT_MASK(i);
	}
	pushcore_inst_set_events(inst, events);
	if (events == 0)
		pushcore_driver_log(inst, PUSHCORE_LOG_DEBUG,
				    "%s: No event handlers found in script", s->path);
	return 0;
}

static bool lua_begin_txn(struct pushcore_driver_instance *inst,
			  struct pushcore_txn *txn __attribute__((unused)),
			  void **txn_ctx_r __attribute__((unused)))
{
	struct lua_script *s = pushcore_inst_context(inst);

	if (!lua_has_function(s->L, FN_PREFIX "begin_txn")) {
		pushcore_driver_log(inst, PUSHCORE_LOG_ERROR, "%s: Missing function "
				    FN_PREFIX "begin_txn", s->path);
		return false;
	}
	lua_getglobal(s->L, FN_PREFIX "begin_txn");
	lua_push_user(s);
	if (!lua_call_safe(s, FN_PREFIX "begin_txn", 1, 1))
		return false;
	s->ctx_ref = luaL_ref(s->L, LUA_REGISTRYINDEX);
	return true;
}

static void lua_process(struct pushcore_driver_instance *inst,
			struct pushcore_txn *txn __attribute__((unused)),
			void *txn_ctx __attribute__((unused)),
			const struct pushcore_event *ev)
{
	struct lua_script *s = pushcore_inst_context(inst);
	char fn[128];

	snprintf(fn, sizeof(fn), FN_PREFIX "event_%s", pushcore_event_info(ev->type)->lua_name);
	lua_getglobal(s->L, fn);
	lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->ctx_ref);
	push_event(s, ev);
	(void)lua_call_safe(s, fn, 2, 0);
}

static void lua_end_txn(struct pushcore_driver_instance *inst,
			struct pushcore_txn *txn __attribute__((unused)),
			void *txn_ctx __attribute__((unused)))
{
	struct lua_script *s = pushcore_inst_context(inst);

	if (lua_has_function(s->L, FN_PREFIX "end_txn")) {
		lua_getglobal(s->L, FN_PREFIX "end_txn");
		lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->ctx_ref);
		lua_pushboolean(s->L, 1);
		(void)lua_call_safe(s, FN_PREFIX "end_txn", 2, 0);
	} else {
		pushcore_driver_log(inst, PUSHCORE_LOG_ERROR, "%s: Missing function "
				    FN_PREFIX "end_txn", s->path);
	}
	luaL_unref(s->L, LUA_REGISTRYINDEX, s->ctx_ref);
	s->ctx_ref = LUA_NOREF;
	lua_gc(s->L, LUA_GCCOLLECT, 0);
}

static void lua_driver_deinit(struct pushcore_driver_instance *inst)
{
	struct lua_script *s = pushcore_inst_context(inst);

	if (s == NULL || s->L == NULL)
		return;
	if (lua_has_function(s->L, "script_deinit")) {
		lua_getglobal(s->L, "script_deinit");
		(void)lua_call_safe(s, "script_deinit", 0, 0);
	}
	lua_close(s->L);
	s->L = NULL;
}

/* pushadm lua check: every function a script may define, and whether
   it does. */
static void lua_describe(struct pushcore_driver_instance *inst,
			 void (*report)(void *context, const char *item,
					const char *state, bool problem),
			 void *context)
{
	struct lua_script *s = pushcore_inst_context(inst);
	char fn[128];
	bool defined, required;
	int i;

	for (i = -1; i <= PUSHCORE_EVENT_COUNT; i++) {
		if (i == -1)
			snprintf(fn, sizeof(fn), FN_PREFIX "begin_txn");
		else if (i == PUSHCORE_EVENT_COUNT)
			snprintf(fn, sizeof(fn), FN_PREFIX "end_txn");
		else
			snprintf(fn, sizeof(fn), FN_PREFIX "event_%s",
				 pushcore_event_info(i)->lua_name);
		defined = s != NULL && s->L != NULL && lua_has_function(s->L, fn);
		required = i == -1 || i == PUSHCORE_EVENT_COUNT;
		report(context, fn, defined ? "defined" : required ?
		       "MISSING (required)" : "not defined (event skipped)",
		       !defined && required);
	}
}

static const struct pushcore_driver push_driver_lua = {
	.name = "lua",
	.init = lua_driver_init,
	.begin_txn = lua_begin_txn,
	.process = lua_process,
	.end_txn = lua_end_txn,
	.deinit = lua_driver_deinit,
	.describe = lua_describe,
};

static const struct pushcore_driver *const lua_drivers[] = {
	&push_driver_lua, NULL
};

/* the module's entry (pushcore-driver.h): push_driver_lua.so */
PUSHCORE_DRIVER_MODULE_EXPORT const struct pushcore_driver_module pushcore_driver_module = {
	.abi_version = PUSHCORE_DRIVER_ABI_VERSION,
	.drivers = lua_drivers,
};
