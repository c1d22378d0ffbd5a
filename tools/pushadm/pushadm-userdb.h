#ifndef PUSHADM_USERDB_H
#define PUSHADM_USERDB_H

/* Dovecot's userdb over its auth-userdb socket (pushadm-userdb.c). */

struct pushcore_pool;

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

#endif
