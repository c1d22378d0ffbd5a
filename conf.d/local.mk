# The conf.d snippets, in the syntax of the Dovecot this is built for
# (2.3: plugin {} settings; 2.4: push_notify blocks). Packages take them
# from the installed tree.
confddir = $(sysconfdir)/dovecot/conf.d
pushnotifydir = $(datadir)/dovecot-push-notify
pushnotifyluadir = $(datadir)/dovecot-push-notify-lua

if DOVECOT_24
confd_syntax = conf.d/2.4
else
confd_syntax = conf.d/2.3
endif
confd_DATA = $(confd_syntax)/95-push-notify.conf $(confd_syntax)/95-push-notify-lua.conf
pushnotify_DATA = $(confd_syntax)/mail-plugins.conf
pushnotifylua_DATA = $(confd_syntax)/mail-plugins-lua.conf

EXTRA_DIST += \
	conf.d/2.3/95-push-notify.conf conf.d/2.3/mail-plugins.conf \
	conf.d/2.3/95-push-notify-lua.conf conf.d/2.3/mail-plugins-lua.conf \
	conf.d/2.4/95-push-notify.conf conf.d/2.4/mail-plugins.conf \
	conf.d/2.4/95-push-notify-lua.conf conf.d/2.4/mail-plugins-lua.conf
