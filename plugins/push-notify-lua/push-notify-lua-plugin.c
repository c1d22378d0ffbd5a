/* push_notify_lua: kept so that configurations keep working that name it
   in mail_plugins, as the reference's push_notification_lua is named
   (mail_plugins = ... push_notify push_notify_lua). It has no other job
   since 0.2: the lua driver is a module of libpushcore
   (push_driver_lua.so, in the same package), loaded when a configuration
   names "lua", with or without this plugin. */
#include "lib.h"
#include "module-dir.h"

void push_notify_lua_plugin_init(struct module *module);
void push_notify_lua_plugin_deinit(void);

const char *push_notify_lua_plugin_version = DOVECOT_ABI_VERSION;
const char *push_notify_lua_plugin_dependencies[] = { "push_notify", NULL };

void push_notify_lua_plugin_init(struct module *module ATTR_UNUSED)
{
}

void push_notify_lua_plugin_deinit(void)
{
}
