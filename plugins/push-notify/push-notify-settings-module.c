/* libpush_notify_settings.so: what Dovecot 2.4's config process loads from
   its modules/settings directory to learn push_notify's settings. */
#include "lib.h"
#include "settings-parser.h"
#include "push-notify-settings.h"

extern const char *push_notify_settings_version;
extern const struct setting_parser_info *push_notify_settings_set_infos[];

const char *push_notify_settings_version = DOVECOT_ABI_VERSION;

const struct setting_parser_info *push_notify_settings_set_infos[] = {
	&push_notify_setting_parser_info,
	NULL
};
