/* Resend batches beside the relay's loop (pushadm-relay-resend.h).

   A stalled Redis server (one that accepts and never answers) held the
   loop for the driver's timeout per batch: no acknowledgement went out
   meanwhile, so deliveries fell back, and no other endpoint was served.
   On a thread, the wait is the batch's own. */
#define _GNU_SOURCE	/* pipe2 */
#include "pushadm-relay-resend.h"
#include "pushcore.h"
#include "pushcore-http.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct relay_resend {
	/* the thread writes a byte to done[1] when the batch has finished */
	int done[2];
	pthread_t thread;
	bool busy, threaded;
	/* the batch, then its outcome (written by the thread before the byte) */
	const struct pushcore_http_request *const *reqs;
	unsigned int count, timeout_msecs, added;
	int ret;
	char error[512];
};

struct relay_resend *relay_resend_new(void)
{
	struct relay_resend *r = pushcore_xmalloc(sizeof(*r));

	memset(r, 0, sizeof(*r));
	if (pipe2(r->done, O_CLOEXEC | O_NONBLOCK) < 0) {
		/* then batches are sent in the loop, as before threads */
		pushcore_log(PUSHCORE_LOG_ERROR, NULL, "relay: pipe() failed: %s; "
			     "XADD batches wait in the loop", strerror(errno));
		r->done[0] = r->done[1] = -1;
	}
	return r;
}

static void batch_send(struct relay_resend *r)
{
	const char *error = NULL;

	r->added = 0;
	r->ret = pushcore_resend(r->reqs, r->count, r->timeout_msecs,
				 &r->added, &error);
	snprintf(r->error, sizeof(r->error), "%s", error != NULL ? error :
		 "the resend operation failed");
}

static void *batch_thread(void *context)
{
	struct relay_resend *r = context;
	char byte = 1;

	batch_send(r);
	/* one byte per batch, read before the next starts */
	while (write(r->done[1], &byte, 1) < 0 && errno == EINTR) ;
	return NULL;
}

void relay_resend_start(struct relay_resend *r,
			const struct pushcore_http_request *const *reqs,
			unsigned int count, unsigned int timeout_msecs)
{
	sigset_t all, old;

	r->reqs = reqs;
	r->count = count;
	r->timeout_msecs = timeout_msecs;
	r->busy = true;
	/* signals stay with the loop: SIGTERM must end its wait */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r->threaded = r->done[0] >= 0 &&
		pthread_create(&r->thread, NULL, batch_thread, r) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!r->threaded) {
		/* no thread (a process limit): in the loop, as before */
		if (r->done[0] >= 0)
			pushcore_log(PUSHCORE_LOG_WARNING, NULL, "relay: no "
				     "thread for an XADD batch; sending it in "
				     "the loop");
		batch_send(r);
	}
}

bool relay_resend_finished(struct relay_resend *r, unsigned int *added_r,
			   const char **error_r)
{
	char byte;

	if (!r->busy)
		return false;
	if (r->threaded) {
		if (read(r->done[0], &byte, 1) != 1)
			return false;
		pthread_join(r->thread, NULL);
	}
	r->busy = false;
	*added_r = r->added;
	*error_r = r->ret < 0 ? r->error : NULL;
	return true;
}

bool relay_resend_busy(const struct relay_resend *r)
{
	return r->busy;
}

int relay_resend_fd(const struct relay_resend *r)
{
	return r->done[0];
}

void relay_resend_free(struct relay_resend **_r)
{
	struct relay_resend *r = *_r;

	if (r == NULL)
		return;
	*_r = NULL;
	if (r->busy && r->threaded)
		pthread_join(r->thread, NULL);
	if (r->done[0] >= 0) {
		close(r->done[0]);
		close(r->done[1]);
	}
	free(r);
}
