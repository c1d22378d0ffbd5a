#ifndef PUSHADM_RELAY_RESEND_H
#define PUSHADM_RELAY_RESEND_H

/* A batch of requests with a resend operation (Redis's XADD) sent beside
   the relay's loop. The operation waits for its server (bounded by its
   timeout) and has no non-blocking form, so it runs on a thread of its
   own; the loop polls relay_resend_fd() and collects the outcome with
   relay_resend_finished(). One batch at a time: the driver's connection
   cache belongs to one thread at a time. */

#include <stdbool.h>

struct pushcore_http_request;
struct relay_resend;

struct relay_resend *relay_resend_new(void);
/* Waits for a batch still on its way (its bound is its timeout). */
void relay_resend_free(struct relay_resend **r);

bool relay_resend_busy(const struct relay_resend *r);
/* Readable once the batch on its way has finished. */
int relay_resend_fd(const struct relay_resend *r);
/* Starts pushcore_resend(reqs, count, timeout_msecs); reqs and what they
   point to must stay as they are until the batch has finished. */
void relay_resend_start(struct relay_resend *r,
			const struct pushcore_http_request *const *reqs,
			unsigned int count, unsigned int timeout_msecs);
/* Whether the batch has finished (never waits): then *added_r requests
   were added, and *error_r says why the next was not (NULL when all
   were; valid until the next start). */
bool relay_resend_finished(struct relay_resend *r, unsigned int *added_r,
			   const char **error_r);

#endif
