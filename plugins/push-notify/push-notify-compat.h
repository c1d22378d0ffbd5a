#ifndef PUSH_NOTIFY_COMPAT_H
#define PUSH_NOTIFY_COMPAT_H

/* What differs between the Dovecot versions push_notify builds against,
   besides settings (push-notify-settings-v23.c / -v24.c). Keep it here:
   libpushcore knows nothing of Dovecot, and the rest of the plugin is
   written once. */

#define PUSH_NOTIFY_DOVECOT_AT_LEAST(major, minor) \
	(DOVECOT_VERSION_MAJOR > (major) || \
	 (DOVECOT_VERSION_MAJOR == (major) && DOVECOT_VERSION_MINOR >= (minor)))

/* 2.4 takes the context by reference and clears it */
#if PUSH_NOTIFY_DOVECOT_AT_LEAST(2, 4)
#  define push_notify_compat_notify_unregister(ctx) notify_unregister(&(ctx))
#else
#  define push_notify_compat_notify_unregister(ctx) notify_unregister(ctx)
#endif

#endif
