/* push_notify_lua: makes the "lua" driver of libpushcore available to
   push_notify (lib22 loads after lib20_push_notify). It needs neither
   Dovecot's mail_lua plugin nor its Lua: libpushcore runs scripts in its
   own Lua 5.3 state, which coexists with Dovecot's Lua 5.4 (Debian's Lua
   libraries are symbol-versioned). */
#include "lib.h"
#include "module-dir.h"
#include "pushcore.h"

void push_notify_lua_plugin_init(struct module *module);
void push_notify_lua_plugin_deinit(void);

const char *push_notify_lua_plugin_version = DOVECOT_ABI_VERSION;
const char *push_notify_lua_plugin_dependencies[] = { "push_notify", NULL };

void push_notify_lua_plugin_init(struct module *module ATTR_UNUSED)
{
	pushcore_driver_register(&push_driver_lua);
}

void push_notify_lua_plugin_deinit(void)
{
	pushcore_driver_unregister(&push_driver_lua);
}
