# push_notify: the Dovecot plugin (lib20_push_notify_plugin.so).
module_LTLIBRARIES += plugins/push-notify/lib20_push_notify_plugin.la

plugins_push_notify_lib20_push_notify_plugin_la_SOURCES = \
	plugins/push-notify/push-notify-plugin.h \
	plugins/push-notify/push-notify-plugin.c \
	plugins/push-notify/push-notify-host.c \
	plugins/push-notify/push-notify-message.c \
	plugins/push-notify/push-notify-txn.c \
	plugins/push-notify/push-notify-user.c

plugins_push_notify_lib20_push_notify_plugin_la_CPPFLAGS = \
	$(LIBDOVECOT_INCLUDE) $(LIBDOVECOT_NOTIFY_INCLUDE) -I$(top_srcdir)/lib
plugins_push_notify_lib20_push_notify_plugin_la_CFLAGS = $(DOVECOT_CFLAGS) $(AM_CFLAGS) -Wno-error
plugins_push_notify_lib20_push_notify_plugin_la_LDFLAGS = -module -avoid-version -shared
plugins_push_notify_lib20_push_notify_plugin_la_LIBADD = lib/libpushcore.la
