#ifndef PUSHCORE_DRIVER_PRIVATE_H
#define PUSHCORE_DRIVER_PRIVATE_H

/* The opaque structs of pushcore-driver.h, for libpushcore's own files
   only (not installed): consumers use the accessors, so these can grow
   without breaking the ABI. */

#include "pushcore-driver.h"

struct pushcore_driver_instance {
	const struct pushcore_driver *driver;
	struct pushcore_user *user;
	/* the setting it came from, e.g. "push_notification_driver2" */
	const char *setting_name;
	const struct pushcore_spec *spec;
	/* PUSHCORE_EVENT_MASK() of the events it wants */
	uint32_t events;
	/* true: its requests can't be finished in this process (the http
	   driver's secret_file is root's): they are handed to the relay or
	   written to the spool, never sent from here unsigned */
	bool relay_only;
	void *context;
};

struct pushcore_user {
	struct pushcore_pool *pool;
	const char *username;
	const struct pushcore_host *host;
	void *host_ctx;
	/* the longest a commit may wait for endpoints, all drivers together */
	unsigned int max_wait_msecs;
	/* where notifications that could not be sent go (docs/spool.md);
	   NULL: nowhere (pushadm driver test) */
	const char *spool_dir;
	/* true: never send from here, hand everything to the dispatcher */
	bool spool_only;
	/* the relay's socket (NULL or "": no hand-off) and how long a commit
	   waits for its acknowledgement (pushcore-relay-client.h) */
	const char *relay_socket;
	unsigned int relay_timeout_msecs;
	/* where driver modules are looked for (NULL: the directory
	   configure chose, PUSHCORE_MODULE_DIR); the setting
	   push_notification_module_dir (2.4: push_notify_module_dir) */
	const char *module_dir;
	unsigned int instance_count;
	struct pushcore_driver_instance **instances;
};

struct pushcore_txn {
	struct pushcore_pool *pool;
	struct pushcore_user *user;
	struct pushcore_event *events, **events_tail;
	unsigned int event_count;
	/* what goes to the relay when it commits, NULL if nothing */
	struct pushcore_relay_batch *relay;
	/* what the driver being run is processing, for the outcomes of
	   the notifications it makes (pushcore-outcome.h): the event's name
	   and mailbox, or in end_txn those all its events share (NULL where
	   they differ) */
	const char *current_event, *current_mailbox;
};

/* What inst's log lines and outcomes are about: its user's host context,
   its driver and its setting (pushcore-driver.c; not exported). */
struct pushcore_log_origin
pushcore_driver_log_origin(const struct pushcore_driver_instance *inst);

#endif
