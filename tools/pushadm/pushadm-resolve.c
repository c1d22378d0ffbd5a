/* The resolver: a record's user and driver name to the request, from
   Dovecot's configuration and the userdb (pushadm_config_load), each
   user's drivers kept for a bounded time. */
#include "pushadm.h"
#include "pushadm-resolve.h"
#include "pushadm-userdb.h"
#include "pushcore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* drivers that could not start, remembered per user: the list stops at
   the first one, as a delivery does */
#define RESOLVE_FAILED_MAX 4

struct resolved_user {
	char *name;
	time_t loaded;
	/* 0: loaded; -1 permanent failure, -2 temporary (error says why) */
	int ret;
	char *error;
	struct pushadm_config cfg;	/* the drivers' specs live in its pool */
	struct pushcore_user *puser;
	/* drivers that failed to start, and why */
	unsigned int failed_count;
	const char *failed_names[RESOLVE_FAILED_MAX];
	const char *failed_errors[RESOLVE_FAILED_MAX];
};

struct pushadm_resolver {
	struct pushadm_ctx *ctx;
	unsigned int count;
	struct resolved_user *users[PUSHADM_RESOLVE_CACHE_MAX];
};

struct pushadm_resolver *pushadm_resolver_new(struct pushadm_ctx *ctx)
{
	struct pushadm_resolver *r = calloc(1, sizeof(*r));

	if (r == NULL)
		abort();
	r->ctx = ctx;
	return r;
}

static void resolved_user_free(struct resolved_user *u)
{
	pushcore_user_free(&u->puser);
	pushadm_config_free(&u->cfg);
	free(u->error);
	free(u->name);
	free(u);
}

/* Hears of every driver tried; remembers why one couldn't start (a
   missing secret file, a bad URL). The plugin stops at that driver, so
   does pushadm_config_start_drivers: the same code in libpushcore. */
static void driver_tried(void *context, const char *name,
			 const struct pushcore_spec *spec __attribute__((unused)),
			 const char *error)
{
	struct resolved_user *u = context;

	if (error == NULL || u->failed_count >= RESOLVE_FAILED_MAX)
		return;
	u->failed_names[u->failed_count] = pushcore_pstrdup(u->cfg.pool, name);
	u->failed_errors[u->failed_count++] = pushcore_redact(u->cfg.pool, error);
}

/* Starts the user's drivers exactly as a delivery would. */
static void start_drivers(struct resolved_user *u)
{
	u->puser = pushadm_user_new(u->cfg.pool, u->name);
	/* it only rebuilds, it never spools */
	pushcore_user_set_spool_dir(u->puser, NULL);
	(void)pushadm_config_start_drivers(&u->cfg, u->puser, driver_tried, u);
}

static struct resolved_user *user_load(struct pushadm_resolver *r,
				       const char *name)
{
	struct resolved_user *u = calloc(1, sizeof(*u));
	int ret;

	if (u == NULL)
		abort();
	u->name = pushcore_xstrdup(name);
	u->loaded = time(NULL);
	ret = pushadm_config_load(r->ctx, name, &u->cfg);
	if (ret == PUSHADM_EXIT_NOUSER) {
		u->ret = -1;
		u->error = pushcore_xstrdup("no such user in the userdb");
	} else if (ret != 0) {
		u->ret = -2;
		u->error = pushcore_xstrdup(ret == PUSHADM_EXIT_CONFIG ?
			"doveconf failed (is Dovecot's configuration valid?)" :
			"the userdb lookup (doveadm user) failed; retrying later");
	} else {
		/* the drivers are as old as the userdb answer they were built
		   from (which the trust check may have asked for earlier): a
		   changed field is picked up within PUSHADM_RESOLVE_TTL_SECS */
		u->loaded = pushadm_user_lookup(r->ctx, name)->looked_up;
		start_drivers(u);
	}
	return u;
}

/* The user's cached drivers, loaded again when too old; the oldest user
   makes room when the cache is full. */
static struct resolved_user *user_get(struct pushadm_resolver *r,
				      const char *name)
{
	time_t now = time(NULL);
	unsigned int i, oldest = 0;
	struct resolved_user *u;
	time_t ttl;

	for (i = 0; i < r->count; i++) {
		u = r->users[i];
		if (strcmp(u->name, name) != 0) {
			if (u->loaded < r->users[oldest]->loaded)
				oldest = i;
			continue;
		}
		ttl = u->ret == 0 ? PUSHADM_RESOLVE_TTL_SECS :
			PUSHADM_RESOLVE_FAIL_TTL_SECS;
		/* a clock set back counts as expired too */
		if (u->loaded <= now && now - u->loaded < ttl)
			return u;
		resolved_user_free(u);
		return r->users[i] = user_load(r, name);
	}
	if (r->count == PUSHADM_RESOLVE_CACHE_MAX) {
		resolved_user_free(r->users[oldest]);
		return r->users[oldest] = user_load(r, name);
	}
	return r->users[r->count++] = user_load(r, name);
}

int pushadm_resolve(struct pushadm_resolver *r, struct pushcore_pool *pool,
		    const struct pushcore_spool_entry *e,
		    struct pushcore_http_request *req_r, const char **error_r)
{
	struct pushcore_driver_instance *inst;
	struct resolved_user *u;
	unsigned int i;

	memset(req_r, 0, sizeof(*req_r));
	if (!pushcore_spool_entry_valid(e, error_r))
		return -1;
	u = user_get(r, e->user);
	if (u->ret != 0) {
		*error_r = pushcore_psprintf(pool, "user %s: %s", e->user, u->error);
		return u->ret;
	}
	if ((inst = pushcore_user_find_driver(u->puser, e->driver)) != NULL)
		return pushcore_driver_rebuild(inst, pool, e, req_r, error_r);
	for (i = 0; i < u->failed_count; i++) {
		if (strcmp(u->failed_names[i], e->driver) == 0) {
			*error_r = pushcore_psprintf(pool, "user %s: driver %s "
				"doesn't start: %s", e->user, e->driver,
				u->failed_errors[i]);
			return -1;
		}
	}
	*error_r = pushcore_psprintf(pool, "user %s has no driver %s in "
				     "Dovecot's configuration", e->user, e->driver);
	return -1;
}

void pushadm_resolver_free(struct pushadm_resolver **_r)
{
	struct pushadm_resolver *r = *_r;
	unsigned int i;

	if (r == NULL)
		return;
	*_r = NULL;
	for (i = 0; i < r->count; i++)
		resolved_user_free(r->users[i]);
	free(r);
}
