/* An example push notification driver, built outside dovecot-push-notify
   against an installed libpushcore-dev (docs/driver-api.md):

     make                   # pkg-config pushcore: headers, library, driverdir
     make install           # into $(pkg-config --variable=driverdir pushcore)

   Configuration (Dovecot 2.3; 2.4: push_notify example { events = ... }):

     push_notification_driver = example:events=MessageNew,MessageRead prefix=demo

   It writes one info line per event to Dovecot's log (pushadm: stderr):
   "<setting> (example): demo: MessageNew mailbox=\"INBOX\" uid=1 ...". */
#include <pushcore.h>

#include <stdlib.h>
#include <string.h>

struct example_config {
	const char *prefix;
	struct pushcore_filter filter;
};

static int example_init(struct pushcore_driver_instance *inst, const char **error_r)
{
	struct pushcore_pool *pool = pushcore_user_pool(pushcore_inst_user(inst));
	const struct pushcore_spec *spec = pushcore_inst_spec(inst);
	struct example_config *cfg = pushcore_palloc(pool, sizeof(*cfg));

	cfg->prefix = pushcore_spec_get(spec, "prefix");
	if (cfg->prefix == NULL)
		cfg->prefix = "example";
	/* events= and mailboxes=, as every generic driver takes them; sets
	   the instance's events (all when events= is absent) */
	if (pushcore_filter_init(inst, &cfg->filter, error_r) < 0)
		return -1;
	pushcore_inst_set_context(inst, cfg);
	return 0;
}

static void example_process(struct pushcore_driver_instance *inst,
			    struct pushcore_txn *txn __attribute__((unused)),
			    void *txn_ctx __attribute__((unused)),
			    const struct pushcore_event *ev)
{
	struct example_config *cfg = pushcore_inst_context(inst);
	struct pushcore_buf line;

	if (!pushcore_filter_mailbox(&cfg->filter, ev->mailbox))
		return;
	pushcore_buf_init(&line);
	pushcore_event_append_line(&line, ev);
	pushcore_driver_log(inst, PUSHCORE_LOG_INFO, "%s: %s", cfg->prefix, line.data);
	pushcore_buf_free(&line);
}

static const struct pushcore_driver example_driver = {
	.name = "example",
	.init = example_init,
	.process = example_process,
};

static const struct pushcore_driver *const example_drivers[] = {
	&example_driver, NULL
};

/* The module's one exported symbol: libpushcore looks for it in
   push_driver_example.so and refuses another ABI version. */
PUSHCORE_DRIVER_MODULE_EXPORT const struct pushcore_driver_module pushcore_driver_module = {
	.abi_version = PUSHCORE_DRIVER_ABI_VERSION,
	.drivers = example_drivers,
};
