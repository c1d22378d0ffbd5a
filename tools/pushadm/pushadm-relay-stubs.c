/* TEMPORARY, until branches trust (its spool takeover) and send are
   merged: weak stand-ins for interfaces (D) and (E) of the session plan,
   so that the relay builds and its socket, journal and hand-off can be
   tested alone. The real definitions (pushadm-spool.c,
   pushadm-relay-queue.c) override them at link time; this file goes when
   they are merged. The stand-in queue keeps entries and sends nothing. */
#include "pushadm.h"
#include "pushadm-relay-queue.h"
#include "pushadm-spool.h"
#include "pushcore.h"

#include <errno.h>
#include <stdlib.h>

#define WEAK __attribute__((weak))

WEAK int pushadm_spool_takeover(struct pushadm_ctx *ctx __attribute__((unused)),
				const char *spool_dir __attribute__((unused)),
				struct pushadm_trust *trust __attribute__((unused)),
				int (*take)(const struct pushcore_spool_entry *e,
					    void *context) __attribute__((unused)),
				void *context __attribute__((unused)))
{
	return 0;
}

struct relay_queue {
	unsigned int count;
};

WEAK struct relay_queue *
relay_queue_new(const struct relay_queue_settings *set __attribute__((unused)),
		struct pushadm_resolver *resolver __attribute__((unused)),
		const struct relay_queue_store *store __attribute__((unused)))
{
	return calloc(1, sizeof(struct relay_queue));
}

WEAK void relay_queue_add(struct relay_queue *q,
			  const struct pushcore_spool_entry *e)
{
	q->count++;
	pushcore_log(PUSHCORE_LOG_DEBUG, NULL, "queued %s", e->id);
}

WEAK unsigned int relay_queue_retry(struct relay_queue *q, const char *const *ids)
{
	unsigned int n = 0;

	while (ids != NULL && ids[n] != NULL)
		n++;
	return ids == NULL ? q->count : n;
}

WEAK unsigned int relay_queue_run(struct relay_queue *q __attribute__((unused)))
{
	return 1000;
}

WEAK int relay_queue_wait(struct relay_queue *q __attribute__((unused)),
			  struct pollfd *fds, unsigned int nfds,
			  unsigned int timeout_msecs)
{
	int ret;

	do {
		ret = poll(fds, nfds, (int)timeout_msecs);
	} while (ret < 0 && errno == EINTR && timeout_msecs == 0);
	return ret;
}

WEAK unsigned int relay_queue_pending(const struct relay_queue *q)
{
	return q->count;
}

WEAK void relay_queue_free(struct relay_queue **q)
{
	free(*q);
	*q = NULL;
}
