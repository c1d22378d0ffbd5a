/* dlog: every event with all its fields, one line each, in the debug log.
   Unlike the reference, which logs a fixed text per event and never the
   message fields, this shows exactly what the other drivers would send. */
#include "pushcore-driver-private.h"
#include "pushcore-mem.h"
#include "pushcore-text.h"

static int dlog_init(struct pushcore_driver_instance *inst,
		     const char **error_r __attribute__((unused)))
{
	inst->events = PUSHCORE_EVENT_MASK_ALL;
	return 0;
}

static void dlog_process(struct pushcore_driver_instance *inst,
			 struct pushcore_txn *txn __attribute__((unused)),
			 void *txn_ctx __attribute__((unused)),
			 const struct pushcore_event *ev)
{
	struct pushcore_buf line;

	pushcore_buf_init(&line);
	pushcore_buf_append_str(&line, "dlog: user=");
	pushcore_append_quoted(&line, inst->user->username);
	pushcore_buf_append_c(&line, ' ');
	pushcore_event_append_line(&line, ev);
	/* the driver's own output: no "<setting> (dlog): " prefix */
	pushcore_driver_log(inst, PUSHCORE_LOG_DLOG, "%s", line.data);
	pushcore_buf_free(&line);
}

const struct pushcore_driver push_driver_dlog = {
	.name = "dlog",
	.init = dlog_init,
	.process = dlog_process,
};
