#ifndef PUSHADM_RESOLVE_H
#define PUSHADM_RESOLVE_H

struct pushadm_ctx;
struct pushcore_pool;
struct pushcore_spool_entry;
struct pushcore_http_request;

struct pushadm_resolver;
/* Resolves records against Dovecot's configuration (doveconf, and the
   userdb for per-user settings), caching per user for a bounded time. */
struct pushadm_resolver *pushadm_resolver_new(struct pushadm_ctx *ctx);
/* The request for e, built by the driver instance named e->driver of user
   e->user (its rebuild hook). -1 with *error_r (no such user or driver,
   driver not relayable, secret unreadable): a permanent failure. */
int pushadm_resolve(struct pushadm_resolver *r, struct pushcore_pool *pool,
		    const struct pushcore_spool_entry *e,
		    struct pushcore_http_request *req_r, const char **error_r);
void pushadm_resolver_free(struct pushadm_resolver **r);

#endif
