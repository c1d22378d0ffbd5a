#ifndef PUSHCORE_DRIVER_H
#define PUSHCORE_DRIVER_H

#include "pushcore-api.h"

/* Drivers, the users they serve, and the transactions they are given.

   A host (the Dovecot plugin, pushadm) creates one pushcore_user per mail
   user with the driver specs configured for it, opens a pushcore_txn per
   mail transaction, adds events, and commits it. Each driver instance sees
   only the events it asked for: one driver's wishes never leak into
   another's. */

#include <stdbool.h>
#include <stdint.h>

#include "pushcore-event.h"
#include "pushcore-log.h"
#include "pushcore-outcome.h"

struct pushcore_pool;
struct pushcore_relay_batch;
struct pushcore_spool_entry;
struct pushcore_http_request;

/* How long one delivery waits for all endpoints together, and where
   notifications that could not be sent wait (docs/spool.md). */
#define PUSHCORE_DEFAULT_MAX_WAIT_MSECS 5000
#define PUSHCORE_DEFAULT_SPOOL_DIR "/var/spool/dovecot-push-notify"
struct pushcore_spec;
struct pushcore_txn;
struct pushcore_user;
struct pushcore_driver_instance;

/* What only the host can answer about a user's mailboxes. Any callback may
   be NULL; drivers then go without. */
struct pushcore_host {
	/* Private server METADATA (RFC 5464) entry, e.g.
	   "/private/vendor/vendor.dovecot/http-notify". Returns 1 and sets
	   *value_r if set, 0 if not set, -1 on error (with *error_r). */
	int (*metadata_get)(void *host_ctx, const char *key,
			    const char **value_r, const char **error_r);
	/* Number of unseen messages in the mailbox, as of now. */
	int (*mailbox_unseen)(void *host_ctx, const char *mailbox,
			      uint32_t *unseen_r, const char **error_r);
	/* A plugin setting of the user (NULL if unset). */
	const char *(*plugin_getenv)(void *host_ctx, const char *name);
	/* A field of the user for scripts: "home", "uid", "gid", "service",
	   "session_id" (NULL if unknown). */
	const char *(*user_field)(void *host_ctx, const char *name);
};

struct pushcore_driver {
	const char *name;
	/* Parses the spec's options into the instance's context and sets
	   its events (pushcore_inst_set_context(), _set_events()). Returns
	   -1 with *error_r (the cause, for a log line that names the driver)
	   if they are unusable. */
	int (*init)(struct pushcore_driver_instance *inst,
		    const char **error_r);
	/* Optional: called once per transaction that has events for this
	   instance, before them. Returning false skips the transaction. */
	bool (*begin_txn)(struct pushcore_driver_instance *inst,
			  struct pushcore_txn *txn, void **txn_ctx_r);
	void (*process)(struct pushcore_driver_instance *inst,
			struct pushcore_txn *txn, void *txn_ctx,
			const struct pushcore_event *ev);
	/* Optional: after the last event of the transaction. */
	void (*end_txn)(struct pushcore_driver_instance *inst,
			struct pushcore_txn *txn, void *txn_ctx);
	/* Optional. */
	void (*deinit)(struct pushcore_driver_instance *inst);
	/* Rebuilds a notification's request from this instance's own settings:
	   URL, credentials, headers, TLS options and the signature come from the
	   configuration; only the id, the created time and the body come from e.
	   For the relay and the dispatcher, which never take a destination from a
	   submitter or a spool file. NULL: not relayable (dlog, lua). Returns -1
	   with *error_r on failure.
	   An XADD (redis) request: method "XADD", url the Redis URL,
	   tls_ca_file and timeout_msecs from the settings, and the headers
	   "stream: S", "maxlen: N", "user: U", "event: E" (E taken from the
	   body's "event" key, checked against the event table). */
	int (*rebuild)(struct pushcore_driver_instance *inst, struct pushcore_pool *pool,
		       const struct pushcore_spool_entry *e,
		       struct pushcore_http_request *req_r, const char **error_r);
	/* Optional, for pushadm's checks (pushadm lua check): reports what
	   the instance is made of (a script's functions), one item at a
	   time: its name, its state, and whether that is a problem. */
	void (*describe)(struct pushcore_driver_instance *inst,
			 void (*report)(void *context, const char *item,
					const char *state, bool problem),
			 void *context);
};

/* A driver instance: one configured driver of a user. Opaque; a driver
   reads and sets what it needs through these. */
PUSHCORE_API
const struct pushcore_driver *
pushcore_inst_driver(const struct pushcore_driver_instance *inst);
PUSHCORE_API struct pushcore_user *pushcore_inst_user(const struct pushcore_driver_instance *inst);
/* the setting it came from, e.g. "push_notification_driver2" (2.4: the
   block's name) */
PUSHCORE_API const char *pushcore_inst_setting_name(const struct pushcore_driver_instance *inst);
PUSHCORE_API const struct pushcore_spec *pushcore_inst_spec(const struct pushcore_driver_instance *inst);
/* PUSHCORE_EVENT_MASK() of the events it wants (init sets it) */
PUSHCORE_API uint32_t pushcore_inst_events(const struct pushcore_driver_instance *inst);
PUSHCORE_API void pushcore_inst_set_events(struct pushcore_driver_instance *inst, uint32_t mask);
/* the driver's own data (init sets it) */
PUSHCORE_API void *pushcore_inst_context(const struct pushcore_driver_instance *inst);
PUSHCORE_API void pushcore_inst_set_context(struct pushcore_driver_instance *inst, void *context);
/* true: its requests can't be finished in this process (the http
   driver's secret_file is root's): they are handed to the relay or
   written to the spool, never sent from here unsigned */
PUSHCORE_API void pushcore_inst_set_relay_only(struct pushcore_driver_instance *inst, bool relay_only);

/* A user of the host. Opaque; the host sets it up through these before
   adding drivers. Strings are copied into the user's pool. */
PUSHCORE_API struct pushcore_pool *pushcore_user_pool(const struct pushcore_user *user);
PUSHCORE_API const char *pushcore_user_name(const struct pushcore_user *user);
PUSHCORE_API const struct pushcore_host *pushcore_user_host(const struct pushcore_user *user);
PUSHCORE_API void *pushcore_user_host_ctx(const struct pushcore_user *user);
/* the longest a commit may wait for endpoints, all drivers together
   (default PUSHCORE_DEFAULT_MAX_WAIT_MSECS) */
PUSHCORE_API unsigned int pushcore_user_max_wait_msecs(const struct pushcore_user *user);
PUSHCORE_API void pushcore_user_set_max_wait_msecs(struct pushcore_user *user, unsigned int msecs);
/* where notifications that could not be sent go (docs/spool.md; default
   PUSHCORE_DEFAULT_SPOOL_DIR); NULL: nowhere (pushadm driver test) */
PUSHCORE_API const char *pushcore_user_spool_dir(const struct pushcore_user *user);
PUSHCORE_API void pushcore_user_set_spool_dir(struct pushcore_user *user, const char *dir);
/* true: never send from here, hand everything to the dispatcher */
PUSHCORE_API bool pushcore_user_spool_only(const struct pushcore_user *user);
PUSHCORE_API void pushcore_user_set_spool_only(struct pushcore_user *user, bool spool_only);
/* the relay's socket (NULL or "": no hand-off; the default) and how long a
   commit waits for its acknowledgement (pushcore-relay-client.h) */
PUSHCORE_API
void pushcore_user_set_relay(struct pushcore_user *user, const char *socket_path,
			     unsigned int timeout_msecs);
PUSHCORE_API unsigned int pushcore_user_relay_timeout_msecs(const struct pushcore_user *user);
/* where driver modules are looked for (NULL: the directory configure
   chose); the setting push_notification_module_dir (2.4:
   push_notify_module_dir) */
PUSHCORE_API void pushcore_user_set_module_dir(struct pushcore_user *user, const char *dir);
/* the drivers that started, in order */
PUSHCORE_API unsigned int pushcore_user_driver_count(const struct pushcore_user *user);
PUSHCORE_API
struct pushcore_driver_instance *
pushcore_user_driver(const struct pushcore_user *user, unsigned int i);

/* A transaction. Opaque. */
PUSHCORE_API struct pushcore_pool *pushcore_txn_pool(const struct pushcore_txn *txn);
PUSHCORE_API struct pushcore_user *pushcore_txn_user(const struct pushcore_txn *txn);
PUSHCORE_API unsigned int pushcore_txn_event_count(const struct pushcore_txn *txn);
/* the first event (ev->next the others), in the order they were added;
   the host may still change them until the commit */
PUSHCORE_API struct pushcore_event *pushcore_txn_events(const struct pushcore_txn *txn);

PUSHCORE_API void pushcore_driver_register(const struct pushcore_driver *driver);
PUSHCORE_API void pushcore_driver_unregister(const struct pushcore_driver *driver);
PUSHCORE_API const struct pushcore_driver *pushcore_driver_lookup(const char *name);

/* Registers the built-in drivers (dlog, ox, http); idempotent. Other
   drivers (lua, redis, third parties') are modules, loaded when a
   configuration names them. */
PUSHCORE_API void pushcore_drivers_init(void);
/* Calls the deinit of every module loaded (they stay mapped). */
PUSHCORE_API void pushcore_drivers_deinit(void);

/* A driver module: a shared object DIR/push_driver_NAME.so that defines
   PUSHCORE_DRIVER_MODULE_SYMBOL as a struct pushcore_driver_module whose
   abi_version is the PUSHCORE_DRIVER_ABI_VERSION it was built against.
   A module built for another ABI version is refused. docs/driver-api.md. */
#define PUSHCORE_DRIVER_ABI_VERSION 1
/* the one symbol a module exports, whatever its visibility default */
#define PUSHCORE_DRIVER_MODULE_EXPORT __attribute__((visibility("default")))
#define PUSHCORE_DRIVER_MODULE_SYMBOL "pushcore_driver_module"
struct pushcore_driver_module {
	unsigned int abi_version;
	/* the drivers it registers, NULL-terminated (one of them is named
	   NAME: the file name says which module to load for a driver) */
	const struct pushcore_driver *const *drivers;
	/* Optional: the process ends (closes kept connections) */
	void (*deinit)(void);
};
/* Loads the module of the driver name from dir (NULL: the default
   directory) unless the driver is registered already. -1 with *error_r:
   no such module (naming the package to install for the project's own
   drivers), or it could not be loaded. */
PUSHCORE_API
int pushcore_driver_load(const char *name, const char *dir,
			 const struct pushcore_driver **driver_r,
			 const char **error_r);
/* The directory modules are looked for by default. */
PUSHCORE_API const char *pushcore_driver_module_dir(void);

PUSHCORE_API
struct pushcore_user *
pushcore_user_new(const char *username, const struct pushcore_host *host,
		  void *host_ctx);
/* Parses spec_str and starts a driver instance for it. On failure returns
   -1 with *error_r naming the driver and the cause. */
PUSHCORE_API
int pushcore_user_add_driver(struct pushcore_user *user,
			     const char *setting_name, const char *spec_str,
			     const char **error_r);
/* The same for a spec the host built (pushcore_spec_new/_add); the spec
   must live as long as the user (allocate it from pushcore_user_pool()). */
PUSHCORE_API
int pushcore_user_add_driver_spec(struct pushcore_user *user,
				  const char *setting_name,
				  const struct pushcore_spec *spec,
				  const char **error_r);
PUSHCORE_API void pushcore_user_free(struct pushcore_user **user);

/* True if any driver of the user wants events of this type. */
PUSHCORE_API
bool pushcore_user_wants(const struct pushcore_user *user,
			 enum pushcore_event_type type);

PUSHCORE_API struct pushcore_txn *pushcore_txn_begin(struct pushcore_user *user);
/* A new event in the transaction (appended, so order is kept). */
PUSHCORE_API
struct pushcore_event *pushcore_txn_add(struct pushcore_txn *txn,
					enum pushcore_event_type type,
					const char *mailbox);
/* Hands the events to the drivers and waits (bounded) for what they send. */
PUSHCORE_API void pushcore_txn_commit(struct pushcore_txn **txn);
/* Drops the events: nothing is sent. */
PUSHCORE_API void pushcore_txn_rollback(struct pushcore_txn **txn);

struct pushcore_http_request;
/* Sends one notification over HTTP for a driver instance and logs the
   outcome: success at debug level, failure as an error naming the driver,
   the endpoint (credentials hidden) and the cause. A temporary failure is
   written to the spool for the dispatcher to retry, a permanent one to the
   spool's failed area. With spool_only (pushcore_user_set_spool_only())
   nothing is sent here: the request goes straight to the spool.
   req->callback and req->context are ignored (this sets its own); id is
   the notification's unique id. The request goes out when the
   transaction commits. */
PUSHCORE_API
void pushcore_driver_send(struct pushcore_driver_instance *inst,
			  struct pushcore_txn *txn,
			  const struct pushcore_http_request *req,
			  const char *id);

struct pushcore_spool_entry;
struct pushcore_http_result;

/* The spool entry a notification becomes (req->method may also name a
   non-HTTP transport, e.g. "XADD"); allocated from txn's pool. */
PUSHCORE_API
void pushcore_driver_spool_entry(struct pushcore_driver_instance *inst,
				 struct pushcore_txn *txn,
				 const struct pushcore_http_request *req,
				 const char *id, struct pushcore_spool_entry *e);
/* A notification that could not be sent: one error line naming the
   driver, the endpoint, the cause; spooled for a retry when temporary,
   kept in the failed area when not. */
PUSHCORE_API
void pushcore_driver_failed(struct pushcore_driver_instance *inst,
			    struct pushcore_spool_entry *e, const char *error,
			    unsigned int attempts, bool temporary,
			    unsigned int retry_after_secs);
/* For tools (pushadm): called for every notification a driver sends, with
   the request and, once it finished, the result; with dry_run nothing is
   sent and the observer gets result NULL. NULL observer: back to normal. */
typedef void pushcore_send_observer_t(const struct pushcore_driver_instance *inst,
				      const struct pushcore_spool_entry *request,
				      const struct pushcore_http_result *result,
				      void *context);
PUSHCORE_API
void pushcore_set_send_observer(pushcore_send_observer_t *observer,
				void *context, bool dry_run);

/* The instance's rebuild hook, or -1 with "not relayable" when it has
   none. */
PUSHCORE_API
int pushcore_driver_rebuild(struct pushcore_driver_instance *inst,
			    struct pushcore_pool *pool,
			    const struct pushcore_spool_entry *e,
			    struct pushcore_http_request *req_r,
			    const char **error_r);
/* The instance of user whose setting (2.3) or block (2.4) name is name,
   as a record's driver field names it; NULL if none. */
PUSHCORE_API
struct pushcore_driver_instance *
pushcore_user_find_driver(struct pushcore_user *user, const char *name);
/* Stops every driver of user but the one named name (pushadm driver test
   SETTING); returns how many are left (0 or 1). */
PUSHCORE_API unsigned int pushcore_user_keep_driver(struct pushcore_user *user, const char *name);

/* Logs on behalf of a driver instance: with the instance as the line's
   origin (pushcore-log.h), which a text log shows as
   "<setting> (<driver>): <text>" (a dlog line as it is). */
PUSHCORE_API
void pushcore_driver_log(struct pushcore_driver_instance *inst,
			 enum pushcore_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
