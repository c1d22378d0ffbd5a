/* A connection to Redis: hiredis alone for redis:// and unix:, hiredis with
   OpenSSL on its socket for rediss://. */
#include "pushcore-redis-conn.h"
#include "pushcore-mem.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct redis_conn {
	redisContext *ctx;	/* owns the socket; does the IO unless ssl */
	SSL_CTX *ssl_ctx;
	SSL *ssl;
	redisReader *reader;	/* TLS: parses what SSL_read gives */
	struct pushcore_buf out;	/* TLS: commands not sent yet */
	bool broken;
	char error[512];
};

/* Marks the connection broken with "what: detail" as its error. */
static const char *conn_fail(struct redis_conn *conn, const char *what,
			     const char *detail)
{
	snprintf(conn->error, sizeof(conn->error), "%s%s%s", what == NULL ? "" : what,
		 what == NULL ? "" : ": ", detail);
	conn->broken = true;
	return conn->error;
}

/* Why an SSL call failed: a timeout, a closed connection, OpenSSL's
   reason or the system's. */
static const char *tls_cause(struct redis_conn *conn, int ret)
{
	unsigned long err = ERR_get_error();

	switch (SSL_get_error(conn->ssl, ret)) {
	case SSL_ERROR_ZERO_RETURN:
		return "the server closed the connection";
	case SSL_ERROR_SYSCALL:
		if (err == 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return "timed out";
		if (err == 0)
			return ret == 0 ? "the server closed the connection" :
				strerror(errno);
		break;
	default:
		break;
	}
	return err != 0 ? ERR_reason_error_string(err) : "TLS error";
}

static bool tls_start(struct redis_conn *conn, const struct redis_conn_target *t,
		      const char **error_r)
{
	long verify;
	int ret;

	if ((conn->ssl_ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    (conn->reader = redisReaderCreate()) == NULL) {
		*error_r = conn_fail(conn, "TLS", "out of memory");
		return false;
	}
	SSL_CTX_set_verify(conn->ssl_ctx, SSL_VERIFY_PEER, NULL);
	if (t->tls_ca_file != NULL ?
	    SSL_CTX_load_verify_locations(conn->ssl_ctx, t->tls_ca_file, NULL) != 1 :
	    SSL_CTX_set_default_verify_paths(conn->ssl_ctx) != 1) {
		*error_r = conn_fail(conn, "TLS: can't read the CA file",
				     t->tls_ca_file != NULL ? t->tls_ca_file :
				     "(the system's)");
		return false;
	}
	if ((conn->ssl = SSL_new(conn->ssl_ctx)) == NULL ||
	    SSL_set_fd(conn->ssl, conn->ctx->fd) != 1) {
		*error_r = conn_fail(conn, "TLS", "out of memory");
		return false;
	}
	/* an IP address is checked as one, a name as a name (and sent as SNI) */
	if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(conn->ssl), t->host) != 1) {
		SSL_set_tlsext_host_name(conn->ssl, t->host);
		SSL_set1_host(conn->ssl, t->host);
	}
	ERR_clear_error();
	if ((ret = SSL_connect(conn->ssl)) == 1)
		return true;
	verify = SSL_get_verify_result(conn->ssl);
	snprintf(conn->error, sizeof(conn->error), "TLS handshake with %s failed: %s",
		 t->host, verify != X509_V_OK ? X509_verify_cert_error_string(verify) :
		 tls_cause(conn, ret));
	conn->broken = true;
	*error_r = conn->error;
	return false;
}

/* why the last open failed: the connection is gone by then */
static char open_error[512];

static struct redis_conn *open_failed(struct redis_conn *conn, const char **error_r)
{
	memcpy(open_error, conn->error, sizeof(open_error));
	*error_r = open_error;
	redis_conn_close(&conn);
	return NULL;
}

struct redis_conn *redis_conn_open(const struct redis_conn_target *t,
				   unsigned int timeout_msecs, const char **error_r)
{
	struct redis_conn *conn = pushcore_xmalloc(sizeof(*conn));
	struct timeval tv = { timeout_msecs / 1000, (timeout_msecs % 1000) * 1000 };

	memset(conn, 0, sizeof(*conn));
	pushcore_buf_init(&conn->out);
	conn->ctx = t->socket_path != NULL ?
		redisConnectUnixWithTimeout(t->socket_path, tv) :
		redisConnectWithTimeout(t->host, t->port, tv);
	if (conn->ctx == NULL || conn->ctx->err != 0) {
		snprintf(conn->error, sizeof(conn->error), "connecting to %s failed: %s",
			 t->socket_path != NULL ? t->socket_path : t->host,
			 conn->ctx != NULL ? conn->ctx->errstr : "out of memory");
		return open_failed(conn, error_r);
	}
	/* also bounds every TLS read and write: they use the same socket */
	redisSetTimeout(conn->ctx, tv);
	if (t->tls && !tls_start(conn, t, error_r))
		return open_failed(conn, error_r);
	return conn;
}

void redis_conn_set_timeout(struct redis_conn *conn, unsigned int timeout_msecs)
{
	struct timeval tv = { timeout_msecs / 1000, (timeout_msecs % 1000) * 1000 };

	redisSetTimeout(conn->ctx, tv);
}

void redis_conn_append(struct redis_conn *conn, int argc, const char **argv,
		       const size_t *lens)
{
	char *cmd;
	int len;

	if (conn->ssl == NULL) {
		redisAppendCommandArgv(conn->ctx, argc, argv, lens);
		return;
	}
	if ((len = redisFormatCommandArgv(&cmd, argc, argv, lens)) < 0) {
		(void)conn_fail(conn, "formatting a command failed", "out of memory");
		return;
	}
	pushcore_buf_append(&conn->out, cmd, (size_t)len);
	free(cmd);
}

static bool tls_flush(struct redis_conn *conn, const char **error_r)
{
	size_t off = 0;
	int ret;

	while (off < conn->out.len) {
		ERR_clear_error();
		ret = SSL_write(conn->ssl, conn->out.data + off, (int)(conn->out.len - off));
		if (ret <= 0) {
			*error_r = conn_fail(conn, "sending failed", tls_cause(conn, ret));
			return false;
		}
		off += (size_t)ret;
	}
	conn->out.len = 0;
	return true;
}

static redisReply *tls_reply(struct redis_conn *conn, const char **error_r)
{
	char buf[16384];
	void *reply = NULL;
	int ret;

	if (!tls_flush(conn, error_r))
		return NULL;
	for (;;) {
		if (redisReaderGetReply(conn->reader, &reply) != REDIS_OK) {
			*error_r = conn_fail(conn, "invalid reply", conn->reader->errstr);
			return NULL;
		}
		if (reply != NULL)
			return reply;
		ERR_clear_error();
		if ((ret = SSL_read(conn->ssl, buf, sizeof(buf))) <= 0) {
			*error_r = conn_fail(conn, "reading failed", tls_cause(conn, ret));
			return NULL;
		}
		redisReaderFeed(conn->reader, buf, (size_t)ret);
	}
}

/* Whether the last plain call failed for its timeout: hiredis says
   "Resource temporarily unavailable" then (1.0 and later: a timeout
   error of its own), which reads as if the server refused something. */
static bool plain_timed_out(const redisContext *ctx)
{
#ifdef REDIS_ERR_TIMEOUT
	if (ctx->err == REDIS_ERR_TIMEOUT)
		return true;
#endif
	return ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
}

redisReply *redis_conn_reply(struct redis_conn *conn, const char **error_r)
{
	void *reply;

	if (conn->broken) {
		*error_r = conn->error;
		return NULL;
	}
	if (conn->ssl != NULL)
		return tls_reply(conn, error_r);
	if (redisGetReply(conn->ctx, &reply) != REDIS_OK) {
		*error_r = conn_fail(conn, NULL, plain_timed_out(conn->ctx) ?
				     "timed out" : conn->ctx->errstr);
		return NULL;
	}
	return reply;
}

bool redis_conn_usable(const struct redis_conn *conn)
{
	return !conn->broken && conn->ctx->err == 0;
}

void redis_conn_close(struct redis_conn **_conn)
{
	struct redis_conn *conn = *_conn;

	if (conn == NULL)
		return;
	*_conn = NULL;
	if (conn->ssl != NULL && !conn->broken)
		(void)SSL_shutdown(conn->ssl);
	SSL_free(conn->ssl);
	SSL_CTX_free(conn->ssl_ctx);
	if (conn->reader != NULL)
		redisReaderFree(conn->reader);
	if (conn->ctx != NULL)
		redisFree(conn->ctx);	/* closes the socket */
	pushcore_buf_free(&conn->out);
	free(conn);
}
