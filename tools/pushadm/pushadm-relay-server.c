/* The relay's socket side. Every client socket is non-blocking and every
   client is bounded (frame size, entries per message, time to finish a
   message or to read its acks), so one peer that sends garbage or stalls
   is disconnected and never holds up another. */
#define _GNU_SOURCE	/* struct ucred */
#include "pushadm.h"
#include "pushadm-relay-server.h"
#include "pushadm-relay-queue.h"
#include "pushadm-trust.h"
#include "pushcore.h"
#include "pushcore-relay-proto.h"
#include "pushcore-unix.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* acks a client has not read: beyond this it is not reading them */
#define RELAY_MAX_CLIENT_OUTPUT (1024 * 1024)
#define RELAY_ACCEPTS_PER_ROUND 64
/* an idle connection's input buffer larger than this is given back */
#define RELAY_CLIENT_KEEP_BUFFER (64 * 1024)
/* outcomes alone (sent, retry times) wait this long, or until this many,
   for an acknowledged transaction to ride with */
#define RELAY_OUTCOME_WAIT_MSECS 100
#define RELAY_OUTCOME_BATCH 512
/* a line that could come with every message comes once in this long */
#define RELAY_LOG_LIMIT_SECS 10

struct relay_client {
	int fd;
	uid_t uid;
	pid_t pid;
	/* its messages not acknowledged yet: a dead client is freed only
	   when none is left (they point at it) */
	unsigned int pending;
	struct pushcore_buf in, out;
	/* when the unfinished input or the unsent output began (0: none) */
	time_t in_since, out_since;
	bool dead;
};

/* A message's entries sent before they are journaled (send_first) carry
   a tag: the message's serial, then the entry's index in these bits. */
#define TAG_INDEX_BITS 10
#if PUSHCORE_RELAY_MAX_ENTRIES > (1 << TAG_INDEX_BITS)
#  error "a message's entries outnumber the tag's index bits"
#endif

/* one SUBMIT not acknowledged yet */
struct relay_pending {
	struct relay_pending *next;
	struct relay_client *client;
	struct pushcore_pool *pool;
	struct pushcore_relay_msg msg;
	/* send_first: its entries went to the queue when it was read; those
	   their endpoints took (or failed for good) are settled. It is
	   acknowledged once all are, or journaled (the unsettled ones) at
	   its deadline (monotonic msecs) or once one of them must wait. */
	bool first, journal_now;
	unsigned long long serial;
	long long deadline;
	bool *settled;
	unsigned int unsettled;
	/* in the transaction being committed */
	bool due;
};

int relay_listen(struct relay_server *srv, const char **error_r)
{
	srv->listen_fd = -1;
	if (srv->socket_path[0] == '\0')
		return 0;
	srv->listen_fd = relay_unix_listen(srv->socket_path,
					   "push_notification_relay_socket",
					   srv->conf.socket_uid,
					   srv->conf.socket_gid,
					   srv->conf.socket_mode, 128,
					   &srv->socket_ino, error_r);
	return srv->listen_fd < 0 ? -1 : 0;
}

static const char *uid_name(uid_t uid)
{
	static char name[64];
	struct passwd *pw = getpwuid(uid);

	snprintf(name, sizeof(name), "%s", pw != NULL ? pw->pw_name : "?");
	return name;
}

static void client_close(struct relay_client *c, const char *why)
{
	if (why != NULL) {
		pushcore_log(PUSHCORE_LOG_WARNING, NULL, "relay: disconnecting "
			     "uid %lu (%s) pid %ld: %s", (unsigned long)c->uid,
			     uid_name(c->uid), (long)c->pid, why);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->dead = true;
}

static void client_flush(struct relay_client *c)
{
	ssize_t ret;

	while (c->out.len > 0 && !c->dead) {
		ret = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (ret < 0) {
			if (errno != EAGAIN && errno != EINTR)
				client_close(c, NULL);
			break;
		}
		memmove(c->out.data, c->out.data + ret, c->out.len - (size_t)ret);
		c->out.len -= (size_t)ret;
	}
	c->out_since = c->out.len == 0 ? 0 : (c->out_since != 0 ? c->out_since : time(NULL));
	if (c->out.len > RELAY_MAX_CLIENT_OUTPUT)
		client_close(c, "it does not read its acknowledgements");
}

static void client_ack(struct relay_client *c, uint32_t seq,
		       enum pushcore_relay_status status, unsigned int count,
		       const char *text)
{
	if (c->dead)
		return;
	pushcore_relay_encode_ack(&c->out, seq, status, count, text);
	client_flush(c);
}

static void relay_accept(struct relay_server *srv)
{
	struct relay_client *c, **clients;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	unsigned int i;
	int fd;

	for (i = 0; i < RELAY_ACCEPTS_PER_ROUND; i++) {
		fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			/* the connection stays queued and the socket readable:
			   stop looking at it for a second instead of spinning */
			pushcore_log(PUSHCORE_LOG_WARNING, NULL, "relay: accept() "
				     "failed: %s; new connections wait", strerror(errno));
			srv->accept_paused_until = time(NULL) + 1;
			return;
		}
		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd);
			continue;
		}
		if (!pushadm_trust_may_connect(srv->trust, cred.uid)) {
			pushcore_log(PUSHCORE_LOG_WARNING, NULL, "relay: refused a "
				     "connection from uid %lu (%s) pid %ld: not "
				     "a mail uid (relay.conf allowed_uids adds one)",
				     (unsigned long)cred.uid, uid_name(cred.uid),
				     (long)cred.pid);
			close(fd);
			continue;
		}
		if (srv->client_count >= srv->conf.max_clients) {
			pushcore_log(PUSHCORE_LOG_WARNING, NULL, "relay: %u clients "
				     "connected (relay.conf max_clients); refusing "
				     "pid %ld", srv->client_count, (long)cred.pid);
			close(fd);
			continue;
		}
		c = pushcore_xmalloc(sizeof(*c));
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->uid = cred.uid;
		c->pid = cred.pid;
		pushcore_buf_init(&c->in);
		pushcore_buf_init(&c->out);
		clients = pushcore_xrealloc(srv->clients, sizeof(*clients) *
					    (srv->client_count + 1));
		clients[srv->client_count++] = c;
		srv->clients = clients;
	}
}

/* All of a message's users must be the peer's to submit for, or none of
   it is taken. */
static bool relay_may_submit(struct relay_server *srv, struct relay_client *c,
			     const struct pushcore_relay_msg *msg,
			     const char **text_r)
{
	static char text[512];
	const char *why = "refused";
	unsigned int i;

	for (i = 0; i < msg->count; i++) {
		if (pushadm_trust_may_submit(srv->trust, c->uid,
					     msg->entries[i]->user, &why))
			continue;
		pushcore_log(PUSHCORE_LOG_WARNING, NULL, "relay: refused a "
			     "submission from uid %lu (%s) pid %ld for user %s: %s",
			     (unsigned long)c->uid, uid_name(c->uid), (long)c->pid,
			     msg->entries[i]->user, why);
		snprintf(text, sizeof(text), "uid %lu may not submit for user %s: %s",
			 (unsigned long)c->uid, msg->entries[i]->user, why);
		*text_r = text;
		return false;
	}
	return true;
}

/* A condition that can come with every message (a flood, a full disk)
   is logged once per RELAY_LOG_LIMIT_SECS, with how many times it came in
   between: true when this time may be logged (*held_r: those). */
struct relay_log_limit {
	time_t logged;
	unsigned int held;
};

static bool relay_log_limit_pass(struct relay_log_limit *l, unsigned int *held_r)
{
	time_t now = time(NULL);

	if (l->logged != 0 && now - l->logged < RELAY_LOG_LIMIT_SECS) {
		l->held++;
		return false;
	}
	*held_r = l->held;
	l->logged = now;
	l->held = 0;
	return true;
}

/* Whether the relay, or a user of the message, has as much waiting as
   relay.conf allows (messages of this round not journaled yet are not
   counted: one round may go that far beyond). */
static bool relay_queue_full(struct relay_server *srv, struct relay_client *c,
			     const struct pushcore_relay_msg *msg,
			     const char **text_r)
{
	static char text[512];
	static struct relay_log_limit limit;
	struct relay_queue_bound bound;
	unsigned int i, held;

	for (i = 0; i < msg->count; i++) {
		if (!relay_queue_full_for(srv->queue, msg->entries[i]->user,
					  msg->entries[i]->body_len, &bound))
			continue;
		if (relay_log_limit_pass(&limit, &held)) {
			pushcore_log(PUSHCORE_LOG_WARNING, NULL, "relay: not taking "
				     "notifications for user %s from uid %lu (%s) "
				     "pid %ld: as many wait %s as relay.conf %s "
				     "allows (%u more messages refused for that "
				     "since the last such line)", msg->entries[i]->user,
				     (unsigned long)c->uid, uid_name(c->uid), (long)c->pid,
				     bound.per_user ? "for the user" : "in all",
				     bound.setting, held);
		}
		if (bound.per_user) {
			snprintf(text, sizeof(text), "user %s has as many "
				 "notifications waiting as relay.conf %s allows",
				 msg->entries[i]->user, bound.setting);
		} else {
			snprintf(text, sizeof(text), "the relay has as many "
				 "notifications waiting as relay.conf %s allows",
				 bound.setting);
		}
		*text_r = text;
		return true;
	}
	return false;
}

static void relay_retry_msg(struct relay_server *srv, struct relay_client *c,
			    const struct pushcore_relay_msg *msg)
{
	const char *const *ids = msg->count == 0 ? NULL : msg->ids;
	const char *error;
	unsigned int count;

	/* only root runs pushadm relay retry */
	if (c->uid != 0) {
		client_ack(c, msg->seq, PUSHCORE_RELAY_REFUSED, 0,
			   "only root may make entries due");
		return;
	}
	if (relay_journal_begin(srv->journal, true, &error) < 0 ||
	    relay_journal_retry(srv->journal, ids, &error) < 0 ||
	    relay_journal_commit(srv->journal, &error) < 0) {
		client_ack(c, msg->seq, PUSHCORE_RELAY_FAILED, 0, error);
		return;
	}
	count = relay_queue_retry(srv->queue, ids);
	client_ack(c, msg->seq, PUSHCORE_RELAY_OK, count, NULL);
}

/* The entries go to the queue now, before the journal: an endpoint that
   answers within send_first_msecs takes them before a disk flush would
   have ended, and a hand-off its endpoints took needs no journal. Until
   the acknowledgement the sender keeps them, so a crash loses nothing
   (it sends them itself: at most once more, with the same ids). */
static void pending_send_first(struct relay_server *srv, struct relay_pending *p)
{
	unsigned int i;

	p->first = true;
	p->serial = ++srv->pending_serial;
	p->deadline = pushcore_mono_msecs() + srv->conf.queue.send_first_msecs;
	p->settled = pushcore_palloc(p->pool, sizeof(*p->settled) *
				     (p->msg.count + 1));
	memset(p->settled, 0, sizeof(*p->settled) * (p->msg.count + 1));
	p->unsettled = p->msg.count;
	for (i = 0; i < p->msg.count; i++) {
		relay_queue_add_first(srv->queue, p->msg.entries[i],
				      (p->serial << TAG_INDEX_BITS) | i);
	}
}

bool relay_pending_settle(struct relay_server *srv, unsigned long long tag,
			  bool done)
{
	unsigned long long serial = tag >> TAG_INDEX_BITS;
	unsigned int i = (unsigned int)(tag & ((1U << TAG_INDEX_BITS) - 1));
	struct relay_pending *p;

	if (tag == 0)
		return false;
	for (p = srv->pending; p != NULL; p = p->next) {
		if (p->serial == serial)
			break;
	}
	/* journaled (or refused) since: an entry like any other */
	if (p == NULL || i >= p->msg.count)
		return false;
	if (!done) {
		p->journal_now = true;
		return false;
	}
	if (!p->settled[i]) {
		p->settled[i] = true;
		p->unsettled--;
	}
	return true;
}

/* Handles one complete frame; false when the client must go. */
static bool relay_handle_frame(struct relay_server *srv, struct relay_client *c,
			       const void *frame, size_t size)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct relay_pending *p;
	struct pushcore_relay_msg msg;
	const char *error;

	if (pushcore_relay_decode(pool, frame, size, &msg, &error) < 0 ||
	    msg.type == PUSHCORE_RELAY_ACK) {
		client_close(c, msg.type == PUSHCORE_RELAY_ACK ?
			     "unexpected acknowledgement" : error);
		pushcore_pool_free(&pool);
		return false;
	}
	if (msg.type == PUSHCORE_RELAY_RETRY) {
		relay_retry_msg(srv, c, &msg);
		pushcore_pool_free(&pool);
		return true;
	}
	if (!relay_may_submit(srv, c, &msg, &error)) {
		/* and no more of this connection: each refusal costs a userdb
		   lookup, and a peer that sends thousands of them in one
		   write must not make the others wait that long */
		client_ack(c, msg.seq, PUSHCORE_RELAY_REFUSED, 0, error);
		client_close(c, "it submitted for a user it may not");
		pushcore_pool_free(&pool);
		return false;
	}
	if (relay_queue_full(srv, c, &msg, &error)) {
		/* the sender sends these itself and spools what fails: on
		   disk, where the takeover finds them once there is room */
		client_ack(c, msg.seq, PUSHCORE_RELAY_FAILED, 0, error);
		pushcore_pool_free(&pool);
		return true;
	}
	p = pushcore_palloc(pool, sizeof(*p));
	memset(p, 0, sizeof(*p));
	p->client = c;
	p->pool = pool;
	p->msg = msg;
	*srv->pending_tail = p;
	srv->pending_tail = &p->next;
	srv->pending_count++;
	c->pending++;
	if (srv->conf.queue.send_first_msecs > 0)
		pending_send_first(srv, p);
	return true;
}

/* Reads everything readable now (bounded) and handles complete frames. */
static void client_read(struct relay_server *srv, struct relay_client *c)
{
	char data[65536];
	size_t used = 0, frame_size, budget = 2 * PUSHCORE_RELAY_MAX_FRAME;
	const char *error;
	ssize_t ret;
	int ok;

	while (budget > 0) {
		ret = read(c->fd, data, sizeof(data));
		if (ret == 0 || (ret < 0 && errno != EAGAIN && errno != EINTR)) {
			/* a plugin process that ends: the normal way out */
			client_close(c, NULL);
			return;
		}
		if (ret < 0)
			break;
		pushcore_buf_append(&c->in, data, (size_t)ret);
		budget = (size_t)ret > budget ? 0 : budget - (size_t)ret;
		/* a short read took what there was: the next poll() tells of
		   more, without a read() that fails with EAGAIN per message */
		if ((size_t)ret < sizeof(data))
			break;
	}
	while ((ok = pushcore_relay_frame(c->in.data + used, c->in.len - used,
					  &frame_size, &error)) > 0) {
		if (!relay_handle_frame(srv, c, c->in.data + used, frame_size))
			return;
		used += frame_size;
	}
	if (ok < 0) {
		client_close(c, error);
		return;
	}
	memmove(c->in.data, c->in.data + used, c->in.len - used);
	c->in.len -= used;
	/* one large message once must not keep megabytes per connection for
	   as long as it stays open */
	if (c->in.len == 0 && c->in.size > RELAY_CLIENT_KEEP_BUFFER)
		pushcore_buf_free(&c->in);
	c->in_since = c->in.len == 0 ? 0 : (c->in_since != 0 ? c->in_since : time(NULL));
}

void relay_outcome_add(struct relay_server *srv, enum relay_outcome_type type,
		       const struct pushcore_spool_entry *e, unsigned int attempts,
		       long long next_attempt, const char *last_error)
{
	struct relay_outcome *o;
	struct pushcore_spool_entry failed;
	const char *error;

	if (type == RELAY_OUTCOME_FAILED) {
		/* kept aside where pushadm spool list --failed looks */
		failed = *e;
		failed.last_error = last_error;
		if (pushcore_spool_write(srv->spool_dir, PUSHCORE_SPOOL_FAILED,
					 &failed, &error) < 0) {
			pushcore_log(PUSHCORE_LOG_ERROR, NULL, "relay: notification %s "
				     "failed (%s) and can't be kept: %s", e->id,
				     last_error, error);
		}
	}
	if (srv->outcome_count == srv->outcome_size) {
		srv->outcome_size = srv->outcome_size == 0 ? 64 : srv->outcome_size * 2;
		srv->outcomes = pushcore_xrealloc(srv->outcomes, sizeof(*o) *
						  srv->outcome_size);
	}
	if (srv->outcome_count == 0)
		srv->outcomes_since = pushcore_mono_msecs();
	o = &srv->outcomes[srv->outcome_count++];
	memset(o, 0, sizeof(*o));
	o->type = type;
	snprintf(o->id, sizeof(o->id), "%s", e->id);
	o->driver = pushcore_xstrdup(e->driver);
	o->attempts = attempts;
	o->next_attempt = next_attempt;
	o->last_error = last_error == NULL ? NULL : pushcore_xstrdup(last_error);
}

static int apply_outcomes(struct relay_server *srv, const char **error_r)
{
	struct relay_outcome *o;
	unsigned int i;

	for (i = 0; i < srv->outcome_count; i++) {
		o = &srv->outcomes[i];
		if (o->type == RELAY_OUTCOME_RETRY ?
		    relay_journal_update(srv->journal, o->id, o->driver, o->attempts,
					 o->next_attempt, o->last_error, error_r) < 0 :
		    relay_journal_remove(srv->journal, o->id, o->driver, error_r) < 0)
			return -1;
	}
	return 0;
}

static void outcomes_clear(struct relay_server *srv)
{
	unsigned int i;

	for (i = 0; i < srv->outcome_count; i++) {
		free(srv->outcomes[i].last_error);
		free(srv->outcomes[i].driver);
	}
	srv->outcome_count = 0;
}

/* Journals the messages due; which entries were new goes to is_new. Of
   those sent first, the settled ones are not journaled. */
static int journal_pending(struct relay_server *srv, bool *is_new,
			   const char **error_r)
{
	struct relay_pending *p;
	unsigned int i, n = 0;
	int ret;

	for (p = srv->pending; p != NULL; p = p->next) {
		for (i = 0; p->due && i < p->msg.count; i++) {
			if (p->first && p->settled[i]) {
				is_new[n++] = false;
				continue;
			}
			ret = relay_journal_add(srv->journal, p->msg.entries[i], error_r);
			if (ret < 0)
				return -1;
			is_new[n++] = ret == 0;
		}
	}
	return 0;
}

/* Outcomes alone are committed only when they have waited long enough or
   are many: under load they ride with the acknowledged transactions, one
   transaction per round instead of two (an outcome lost in a crash means
   a notification sent again with its id). */
static bool outcomes_due(const struct relay_server *srv)
{
	return srv->outcome_count >= RELAY_OUTCOME_BATCH ||
		pushcore_mono_msecs() - srv->outcomes_since >= RELAY_OUTCOME_WAIT_MSECS;
}

/* Acknowledges p (with its status) and forgets it; *pp points at it. */
static void pending_done(struct relay_server *srv, struct relay_pending **pp,
			 bool ok)
{
	struct relay_pending *p = *pp;

	client_ack(p->client, p->msg.seq, ok ? PUSHCORE_RELAY_OK :
		   PUSHCORE_RELAY_FAILED, ok ? p->msg.count : 0,
		   ok ? NULL : "the relay's journal failed");
	*pp = p->next;
	if (srv->pending_tail == &p->next)
		srv->pending_tail = pp;
	srv->pending_count--;
	p->client->pending--;
	pushcore_pool_free(&p->pool);
}

/* Messages sent first whose entries are all settled: taken by their
   endpoints (or failed for good, kept aside), so acknowledged without
   the journal. */
static void pending_ack_settled(struct relay_server *srv)
{
	struct relay_pending **pp = &srv->pending;

	while (*pp != NULL) {
		if (!(*pp)->first || (*pp)->unsettled > 0) {
			pp = &(*pp)->next;
			continue;
		}
		if (srv->conf.queue.debug) {
			pushcore_log(PUSHCORE_LOG_DEBUG, NULL, "relay: %u "
				     "notifications taken by their endpoints "
				     "before the journal; acknowledged",
				     (*pp)->msg.count);
		}
		pending_done(srv, pp, true);
	}
}

/* Marks the messages the journal takes now; returns how many
   notifications they hold, *count_r how many messages. */
static unsigned int pending_mark_due(struct relay_server *srv, bool force,
				     unsigned int *count_r)
{
	long long now = pushcore_mono_msecs();
	unsigned int total = 0, count = 0;
	struct relay_pending *p;

	for (p = srv->pending; p != NULL; p = p->next) {
		p->due = force || !p->first || p->journal_now || now >= p->deadline;
		if (p->due) {
			total += p->msg.count;
			count++;
		}
	}
	*count_r = count;
	return total;
}

void relay_commit(struct relay_server *srv, bool force)
{
	/* a full disk fails every commit until there is room */
	static struct relay_log_limit journal_limit;
	struct relay_pending **pp;
	unsigned int i, n = 0, total, due, held;
	const char *error = NULL;
	bool *is_new, ok;

	pending_ack_settled(srv);
	total = pending_mark_due(srv, force, &due);
	if (due == 0 &&
	    (srv->outcome_count == 0 || (!force && !outcomes_due(srv))))
		return;
	is_new = pushcore_xmalloc(sizeof(*is_new) * (total + 1));
	ok = relay_journal_begin(srv->journal, due > 0, &error) == 0 &&
		journal_pending(srv, is_new, &error) == 0 &&
		apply_outcomes(srv, &error) == 0 &&
		relay_journal_commit(srv->journal, &error) == 0;
	if (!ok) {
		relay_journal_rollback(srv->journal);
		if (relay_log_limit_pass(&journal_limit, &held)) {
			pushcore_log(PUSHCORE_LOG_ERROR, NULL, "relay: %s; %u messages "
				     "not accepted (their senders send them "
				     "themselves; %u more failed commits since the "
				     "last such line)", error, due, held);
		}
		/* the outcomes are kept: tried again in a while, not at once
		   (a journal that keeps failing must not spin the loop) */
		srv->outcomes_since = pushcore_mono_msecs();
	} else {
		/* what the group commit shared (pushadm -D) */
		if (srv->conf.queue.debug) {
			pushcore_log(PUSHCORE_LOG_DEBUG, NULL, "relay: one "
				     "transaction: %u notifications of %u "
				     "messages, %u outcomes", total, due,
				     srv->outcome_count);
		}
		outcomes_clear(srv);
	}
	/* on disk now: the acks, then the queue (entries sent first are in
	   it already; after a failed commit they are still sent, and their
	   senders send them too: at most once more, with the same ids) */
	for (pp = &srv->pending; *pp != NULL;) {
		struct relay_pending *p = *pp;

		if (!p->due) {
			pp = &p->next;
			continue;
		}
		for (i = 0; i < p->msg.count; i++, n++) {
			if (ok && is_new[n] && !p->first)
				relay_queue_add(srv->queue, p->msg.entries[i]);
		}
		pending_done(srv, pp, ok);
	}
	free(is_new);
}

static void client_free(struct relay_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	pushcore_buf_free(&c->in);
	pushcore_buf_free(&c->out);
	free(c);
}

/* Stalled ones go; dead ones are freed (after the commit, which may still
   point at them). */
static void relay_sweep_clients(struct relay_server *srv)
{
	time_t now = time(NULL), limit = (time_t)srv->conf.client_timeout_secs;
	unsigned int i, kept = 0;
	struct relay_client *c;

	for (i = 0; i < srv->client_count; i++) {
		c = srv->clients[i];
		if (!c->dead && c->in_since != 0 && now - c->in_since >= limit)
			client_close(c, "it stalled in the middle of a message");
		if (!c->dead && c->out_since != 0 && now - c->out_since >= limit)
			client_close(c, "it does not read its acknowledgements");
		if (c->dead && c->pending == 0)
			client_free(c);
		else
			srv->clients[kept++] = c;
	}
	srv->client_count = kept;
}

void relay_iteration(struct relay_server *srv, unsigned int max_wait_msecs)
{
	unsigned int i, n = 0, timeout = relay_queue_run(srv->queue);
	struct relay_pending *p;
	long long now;
	struct relay_client *c;
	struct pollfd *fds;

	if (srv->client_count + 1 > srv->poll_size) {
		srv->poll_size = srv->client_count + 1 > srv->poll_size * 2 ?
			srv->client_count + 1 : srv->poll_size * 2;
		srv->poll_fds = pushcore_xrealloc(srv->poll_fds, sizeof(*srv->poll_fds) *
						  srv->poll_size);
	}
	fds = srv->poll_fds;
	if (srv->pending_tail == NULL)
		srv->pending_tail = &srv->pending;
	if (srv->listen_fd >= 0)
		fds[n++] = (struct pollfd){ .fd = srv->listen_fd,
			.events = time(NULL) >= srv->accept_paused_until ? POLLIN : 0 };
	for (i = 0; i < srv->client_count; i++) {
		c = srv->clients[i];
		fds[n++] = (struct pollfd){ .fd = c->fd, .events = POLLIN |
			(c->out.len > 0 ? POLLOUT : 0) };
	}
	/* messages sent first are journaled at their deadline; those the
	   queue settled, or said must wait, in this round (relay_queue_run()
	   above told of it: no wait for the deadline) */
	now = pushcore_mono_msecs();
	for (p = srv->pending; p != NULL && timeout > 0; p = p->next) {
		if (!p->first)
			continue;
		if (p->unsettled == 0 || p->journal_now || p->deadline <= now)
			timeout = 0;
		else if (timeout > p->deadline - now)
			timeout = (unsigned int)(p->deadline - now);
	}
	/* outcomes wait for the next transaction: not long */
	if (srv->outcome_count > 0) {
		long long left = srv->outcomes_since + RELAY_OUTCOME_WAIT_MSECS - now;

		left = left < 0 ? 0 : left;
		if (timeout > left)
			timeout = (unsigned int)left;
	}
	if (timeout > max_wait_msecs)
		timeout = max_wait_msecs;
	if (relay_queue_wait(srv->queue, fds, n, timeout) > 0) {
		i = 0;
		if (srv->listen_fd >= 0 && (fds[i++].revents & POLLIN) != 0)
			relay_accept(srv);
		for (unsigned int j = 0; i < n; i++, j++) {
			c = srv->clients[j];
			if ((fds[i].revents & POLLOUT) != 0)
				client_flush(c);
			if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
			    !c->dead)
				client_read(srv, c);
		}
	}
	relay_commit(srv, false);
	relay_sweep_clients(srv);
}

void relay_close_all(struct relay_server *srv)
{
	unsigned int i;

	for (i = 0; i < srv->client_count; i++)
		client_free(srv->clients[i]);
	free(srv->clients);
	srv->clients = NULL;
	srv->client_count = 0;
	free(srv->poll_fds);
	srv->poll_fds = NULL;
	srv->poll_size = 0;
	outcomes_clear(srv);
	free(srv->outcomes);
	srv->outcomes = NULL;
	relay_unix_close(&srv->listen_fd, srv->socket_path, srv->socket_ino);
}

/* --- pushadm relay retry ------------------------------------------------ */

int relay_send_retry(const char *socket_path, const char *const *ids,
		     unsigned int count, unsigned int *done_r,
		     const char **error_r)
{
	struct pushcore_pool *pool = pushcore_pool_new();
	struct pushcore_relay_msg ack;
	struct pushcore_buf buf;
	long long deadline = pushcore_mono_msecs() + 10 * 1000;
	static char refusal[256];
	char data[4096];
	size_t frame_size = 0;
	ssize_t ret = -1;
	int fd, err, ok = 0;

	pushcore_buf_init(&buf);
	pushcore_relay_encode_retry(&buf, 1, ids, count);
	if ((fd = pushcore_unix_connect(socket_path, 0, deadline)) < 0) {
		*error_r = strerror(errno);
		ok = -1;
	}
	if (ok == 0 && pushcore_unix_send_all(fd, buf.data, buf.len, deadline) < 0) {
		*error_r = strerror(errno);
		ok = -1;
	}
	buf.len = 0;
	while (ok == 0) {
		if ((ret = pushcore_unix_read(fd, data, sizeof(data), deadline)) <= 0) {
			*error_r = ret == 0 ? "the relay closed the connection" :
				strerror(errno);
			ok = -1;
		} else {
			pushcore_buf_append(&buf, data, (size_t)ret);
			ok = pushcore_relay_frame(buf.data, buf.len, &frame_size, error_r);
		}
	}
	if (ok > 0 && pushcore_relay_decode(pool, buf.data, frame_size, &ack, error_r) == 0) {
		ok = ack.status == PUSHCORE_RELAY_OK ? 1 : -1;
		if (ok < 0) {
			/* the pool goes below: a copy that outlives it */
			snprintf(refusal, sizeof(refusal), "%s", ack.text);
			*error_r = refusal;
		}
		*done_r = ack.count;
	} else {
		if (ok > 0)
			*error_r = "invalid answer from the relay";
		ok = -1;
	}
	err = errno;
	if (fd >= 0)
		close(fd);
	pushcore_buf_free(&buf);
	pushcore_pool_free(&pool);
	errno = err;
	return ok > 0 ? 0 : -1;
}
