#ifndef PUSHADM_USERDB_H
#define PUSHADM_USERDB_H

/* Dovecot's userdb over its auth-userdb socket (pushadm-userdb.c), and
   what it says of each user, kept a while for the relay. */

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

struct pushadm_ctx;
struct pushcore_pool;

#define PUSHADM_NO_UID ((uid_t)-1)

/* the longest a lookup (connect, ask, answer) may take */
#define PUSHADM_USERDB_TIMEOUT_MSECS 1000

struct pushadm_userdb_reply {
	const char *uid;		/* NULL: the userdb gave none */
	unsigned int count;		/* every other field, unescaped */
	const char **keys, **values;
};

struct pushadm_userdb *pushadm_userdb_new(const char *socket_path);
void pushadm_userdb_free(struct pushadm_userdb **db);

/* 1: found (reply_r's strings live in pool), 0: no such user, -1: the
   lookup failed (*error_r says why; the socket may be absent). */
int pushadm_userdb_lookup(struct pushadm_userdb *db, struct pushcore_pool *pool,
			  const char *user, struct pushadm_userdb_reply *reply_r,
			  const char **error_r);

/* A uid as Dovecot's settings give it: a number or a user name;
   PUSHADM_NO_UID for "" or a name no passwd entry has. */
uid_t pushadm_parse_uid(const char *str);

/* How long an answer is kept: a user's uid and fields (or that there is
   no such user), a failed lookup only briefly; and how many users. */
#define PUSHADM_USER_TTL_SECS 60
#define PUSHADM_USER_FAIL_TTL_SECS 10
#define PUSHADM_USER_CACHE_MAX 4096

struct pushadm_user_info {
	/* 1 found, 0 no such user, -1 the lookup failed (ask again soon) */
	int ret;
	/* found: reply.uid parsed (PUSHADM_NO_UID where reply.uid is NULL
	   or "": Dovecot uses mail_uid then) */
	uid_t uid;
	struct pushadm_userdb_reply reply;
	/* who answered: "userdb" (its socket) or "doveadm user"; with the
	   latter doveadm's exit status (-1: it did not run) */
	const char *source;
	int doveadm_status;
	time_t looked_up;
};

/* What the userdb says of user: asked over ctx's socket or, where that
   can't be reached, with doveadm user, at most once per
   PUSHADM_USER_TTL_SECS (PUSHADM_USER_FAIL_TTL_SECS after a failure): the
   relay's trust check and its resolver share one lookup per user. Valid
   until the next call. */
const struct pushadm_user_info *pushadm_user_lookup(struct pushadm_ctx *ctx,
						  const char *user);
struct pushadm_users;
void pushadm_users_free(struct pushadm_users **users);

#endif
