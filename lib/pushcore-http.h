#ifndef PUSHCORE_HTTP_H
#define PUSHCORE_HTTP_H

#include "pushcore-api.h"

/* The HTTP sender: libcurl's multi interface, one multi handle per process so
   connections are reused across deliveries, many endpoints in parallel (one
   connection each, so each endpoint gets its requests in order), and one
   hard deadline for everything a transaction sends. */

#include <stdbool.h>
#include <stddef.h>

struct pollfd;

/* the longest Retry-After believed (a day); callers bound it further */
#define PUSHCORE_HTTP_RETRY_AFTER_MAX_SECS (24 * 60 * 60)

enum pushcore_http_outcome {
	PUSHCORE_HTTP_OK,	/* 2xx */
	PUSHCORE_HTTP_TEMPFAIL,	/* transport error, timeout, 408, 429, 5xx */
	PUSHCORE_HTTP_PERMFAIL,	/* any other status, or a request that can't be made */
};

struct pushcore_http_result {
	enum pushcore_http_outcome outcome;
	int status;		/* HTTP status, 0 if none arrived */
	/* why it failed (no secrets), NULL on success: "HTTP 503" (with why,
	   for a redirect or a 1xx) when a status arrived */
	const char *error;
	unsigned int attempts;
	/* from Retry-After (seconds or a date), 0 if none or past, at most
	   PUSHCORE_HTTP_RETRY_AFTER_MAX_SECS */
	unsigned int retry_after_secs;
	/* seconds from the start of the last attempt */
	double connect_secs, tls_secs, first_byte_secs, total_secs;
	const char *body;	/* start of the response body (capped) */
	size_t body_len;
	/* with pushcore_http_set_certinfo(true) and https: the peer
	   certificate's subject and expiry date, else NULL */
	const char *tls_subject, *tls_expiry;
};

typedef void pushcore_http_callback_t(const struct pushcore_http_result *result,
				      void *context);

struct pushcore_http_request {
	const char *method;		/* "PUT", "POST" */
	/* Userinfo in the URL becomes HTTP Basic auth (user and password
	   percent-decoded, sent only when both are present) and is never
	   passed to curl as part of the URL or logged. */
	const char *url;
	const char *const *headers;	/* "Name: value", NULL-terminated */
	const void *body;
	size_t body_len;
	unsigned int timeout_msecs;	/* per attempt */
	unsigned int max_attempts;	/* 1 = no retry */
	const char *tls_ca_file;	/* NULL: the system's CAs */
	bool tls_no_verify;		/* off unless asked for by name */
	/* for the spool: the dispatcher signs a resent request again with
	   this secret file and a fresh webhook-timestamp (receivers reject
	   stale timestamps) */
	const char *resign_secret_file;
	pushcore_http_callback_t *callback;
	void *context;
	/* NULL: an HTTP request. Else a driver's own transport (redis: XADD)
	   made the request in its rebuild hook: method names the transport,
	   url its server, body is the record's, and resend_ctx holds what
	   the driver's resend operation needs beside them. The relay and the
	   dispatcher send it with pushcore_resend(), never over HTTP. All it
	   points to lives in the rebuild's pool or the record: the relay
	   sends it beside its loop, when the driver's instance may be gone. */
	const struct pushcore_resend *resend;
	const void *resend_ctx;
};

/* The resend operation of a driver whose transport is not HTTP. */
struct pushcore_resend {
	/* Sends reqs[0..count), all made by rebuild hooks of this resend
	   with the same method and url, in order, within timeout_msecs.
	   Returns 0 if all were sent, else -1 with *sent_r the number that
	   were (the first ones) and *error_r (no credentials in it). */
	int (*send)(const struct pushcore_http_request *const *reqs,
		    unsigned int count, unsigned int timeout_msecs,
		    unsigned int *sent_r, const char **error_r);
};

/* Sends requests that have a resend operation (req->resend != NULL, all
   the same one) as struct pushcore_resend says. */
PUSHCORE_API
int pushcore_resend(const struct pushcore_http_request *const *reqs,
		    unsigned int count, unsigned int timeout_msecs,
		    unsigned int *sent_r, const char **error_r);

/* Queues a request (everything is copied). Sending starts in
   pushcore_http_run(). Returns false, with *error_r, if the request can't be
   made at all (bad URL); the callback is then not called. */
PUSHCORE_API
bool pushcore_http_submit(const struct pushcore_http_request *req,
			  const char **error_r);

/* Sends everything queued, retrying temporary failures while attempts and
   time are left, and returns when all are done or after max_wait_msecs;
   whatever is still unfinished then ends as a TEMPFAIL "deadline" result.
   Every queued request's callback is called exactly once. */
PUSHCORE_API void pushcore_http_run(unsigned int max_wait_msecs);

PUSHCORE_API unsigned int pushcore_http_pending(void);

/* Non-blocking use, for a long-running sender (the relay): it never waits
   inside libpushcore. pushcore_http_perform() makes progress and calls the
   callbacks of finished requests; pushcore_http_poll() waits for network
   activity or for the caller's own descriptors. Such a process does not
   call pushcore_http_run(), which ends whatever is unfinished when its
   bound runs out. */

/* per_host: connections open to one host and port at a time (0: no limit;
   the default 1 keeps one endpoint's requests in queue order, and a caller
   that lifts it orders and bounds them itself). cached: idle connections
   kept alive for reuse (0: curl's default). Call before the first request. */
PUSHCORE_API
void pushcore_http_set_connection_limits(unsigned int per_host,
					 unsigned int cached);
/* Drives every queued request without waiting, and calls the callback of
   each that finished (a request with attempts left is started again
   instead). Returns how many callbacks were called. */
PUSHCORE_API unsigned int pushcore_http_perform(void);
/* Waits up to timeout_msecs, less when curl has a timer due, for network
   activity of the queued requests or for one of extra[0..count) to become
   ready (events and revents as poll(2)). Returns how many of extra have
   revents, 0 on timeout, -1 on error. */
PUSHCORE_API
int pushcore_http_poll(struct pollfd *extra, unsigned int count,
		       unsigned int timeout_msecs);
/* Msecs until curl's next timer (call pushcore_http_perform() then), -1 if
   it has none. */
PUSHCORE_API int pushcore_http_timeout_msecs(void);
/* Ends every unfinished request now: each callback is called with a
   TEMPFAIL result whose error is why. */
PUSHCORE_API void pushcore_http_abort_all(const char *why);

/* Collect the TLS peer certificate's subject and expiry (for pushadm). */
PUSHCORE_API void pushcore_http_set_certinfo(bool enable);

/* Checks that url is an http:// or https:// URL curl can use. */
PUSHCORE_API bool pushcore_http_url_valid(const char *url, const char **error_r);

/* Frees the process-wide handle (closing kept-alive connections). */
PUSHCORE_API void pushcore_http_deinit(void);

#endif
