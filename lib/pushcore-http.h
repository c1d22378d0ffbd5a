#ifndef PUSHCORE_HTTP_H
#define PUSHCORE_HTTP_H

/* The HTTP sender: libcurl's multi interface, one multi handle per process so
   connections are reused across deliveries, many endpoints in parallel (one
   connection each, so each endpoint gets its requests in order), and one
   hard deadline for everything a transaction sends. */

#include <stdbool.h>
#include <stddef.h>

enum pushcore_http_outcome {
	PUSHCORE_HTTP_OK,	/* 2xx */
	PUSHCORE_HTTP_TEMPFAIL,	/* transport error, timeout, 408, 429, 5xx */
	PUSHCORE_HTTP_PERMFAIL,	/* any other status, or a request that can't be made */
};

struct pushcore_http_result {
	enum pushcore_http_outcome outcome;
	int status;		/* HTTP status, 0 if none arrived */
	const char *error;	/* why it failed (no secrets), NULL on success */
	unsigned int attempts;
	unsigned int retry_after_secs;	/* from Retry-After, 0 if none */
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
};

/* Queues a request (everything is copied). Sending starts in
   pushcore_http_run(). Returns false, with *error_r, if the request can't be
   made at all (bad URL); the callback is then not called. */
bool pushcore_http_submit(const struct pushcore_http_request *req,
			  const char **error_r);

/* Sends everything queued, retrying temporary failures while attempts and
   time are left, and returns when all are done or after max_wait_msecs;
   whatever is still unfinished then ends as a TEMPFAIL "deadline" result.
   Every queued request's callback is called exactly once. */
void pushcore_http_run(unsigned int max_wait_msecs);

unsigned int pushcore_http_pending(void);

/* Collect the TLS peer certificate's subject and expiry (for pushadm). */
void pushcore_http_set_certinfo(bool enable);

/* Checks that url is an http:// or https:// URL curl can use. */
bool pushcore_http_url_valid(const char *url, const char **error_r);

/* Frees the process-wide handle (closing kept-alive connections). */
void pushcore_http_deinit(void);

#endif
