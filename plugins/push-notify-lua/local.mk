# push_notify_lua: the Lua driver plugin (lib22_push_notify_lua_plugin.so).
module_LTLIBRARIES += plugins/push-notify-lua/lib22_push_notify_lua_plugin.la

plugins_push_notify_lua_lib22_push_notify_lua_plugin_la_SOURCES = \
	plugins/push-notify-lua/push-notify-lua-plugin.c
plugins_push_notify_lua_lib22_push_notify_lua_plugin_la_CPPFLAGS = \
	$(LIBDOVECOT_INCLUDE) -I$(top_srcdir)/lib
plugins_push_notify_lua_lib22_push_notify_lua_plugin_la_CFLAGS = $(DOVECOT_CFLAGS) $(AM_CFLAGS)
plugins_push_notify_lua_lib22_push_notify_lua_plugin_la_LDFLAGS = -module -avoid-version -shared \
	-Wl,--no-as-needed,-lc
plugins_push_notify_lua_lib22_push_notify_lua_plugin_la_LIBADD = lib/libpushcore.la
