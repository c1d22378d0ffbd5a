/* Sending HTTP requests with libcurl's multi interface. */
#include "pushcore-http.h"
#include "pushcore-mem.h"
#include "pushcore-text.h"
#include "pushcore-unix.h"

#include <curl/curl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#define RESPONSE_BODY_MAX 4096
/* What an attempt reads of a response at most. The status says whether
   the endpoint took the notification; a body or headers that go on
   without end (hostile, or a misbehaving proxy) are cut here rather than
   read, at network speed, until the timeout, which would turn a 2xx into
   a timeout and resend a notification the endpoint already has. */
#define RESPONSE_READ_MAX (64 * 1024)
#define RESPONSE_HEADERS_MAX (64 * 1024)
#define POLL_SLICE_MSECS 100

struct http_transfer {
	struct http_transfer *next;
	CURL *easy;
	struct curl_slist *headers;
	char *url, *user, *password, *body, *ca_file;
	size_t body_len;
	/* what this attempt received, and whether it stopped reading */
	size_t body_read, headers_read;
	bool body_cut, headers_cut;
	unsigned int timeout_msecs, max_attempts, attempts;
	bool no_verify;
	pushcore_http_callback_t *callback;
	void *context;
	struct pushcore_buf response;
	char errbuf[CURL_ERROR_SIZE];
	char cause[CURL_ERROR_SIZE * 4 + 64];	/* room for escapes */
	char tls_subject[256], tls_expiry[64];
};

static CURLM *http_multi = NULL;
static bool http_certinfo = false;
static long http_max_host_connections = 1, http_max_cached = 0;
static struct http_transfer *transfers = NULL;
static unsigned int transfer_count = 0;

static size_t response_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct http_transfer *t = ctx;
	size_t len = size * nmemb, room;

	room = t->response.len < RESPONSE_BODY_MAX ?
		RESPONSE_BODY_MAX - t->response.len : 0;
	pushcore_buf_append(&t->response, data, len < room ? len : room);
	t->body_read += len;
	if (t->body_read > RESPONSE_READ_MAX) {
		/* curl stops the transfer (and closes the connection) */
		t->body_cut = true;
		return 0;
	}
	return len;	/* the rest is read and dropped */
}

/* Counts the header lines of every response of an attempt (1xx ones too):
   endless headers end the attempt with a cause of their own. */
static size_t header_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct http_transfer *t = ctx;
	size_t len = size * nmemb;

	(void)data;
	t->headers_read += len;
	if (t->headers_read > RESPONSE_HEADERS_MAX) {
		t->headers_cut = true;
		return 0;
	}
	return len;
}

/* Splits userinfo off the URL so that curl never sees (or logs) it. */
static bool url_split_userinfo(struct http_transfer *t, const char *url,
			       const char **error_r)
{
	CURLU *h = curl_url();
	char *user = NULL, *password = NULL, *clean = NULL;
	CURLUcode rc;

	rc = curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (rc == CURLUE_OK) {
		curl_url_get(h, CURLUPART_USER, &user, CURLU_URLDECODE);
		curl_url_get(h, CURLUPART_PASSWORD, &password, CURLU_URLDECODE);
		curl_url_set(h, CURLUPART_USER, NULL, 0);
		curl_url_set(h, CURLUPART_PASSWORD, NULL, 0);
		rc = curl_url_get(h, CURLUPART_URL, &clean, 0);
	}
	if (rc != CURLUE_OK) {
#if LIBCURL_VERSION_NUM >= 0x075000	/* 7.80 */
		*error_r = curl_url_strerror(rc);
#else
		*error_r = "malformed URL";
#endif
		curl_url_cleanup(h);
		return false;
	}
	if (strncmp(clean, "http://", 7) != 0 && strncmp(clean, "https://", 8) != 0) {
		*error_r = "only http:// and https:// URLs are supported";
		curl_free(clean);
		curl_free(user);
		curl_free(password);
		curl_url_cleanup(h);
		return false;
	}
	t->url = pushcore_xstrdup(clean);
	/* like Dovecot's lib-http: Basic auth only with user and password */
	if (user != NULL && user[0] != '\0' && password != NULL) {
		t->user = pushcore_xstrdup(user);
		t->password = pushcore_xstrdup(password);
	}
	curl_free(clean);
	curl_free(user);
	curl_free(password);
	curl_url_cleanup(h);
	return true;
}

static void transfer_free(struct http_transfer *t)
{
	if (t->easy != NULL) {
		curl_multi_remove_handle(http_multi, t->easy);
		curl_easy_cleanup(t->easy);
	}
	curl_slist_free_all(t->headers);
	if (t->password != NULL)
		memset(t->password, 0, strlen(t->password));
	free(t->url);
	free(t->user);
	free(t->password);
	free(t->body);
	free(t->ca_file);
	pushcore_buf_free(&t->response);
	free(t);
}

static void transfer_setup(struct http_transfer *t, const char *method)
{
	CURL *e = curl_easy_init();

	if (e == NULL)
		abort();
	t->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, t->url);
#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85 */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else	/* Enterprise Linux 9's 7.76 */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body_len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)t->timeout_msecs);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)t->timeout_msecs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, response_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_write);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, t->no_verify ? 0L : 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, t->no_verify ? 0L : 2L);
	if (t->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file);
	if (http_certinfo)
		curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
	if (t->user != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, t->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, t->password);
	}
}

static void http_init(void)
{
	if (http_multi != NULL)
		return;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	http_multi = curl_multi_init();
	if (http_multi == NULL)
		abort();
	/* by default one connection per endpoint: its notifications arrive
	   in the order they were queued, while different endpoints are sent
	   to in parallel */
	curl_multi_setopt(http_multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  http_max_host_connections);
	if (http_max_cached > 0)
		curl_multi_setopt(http_multi, CURLMOPT_MAXCONNECTS, http_max_cached);
}

void pushcore_http_set_connection_limits(unsigned int per_host,
					 unsigned int cached)
{
	http_max_host_connections = (long)per_host;
	http_max_cached = (long)cached;
	if (http_multi != NULL) {
		curl_multi_setopt(http_multi, CURLMOPT_MAX_HOST_CONNECTIONS,
				  http_max_host_connections);
		if (http_max_cached > 0)
			curl_multi_setopt(http_multi, CURLMOPT_MAXCONNECTS,
					  http_max_cached);
	}
}

bool pushcore_http_submit(const struct pushcore_http_request *req,
			  const char **error_r)
{
	struct http_transfer *t;
	const char *const *h;

	if (req->resend != NULL) {
		*error_r = "not an HTTP request (the driver resends it itself)";
		return false;
	}
	t = pushcore_xmalloc(sizeof(*t));
	memset(t, 0, sizeof(*t));
	pushcore_buf_init(&t->response);
	if (!url_split_userinfo(t, req->url, error_r)) {
		transfer_free(t);
		return false;
	}
	http_init();
	for (h = req->headers; h != NULL && *h != NULL; h++)
		t->headers = curl_slist_append(t->headers, *h);
	/* curl's own defaults that Dovecot's lib-http doesn't send */
	t->headers = curl_slist_append(t->headers, "Accept:");
	t->headers = curl_slist_append(t->headers, "Expect:");
	t->body = pushcore_xmalloc(req->body_len + 1);
	memcpy(t->body, req->body, req->body_len);
	t->body_len = req->body_len;
	t->ca_file = req->tls_ca_file == NULL ? NULL : pushcore_xstrdup(req->tls_ca_file);
	t->no_verify = req->tls_no_verify;
	t->timeout_msecs = req->timeout_msecs;
	t->max_attempts = req->max_attempts == 0 ? 1 : req->max_attempts;
	t->callback = req->callback;
	t->context = req->context;
	transfer_setup(t, req->method);
	t->attempts = 1;
	curl_multi_add_handle(http_multi, t->easy);
	t->next = transfers;
	transfers = t;
	transfer_count++;
	return true;
}

bool pushcore_http_url_valid(const char *url, const char **error_r)
{
	struct http_transfer t;
	bool ret;

	memset(&t, 0, sizeof(t));
	ret = url_split_userinfo(&t, url, error_r);
	free(t.url);
	free(t.user);
	free(t.password);
	return ret;
}

void pushcore_http_set_certinfo(bool enable)
{
	http_certinfo = enable;
}

/* The first certificate of the chain is the peer's. */
static void result_certinfo(struct http_transfer *t, struct pushcore_http_result *r)
{
	struct curl_certinfo *ci = NULL;
	struct curl_slist *f;

	if (!http_certinfo ||
	    curl_easy_getinfo(t->easy, CURLINFO_CERTINFO, &ci) != CURLE_OK ||
	    ci == NULL || ci->num_of_certs < 1)
		return;
	for (f = ci->certinfo[0]; f != NULL; f = f->next) {
		if (strncmp(f->data, "Subject:", 8) == 0)
			snprintf(t->tls_subject, sizeof(t->tls_subject), "%s", f->data + 8);
		else if (strncmp(f->data, "Expire date:", 12) == 0)
			snprintf(t->tls_expiry, sizeof(t->tls_expiry), "%s", f->data + 12);
	}
	r->tls_subject = t->tls_subject[0] != '\0' ? t->tls_subject : NULL;
	r->tls_expiry = t->tls_expiry[0] != '\0' ? t->tls_expiry : NULL;
}

unsigned int pushcore_http_pending(void)
{
	return transfer_count;
}

static void transfer_unlink(struct http_transfer *t)
{
	struct http_transfer **p;

	for (p = &transfers; *p != NULL; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			transfer_count--;
			return;
		}
	}
}

static double info_secs(CURL *e, CURLINFO info)
{
	curl_off_t usecs = 0;

	curl_easy_getinfo(e, info, &usecs);
	return (double)usecs / 1e6;
}

/* The cause in our words (stable across curl versions, what an
   administrator looks for), then curl's own detail. */
static const char *transfer_cause(struct http_transfer *t, CURLcode code)
{
	const char *cause = NULL, *detail = t->errbuf[0] != '\0' ? t->errbuf :
		curl_easy_strerror(code);
	struct pushcore_pool *pool;

	switch (code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		cause = "name resolution failed";
		break;
	case CURLE_COULDNT_CONNECT:
		cause = "connection refused or host unreachable";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		cause = "timed out";
		break;
	case CURLE_OUT_OF_MEMORY:
		/* also what curl says of a header line beyond its limit */
		cause = "response headers too large, or out of memory";
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		cause = "TLS certificate verification failed";
		break;
	default:
		break;
	}
	/* curl's text can quote the peer (a certificate's subject name):
	   it goes into log lines and the journal */
	pool = pushcore_pool_new();
	detail = pushcore_escape_controls(pool, detail);
	snprintf(t->cause, sizeof(t->cause), "%s%s%s", cause == NULL ? "" : cause,
		 cause == NULL ? "" : ": ", detail);
	pushcore_pool_free(&pool);
	return t->cause;
}

/* "HTTP 503", and why a status that is no answer at all fails. */
static const char *status_error(struct http_transfer *t, long status)
{
	const char *why = "";

	if (status < 100)
		return "invalid HTTP response";
	if (status < 200)
		why = " (an interim answer with nothing after it)";
	else if (status >= 300 && status < 400) {
		/* following it would send the signed body, and the Basic
		   credentials, wherever the endpoint says */
		why = " (a redirect: not followed; url= must name the endpoint itself)";
	}
	snprintf(t->cause, sizeof(t->cause), "HTTP %ld%s", status, why);
	return t->cause;
}

static void result_fill(struct http_transfer *t, CURLcode code,
			struct pushcore_http_result *r)
{
	long status = 0;
	curl_off_t retry_after = 0;

	memset(r, 0, sizeof(*r));
	r->attempts = t->attempts;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &retry_after);
	/* curl gives seconds from now (a date in the past: 0 or less); a
	   huge value is clamped, never cut to its low 32 bits */
	r->retry_after_secs = retry_after <= 0 ? 0 :
		retry_after > PUSHCORE_HTTP_RETRY_AFTER_MAX_SECS ?
		PUSHCORE_HTTP_RETRY_AFTER_MAX_SECS : (unsigned int)retry_after;
	r->connect_secs = info_secs(t->easy, CURLINFO_CONNECT_TIME_T);
	r->tls_secs = info_secs(t->easy, CURLINFO_APPCONNECT_TIME_T);
	r->first_byte_secs = info_secs(t->easy, CURLINFO_STARTTRANSFER_TIME_T);
	r->total_secs = info_secs(t->easy, CURLINFO_TOTAL_TIME_T);
	r->body = t->response.data;
	r->body_len = t->response.len;
	result_certinfo(t, r);
	if (code == CURLE_WRITE_ERROR && t->body_cut) {
		/* the status and headers were complete: they are the answer */
		code = CURLE_OK;
	} else if (code == CURLE_WRITE_ERROR && t->headers_cut) {
		r->outcome = PUSHCORE_HTTP_TEMPFAIL;
		r->error = "invalid HTTP response: its headers go on beyond "
			"64 KiB";
		return;
	}
	if (code != CURLE_OK) {
		r->outcome = PUSHCORE_HTTP_TEMPFAIL;
		r->error = transfer_cause(t, code);
		return;
	}
	r->status = (int)status;
	if (status >= 200 && status < 300)
		r->outcome = PUSHCORE_HTTP_OK;
	else if (status == 408 || status == 429 || status >= 500)
		r->outcome = PUSHCORE_HTTP_TEMPFAIL;
	else
		r->outcome = PUSHCORE_HTTP_PERMFAIL;
	if (r->outcome != PUSHCORE_HTTP_OK)
		r->error = status_error(t, status);
}

static void transfer_finish(struct http_transfer *t,
			    const struct pushcore_http_result *r)
{
	transfer_unlink(t);
	if (t->callback != NULL)
		t->callback(r, t->context);
	transfer_free(t);
}

static void transfer_done(struct http_transfer *t, CURLcode code,
			  long long deadline)
{
	struct pushcore_http_result r;

	result_fill(t, code, &r);
	if (r.outcome == PUSHCORE_HTTP_TEMPFAIL && t->attempts < t->max_attempts &&
	    r.retry_after_secs == 0 && pushcore_mono_msecs() < deadline) {
		/* try again at once: the deadline still bounds the total */
		curl_multi_remove_handle(http_multi, t->easy);
		t->response.len = 0;
		t->body_read = t->headers_read = 0;
		t->body_cut = t->headers_cut = false;
		t->errbuf[0] = '\0';
		t->attempts++;
		curl_multi_add_handle(http_multi, t->easy);
		return;
	}
	transfer_finish(t, &r);
}

/* Returns how many transfers finished for good (callback called). */
static unsigned int collect_done(long long deadline)
{
	unsigned int before = transfer_count;
	CURLMsg *msg;
	char *t;
	int left;

	while ((msg = curl_multi_info_read(http_multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
		transfer_done((struct http_transfer *)(void *)t,
			      msg->data.result, deadline);
	}
	return before - transfer_count;
}

static void abort_all(const char *why)
{
	struct pushcore_http_result r;

	while (transfers != NULL) {
		result_fill(transfers, CURLE_OPERATION_TIMEDOUT, &r);
		r.error = why;
		transfer_finish(transfers, &r);
	}
}

static void expire_all(void)
{
	abort_all("gave up: the delivery's time for notifications ran out");
}

void pushcore_http_abort_all(const char *why)
{
	abort_all(why);
}

unsigned int pushcore_http_perform(void)
{
	int running;

	if (http_multi == NULL)
		return 0;
	curl_multi_perform(http_multi, &running);
	/* no deadline of its own: each attempt is bounded by its timeout */
	return collect_done(LLONG_MAX);
}

static short poll_events(short waitfd_events)
{
	return (short)(((waitfd_events & CURL_WAIT_POLLIN) != 0 ? POLLIN : 0) |
		       ((waitfd_events & CURL_WAIT_POLLPRI) != 0 ? POLLPRI : 0) |
		       ((waitfd_events & CURL_WAIT_POLLOUT) != 0 ? POLLOUT : 0));
}

static short waitfd_events(short poll_events)
{
	return (short)(((poll_events & POLLIN) != 0 ? CURL_WAIT_POLLIN : 0) |
		       ((poll_events & POLLPRI) != 0 ? CURL_WAIT_POLLPRI : 0) |
		       ((poll_events & POLLOUT) != 0 ? CURL_WAIT_POLLOUT : 0));
}

int pushcore_http_poll(struct pollfd *extra, unsigned int count,
		       unsigned int timeout_msecs)
{
	struct curl_waitfd *wfds = NULL;
	unsigned int i;
	int ready = 0, numfds;
	CURLMcode rc;

	http_init();
	if (count > 0)
		wfds = pushcore_xmalloc(sizeof(*wfds) * count);
	for (i = 0; i < count; i++) {
		wfds[i].fd = extra[i].fd;
		wfds[i].events = waitfd_events(extra[i].events);
		wfds[i].revents = 0;
	}
	if (timeout_msecs > INT32_MAX)
		timeout_msecs = INT32_MAX;
	rc = curl_multi_poll(http_multi, wfds, count, (int)timeout_msecs, &numfds);
	for (i = 0; i < count && rc == CURLM_OK; i++) {
		extra[i].revents = poll_events(wfds[i].revents);
		if (extra[i].revents != 0)
			ready++;
	}
	free(wfds);
	if (rc != CURLM_OK)
		return -1;
	/* curl reports only IN, PRI and OUT. When more was ready than that
	   (curl's own sockets, or a hang-up or an error on the caller's
	   fds), ask poll(2) itself so that those are seen too; the usual
	   wake-up, a caller's fd readable, costs no second poll(). */
	if (count > 0 && numfds > ready && (ready = poll(extra, count, 0)) < 0)
		return -1;
	return ready;
}

int pushcore_http_timeout_msecs(void)
{
	long msecs = -1;

	if (http_multi == NULL || curl_multi_timeout(http_multi, &msecs) != CURLM_OK)
		return -1;
	return msecs > INT32_MAX ? INT32_MAX : (int)msecs;
}

void pushcore_http_run(unsigned int max_wait_msecs)
{
	long long deadline = pushcore_mono_msecs() + max_wait_msecs, now;
	int running;

	while (transfers != NULL) {
		curl_multi_perform(http_multi, &running);
		collect_done(deadline);
		if (transfers == NULL)
			break;
		now = pushcore_mono_msecs();
		if (now >= deadline) {
			expire_all();
			break;
		}
		curl_multi_poll(http_multi, NULL, 0,
				(int)(deadline - now < POLL_SLICE_MSECS ?
				      deadline - now : POLL_SLICE_MSECS), NULL);
	}
}

void pushcore_http_deinit(void)
{
	expire_all();
	if (http_multi != NULL) {
		curl_multi_cleanup(http_multi);
		http_multi = NULL;
		curl_global_cleanup();
	}
}
