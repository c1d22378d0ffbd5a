#ifndef PUSHADM_RESOLVE_H
#define PUSHADM_RESOLVE_H

/* Turning a notification record (user, driver name, method, body) into the
   request to send, from Dovecot's configuration alone: the relay and the
   dispatcher never take a URL, a credential, a TLS option or a file path
   from a submitter or a spool file. */

struct pushadm_ctx;
struct pushcore_pool;
struct pushcore_spool_entry;
struct pushcore_http_request;

/* How long a user's drivers are kept before the configuration and the
   userdb are read again (a changed URL or a rotated secret is picked up
   within this), and how many users are kept at most. */
#define PUSHADM_RESOLVE_TTL_SECS 60
#define PUSHADM_RESOLVE_FAIL_TTL_SECS 10
#define PUSHADM_RESOLVE_CACHE_MAX 512

struct pushadm_resolver;
/* Resolves records against Dovecot's configuration (doveconf, and the
   userdb for per-user settings), caching per user for a bounded time. */
struct pushadm_resolver *pushadm_resolver_new(struct pushadm_ctx *ctx);
/* The request for e, built by the driver instance named e->driver of user
   e->user (its rebuild hook). -1 with *error_r (no such user or driver,
   driver not relayable, secret unreadable): a permanent failure.
   -2 with *error_r: the configuration or the userdb could not be read
   right now (doveconf failed, doveadm user failed other than "no such
   user"): retry later. The request and *error_r are allocated from pool
   (or live until the next call); *error_r never holds a secret. */
int pushadm_resolve(struct pushadm_resolver *r, struct pushcore_pool *pool,
		    const struct pushcore_spool_entry *e,
		    struct pushcore_http_request *req_r, const char **error_r);
void pushadm_resolver_free(struct pushadm_resolver **r);

#endif
