# push_notify: the Dovecot plugin (lib20_push_notify_plugin.so) and, for
# Dovecot 2.4, the settings module its config process loads
# (settings/libpush_notify_settings.so).
module_LTLIBRARIES += plugins/push-notify/lib20_push_notify_plugin.la

push_notify_cppflags = \
	$(LIBDOVECOT_INCLUDE) $(LIBDOVECOT_NOTIFY_INCLUDE) -I$(top_srcdir)/lib
push_notify_cflags = $(DOVECOT_CFLAGS) $(AM_CFLAGS)

plugins_push_notify_lib20_push_notify_plugin_la_SOURCES = \
	plugins/push-notify/push-notify-plugin.h \
	plugins/push-notify/push-notify-compat.h \
	plugins/push-notify/push-notify-plugin.c \
	plugins/push-notify/push-notify-events.c \
	plugins/push-notify/push-notify-host.c \
	plugins/push-notify/push-notify-message.c \
	plugins/push-notify/push-notify-txn.c \
	plugins/push-notify/push-notify-user.c
plugins_push_notify_lib20_push_notify_plugin_la_CPPFLAGS = $(push_notify_cppflags)
plugins_push_notify_lib20_push_notify_plugin_la_CFLAGS = $(push_notify_cflags)
plugins_push_notify_lib20_push_notify_plugin_la_LDFLAGS = -module -avoid-version -shared
plugins_push_notify_lib20_push_notify_plugin_la_LIBADD = lib/libpushcore.la

push_notify_settings24 = \
	plugins/push-notify/push-notify-settings.h \
	plugins/push-notify/push-notify-settings-info.c

if DOVECOT_24
plugins_push_notify_lib20_push_notify_plugin_la_SOURCES += \
	$(push_notify_settings24) \
	plugins/push-notify/push-notify-settings-v24.c

dovecot_settings_LTLIBRARIES = plugins/push-notify/libpush_notify_settings.la
plugins_push_notify_libpush_notify_settings_la_SOURCES = \
	$(push_notify_settings24) \
	plugins/push-notify/push-notify-settings-module.c
plugins_push_notify_libpush_notify_settings_la_CPPFLAGS = $(push_notify_cppflags)
plugins_push_notify_libpush_notify_settings_la_CFLAGS = $(push_notify_cflags)
plugins_push_notify_libpush_notify_settings_la_LDFLAGS = -module -avoid-version -shared
else
plugins_push_notify_lib20_push_notify_plugin_la_SOURCES += \
	plugins/push-notify/push-notify-settings-v23.c
endif

# both variants go into the tarball, whichever Dovecot made it
EXTRA_DIST += \
	$(push_notify_settings24) \
	plugins/push-notify/push-notify-settings-v24.c \
	plugins/push-notify/push-notify-settings-module.c \
	plugins/push-notify/push-notify-settings-v23.c
