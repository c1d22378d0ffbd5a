# push_notify_lua (lib22_push_notify_lua_plugin.so): a compatibility shim
# for configurations that name it; the lua driver is lib/drivers/push_driver_lua.
module_LTLIBRARIES += plugins/push-notify-lua/lib22_push_notify_lua_plugin.la

plugins_push_notify_lua_lib22_push_notify_lua_plugin_la_SOURCES = \
	plugins/push-notify-lua/push-notify-lua-plugin.c
plugins_push_notify_lua_lib22_push_notify_lua_plugin_la_CPPFLAGS = \
	$(LIBDOVECOT_INCLUDE)
plugins_push_notify_lua_lib22_push_notify_lua_plugin_la_CFLAGS = $(DOVECOT_CFLAGS) $(AM_CFLAGS)
plugins_push_notify_lua_lib22_push_notify_lua_plugin_la_LDFLAGS = -module -avoid-version -shared \
	-Wl,--no-as-needed,-lc

