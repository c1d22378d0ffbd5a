/* The plugin's side of the relay socket: one connection per process, one
   message per transaction, a bounded wait for the acknowledgement. */
#include "pushcore-relay-client.h"
#include "pushcore-relay-proto.h"
#include "pushcore-driver-private.h"
#include "pushcore-mem.h"
#include "pushcore-spool.h"
#include "pushcore-unix.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct relay_item {
	struct pushcore_driver_instance *inst;
	const struct pushcore_spool_entry *entry;
	pushcore_relay_fallback_t *fallback;
	void *context;
};

struct pushcore_relay_batch {
	unsigned int count, size;
	struct relay_item *items;
};

/* the process's connection; the relay is one per host */
static struct {
	int fd;
	char *path;
	uint32_t seq;
	/* no connect before this (pushcore_mono_msecs()) */
	long long retry_after;
	/* the fallback is logged once per process, as it may be for hours */
	bool fallback_logged;
	/* why the last exchange failed */
	int error;
} relay = { .fd = -1 };

bool pushcore_relay_wanted(const struct pushcore_user *user)
{
	if (user->relay_socket == NULL || user->relay_socket[0] == '\0')
		return false;
	/* a different socket: a new try, whatever happened to the old one */
	if (relay.path != NULL && strcmp(relay.path, user->relay_socket) != 0)
		return true;
	return pushcore_mono_msecs() >= relay.retry_after;
}

void pushcore_relay_add(struct pushcore_txn *txn,
			struct pushcore_driver_instance *inst,
			const struct pushcore_spool_entry *e,
			pushcore_relay_fallback_t *fallback, void *context)
{
	struct pushcore_relay_batch *b = txn->relay;
	struct relay_item *items;

	if (b == NULL)
		b = txn->relay = pushcore_palloc(txn->pool, sizeof(*b));
	if (b->count == b->size) {
		b->size = b->size == 0 ? 8 : b->size * 2;
		items = pushcore_palloc(txn->pool, sizeof(*items) * b->size);
		if (b->count > 0)
			memcpy(items, b->items, sizeof(*items) * b->count);
		b->items = items;
	}
	b->items[b->count++] = (struct relay_item){ inst, e, fallback, context };
}

static void relay_close(void)
{
	if (relay.fd >= 0)
		close(relay.fd);
	relay.fd = -1;
}

void pushcore_relay_deinit(void)
{
	relay_close();
	free(relay.path);
	relay.path = NULL;
}

static int relay_connect(const char *path, long long deadline)
{
	/* a busy relay's full backlog is waited out within the bound */
	relay.fd = pushcore_unix_connect(path, SOCK_NONBLOCK, deadline);
	return relay.fd < 0 ? -1 : 0;
}

/* Reads the acknowledgement of message seq. */
static int relay_read_ack(struct pushcore_pool *pool, uint32_t seq,
			  long long deadline, struct pushcore_relay_msg *ack_r,
			  const char **error_r)
{
	struct pushcore_buf buf;
	char data[4096];
	size_t frame_size = 0;
	ssize_t ret;
	int ok = 0;

	pushcore_buf_init(&buf);
	while (ok == 0) {
		/* the relay answers after its disk sync; one that answers a
		   byte at a time is cut off at the deadline too */
		ret = pushcore_unix_read(relay.fd, data, sizeof(data), deadline);
		if (ret < 0) {
			*error_r = pushcore_psprintf(pool, "no acknowledgement "
				"within the relay timeout (%s)", strerror(errno));
			ok = -1;
		} else if (ret == 0) {
			*error_r = "the relay closed the connection";
			ok = -1;
		} else {
			pushcore_buf_append(&buf, data, (size_t)ret);
			ok = pushcore_relay_frame(buf.data, buf.len, &frame_size, error_r);
		}
	}
	if (ok > 0 && pushcore_relay_decode(pool, buf.data, frame_size, ack_r,
					    error_r) < 0)
		ok = -1;
	if (ok > 0 && (ack_r->type != PUSHCORE_RELAY_ACK || ack_r->seq != seq ||
		       frame_size != buf.len)) {
		*error_r = "unexpected answer from the relay";
		ok = -1;
	}
	pushcore_buf_free(&buf);
	return ok > 0 ? 0 : -1;
}

/* A kept connection the relay closed since (restarted, idle limit) is
   readable: EOF. Anything readable between messages ends it. */
static bool relay_conn_stale(void)
{
	struct pollfd pfd = { .fd = relay.fd, .events = POLLIN };

	return poll(&pfd, 1, 0) != 0;
}

/* Sends one message and reads its ack; -1 with *error_r. *sent_r says
   whether the relay may have taken the message (then no second try). */
static int relay_exchange(struct pushcore_pool *pool, const char *path,
			  const struct pushcore_buf *msg, uint32_t seq,
			  long long deadline, struct pushcore_relay_msg *ack_r,
			  const char **error_r)
{
	if (relay.fd >= 0 && relay_conn_stale())
		relay_close();
	if (relay.fd < 0 && relay_connect(path, deadline) < 0) {
		relay.error = errno;
		*error_r = pushcore_psprintf(pool, "can't connect: %s",
					     strerror(relay.error));
	} else if (pushcore_unix_send_all(relay.fd, msg->data, msg->len, deadline) < 0) {
		relay.error = errno;
		*error_r = pushcore_psprintf(pool, "sending failed: %s",
					     strerror(relay.error));
	} else if (relay_read_ack(pool, seq, deadline, ack_r, error_r) < 0) {
		relay.error = EPROTO;
	} else {
		return 0;
	}
	relay_close();
	return -1;
}

static void relay_log_fallback(struct pushcore_user *user, const char *error)
{
	/* no socket at all: the relay is not installed or not started, a
	   normal setup; anything else deserves a warning */
	enum pushcore_log_level level =
		relay.error == ENOENT || relay.error == ECONNREFUSED ?
		PUSHCORE_LOG_INFO : PUSHCORE_LOG_WARNING;

	if (relay.fallback_logged)
		return;
	relay.fallback_logged = true;
	pushcore_log(level, user->host_ctx, "The relay at %s (push_notification_relay_socket) "
		     "is not usable: %s; this process sends notifications itself "
		     "and spools what fails (logged once per process)",
		     user->relay_socket, error);
}

/* A record's size in a SUBMIT frame, at most: its body, the names it
   carries and the spool format's fixed fields. */
static size_t relay_record_size(const struct pushcore_spool_entry *e)
{
	return 256 + strlen(e->user) + strlen(e->driver) + strlen(e->method) +
		e->body_len;
}

/* How many of items, from the first, go in one message: at most
   RELAY_CHUNK_ENTRIES, in one frame. A transaction of many notifications
   (a flag change on a large mailbox) takes several, each acknowledged
   well within the relay timeout: the relay took 20 to 95 ms for one
   message of 1000 as its journal grew to 12000 rows (random ids scatter
   a large transaction over the journal's pages). */
#define RELAY_CHUNK_ENTRIES 256
static unsigned int relay_chunk(const struct relay_item *items, unsigned int count)
{
	size_t size = 64;
	unsigned int n;

	for (n = 0; n < count && n < RELAY_CHUNK_ENTRIES; n++) {
		size += relay_record_size(items[n].entry);
		if (n > 0 && size > PUSHCORE_RELAY_MAX_FRAME)
			break;
	}
	return n;
}

static int relay_submit(struct pushcore_txn *txn, const struct relay_item *items,
			unsigned int count, const char **error_r)
{
	struct pushcore_user *user = txn->user;
	const struct pushcore_spool_entry **entries;
	long long deadline = pushcore_mono_msecs() + user->relay_timeout_msecs;
	struct pushcore_relay_msg ack;
	struct pushcore_buf msg;
	unsigned int i;
	int ret;

	if (relay.path == NULL || strcmp(relay.path, user->relay_socket) != 0) {
		pushcore_relay_deinit();
		relay.path = pushcore_xstrdup(user->relay_socket);
	}
	entries = pushcore_palloc(txn->pool, sizeof(*entries) * count);
	for (i = 0; i < count; i++)
		entries[i] = items[i].entry;
	pushcore_buf_init(&msg);
	pushcore_relay_encode_submit(&msg, ++relay.seq, entries, count);
	if (msg.len - 4 > PUSHCORE_RELAY_MAX_FRAME) {
		/* one notification larger than a frame: the relay would
		   take the connection for garbage */
		*error_r = pushcore_psprintf(txn->pool, "notification %s is too "
			"large for the relay (%zu bytes)", entries[0]->id, msg.len);
		relay.error = E2BIG;
		pushcore_buf_free(&msg);
		return -1;
	}
	ret = relay_exchange(txn->pool, relay.path, &msg, relay.seq, deadline,
			     &ack, error_r);
	pushcore_buf_free(&msg);
	if (ret == 0 && ack.status != PUSHCORE_RELAY_OK) {
		*error_r = pushcore_psprintf(txn->pool, "The relay at %s refused "
			"the notifications: %s", relay.path, ack.text);
		relay.error = EPERM;
		return -1;
	}
	return ret;
}

static void relay_item_fallback(const struct relay_item *item)
{
	if (item->fallback != NULL)
		item->fallback(item->context);
}

void pushcore_relay_flush(struct pushcore_txn *txn)
{
	struct pushcore_relay_batch *b = txn->relay;
	const char *error;
	unsigned int i, n, done = 0;

	if (b == NULL || b->count == 0)
		return;
	txn->relay = NULL;
	for (; done < b->count; done += n) {
		n = relay_chunk(b->items + done, b->count - done);
		if (relay_submit(txn, b->items + done, n, &error) < 0) {
			if (relay.error != E2BIG)
				break;
			/* a notification larger than a frame: it alone is
			   sent by the delivery itself, the rest go on */
			pushcore_log(PUSHCORE_LOG_ERROR, txn->user->host_ctx, "%s", error);
			relay_item_fallback(&b->items[done]);
			n = 1;
			continue;
		}
		relay.retry_after = 0;
		for (i = done; i < done + n; i++) {
			pushcore_outcome_report(b->items[i].inst, b->items[i].entry,
				PUSHCORE_RESULT_RELAYED, 0, NULL, 0, PUSHCORE_LOG_DEBUG,
				"Notification %s handed to the relay", b->items[i].entry->id);
		}
	}
	if (done == b->count)
		return;
	/* a refusal is about this message, not the relay: no pause */
	if (relay.error == EPERM)
		pushcore_log(PUSHCORE_LOG_ERROR, txn->user->host_ctx, "%s", error);
	else {
		relay_log_fallback(txn->user, error);
		relay.retry_after = pushcore_mono_msecs() + PUSHCORE_RELAY_RECONNECT_SECS * 1000;
	}
	/* what the relay did not take: the delivery sends it itself */
	for (i = done; i < b->count; i++)
		relay_item_fallback(&b->items[i]);
}
