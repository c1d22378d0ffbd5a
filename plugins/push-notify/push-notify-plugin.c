/* Module entry points of push_notify. */
#include "lib.h"
#include "mail-storage-hooks.h"
#include "pushcore.h"
#include "push-notify-plugin.h"

const char *push_notify_plugin_version = DOVECOT_ABI_VERSION;
const char *push_notify_plugin_dependencies[] = { "notify", NULL };

static struct mail_storage_hooks push_notify_storage_hooks = {
	.mail_user_created = push_notify_user_created,
};

void push_notify_plugin_init(struct module *module)
{
	push_notify_events_init();
	pushcore_drivers_init();
	push_notify_txn_register();
	mail_storage_hooks_add(module, &push_notify_storage_hooks);
}

void push_notify_plugin_deinit(void)
{
	mail_storage_hooks_remove(&push_notify_storage_hooks);
	push_notify_txn_unregister();
	pushcore_http_deinit();
	pushcore_drivers_deinit();
	push_notify_events_deinit();
}
