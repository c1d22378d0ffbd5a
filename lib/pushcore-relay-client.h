#ifndef PUSHCORE_RELAY_CLIENT_H
#define PUSHCORE_RELAY_CLIENT_H

#include "pushcore-api.h"

/* The hand-off to the relay (pushadm relay run): a committed transaction's
   relayable notifications go in ONE message over a connection this process
   keeps open, and the commit waits only for the relay's acknowledgement
   that they are journaled. When the relay is absent, refuses or does not
   answer within the user's relay timeout, each notification's fallback
   runs instead (send within max_delay, spool what fails: today's
   behaviour), so nothing is lost. docs/spool.md "The relay". */

#include <stdbool.h>

struct pushcore_driver_instance;
struct pushcore_spool_entry;
struct pushcore_txn;
struct pushcore_user;

#define PUSHCORE_DEFAULT_RELAY_SOCKET "/run/dovecot-push-notify/relay.sock"
#define PUSHCORE_DEFAULT_RELAY_TIMEOUT_MSECS 250
/* after a failure, the next connect is tried this much later at the
   earliest: a missing relay costs no connect per delivery */
#define PUSHCORE_RELAY_RECONNECT_SECS 5

typedef void pushcore_relay_fallback_t(void *context);

/* Whether the user's notifications should go to the relay now: a socket is
   configured and the last failure is not too recent. */
PUSHCORE_API bool pushcore_relay_wanted(const struct pushcore_user *user);

/* Adds a notification (copied by reference: e must live as long as txn)
   to the transaction's message for the relay. fallback (may be NULL) runs
   if the relay does not take the message, in the order added. */
PUSHCORE_API
void pushcore_relay_add(struct pushcore_txn *txn,
			struct pushcore_driver_instance *inst,
			const struct pushcore_spool_entry *e,
			pushcore_relay_fallback_t *fallback, void *context);

/* Sends the transaction's message and waits (bounded) for the ack; runs
   the fallbacks when it does not come. Called by pushcore_txn_commit. */
void pushcore_relay_flush(struct pushcore_txn *txn);

/* Closes the process's connection (tests, process exit). */
void pushcore_relay_deinit(void);

#endif
