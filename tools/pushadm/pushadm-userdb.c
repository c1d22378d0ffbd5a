/* Dovecot's userdb asked directly, over its auth-userdb socket, in the
   auth-master protocol that `doveadm user` speaks: a lookup is one round
   trip on a kept connection instead of a doveadm process. The relay asks
   on its acknowledgement path (may this uid submit for that user?) and
   for every user whose drivers it resolves; a process per lookup there
   cost tens of milliseconds each and held every delivery's hand-off back.
   Every exchange is bounded by PUSHADM_USERDB_TIMEOUT_MSECS. */
#include "pushadm.h"
#include "pushadm-userdb.h"
#include "pushcore.h"
#include "pushcore-unix.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* a reply line longer than this is not Dovecot's */
#define USERDB_MAX_LINE (64 * 1024)

struct pushadm_userdb {
	char *path;
	int fd;
	unsigned int next_id;
	struct pushcore_buf in;
};

struct pushadm_userdb *pushadm_userdb_new(const char *socket_path)
{
	struct pushadm_userdb *db = pushcore_xmalloc(sizeof(*db));

	memset(db, 0, sizeof(*db));
	db->path = pushcore_xstrdup(socket_path);
	db->fd = -1;
	pushcore_buf_init(&db->in);
	return db;
}

static void userdb_close(struct pushadm_userdb *db)
{
	if (db->fd >= 0)
		close(db->fd);
	db->fd = -1;
	db->in.len = 0;
}

void pushadm_userdb_free(struct pushadm_userdb **_db)
{
	struct pushadm_userdb *db = *_db;

	if (db == NULL)
		return;
	*_db = NULL;
	userdb_close(db);
	pushcore_buf_free(&db->in);
	free(db->path);
	free(db);
}

/* The next complete line (without its LF), copied into pool. */
static int read_line(struct pushadm_userdb *db, struct pushcore_pool *pool,
		     long long deadline, char **line_r, const char **error_r)
{
	char data[4096], *nl;
	ssize_t ret;
	size_t len;

	while ((nl = db->in.len == 0 ? NULL :
		memchr(db->in.data, '\n', db->in.len)) == NULL) {
		if (db->in.len > USERDB_MAX_LINE) {
			*error_r = "an over-long reply";
			return -1;
		}
		/* a peer that keeps sending other lines is cut off at the
		   deadline too */
		ret = pushcore_unix_read(db->fd, data, sizeof(data), deadline);
		if (ret <= 0) {
			*error_r = ret == 0 ? "the connection was closed" :
				errno == ETIMEDOUT ? "no answer in time" :
				strerror(errno);
			return -1;
		}
		pushcore_buf_append(&db->in, data, (size_t)ret);
	}
	len = (size_t)(nl - db->in.data);
	*line_r = pushcore_palloc(pool, len + 1);
	memcpy(*line_r, db->in.data, len);
	(*line_r)[len] = '\0';
	memmove(db->in.data, nl + 1, db->in.len - len - 1);
	db->in.len -= len + 1;
	return 0;
}

/* Dovecot's tab escaping: \001 then 1, t, r, n or 0. */
static void tab_unescape(char *s)
{
	char *out = s;

	for (; *s != '\0'; s++) {
		if (*s != '\001' || s[1] == '\0') {
			*out++ = *s;
			continue;
		}
		switch (*++s) {
		case 't': *out++ = '\t'; break;
		case 'r': *out++ = '\r'; break;
		case 'n': *out++ = '\n'; break;
		case '1': *out++ = '\001'; break;
		case '0': *out = '\0'; return;	/* a NUL: the value ends */
		default: *out++ = *s; break;
		}
	}
	*out = '\0';
}

/* A field besides uid, kept in pool with the reply. */
static void reply_add(struct pushcore_pool *pool, struct pushadm_userdb_reply *reply,
		      const char *key, const char *value)
{
	if (reply->count % 16 == 0) {
		const char **keys = pushcore_palloc(pool, sizeof(*keys) * (reply->count + 16));
		const char **values = pushcore_palloc(pool, sizeof(*values) * (reply->count + 16));

		if (reply->count > 0) {
			memcpy(keys, reply->keys, sizeof(*keys) * reply->count);
			memcpy(values, reply->values, sizeof(*values) * reply->count);
		}
		reply->keys = keys;
		reply->values = values;
	}
	reply->keys[reply->count] = key;
	reply->values[reply->count++] = value;
}

/* "USER\tid\tname\tkey=value..." into the reply */
static void parse_fields(struct pushcore_pool *pool, char *fields,
			 struct pushadm_userdb_reply *reply)
{
	char *save = NULL, *field, *eq;

	for (field = strtok_r(fields, "\t", &save); field != NULL;
	     field = strtok_r(NULL, "\t", &save)) {
		tab_unescape(field);
		if ((eq = strchr(field, '=')) != NULL)
			*eq++ = '\0';
		if (strcmp(field, "uid") == 0 && eq != NULL)
			reply->uid = eq;
		else
			reply_add(pool, reply, field, eq != NULL ? eq : "");
	}
}

/* One exchange on a connected socket. */
static int userdb_ask(struct pushadm_userdb *db, struct pushcore_pool *pool,
		      const char *user, long long deadline,
		      struct pushadm_userdb_reply *reply_r, const char **error_r)
{
	unsigned int id = ++db->next_id;
	char *req, *line, *rest, idstr[16];
	size_t idlen;

	req = pushcore_psprintf(pool, "%sUSER\t%u\t%s\tservice=doveadm\n",
				id == 1 ? "VERSION\t1\t0\n" : "", id, user);
	if (pushcore_unix_send_all(db->fd, req, strlen(req), deadline) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	idlen = (size_t)snprintf(idstr, sizeof(idstr), "%u", id);
	for (;;) {
		if (read_line(db, pool, deadline, &line, error_r) < 0)
			return -1;
		/* VERSION, SPID and the like come first (VERSION's "1" is
		   no id: only the replies to a lookup count) */
		if ((strncmp(line, "USER\t", 5) != 0 &&
		     strncmp(line, "NOTFOUND\t", 9) != 0 &&
		     strncmp(line, "FAIL\t", 5) != 0) ||
		    (rest = strchr(line, '\t')) == NULL ||
		    strncmp(rest + 1, idstr, idlen) != 0 ||
		    (rest[1 + idlen] != '\t' && rest[1 + idlen] != '\0'))
			continue;
		*rest = '\0';
		rest += 1 + idlen;
		if (strcmp(line, "NOTFOUND") == 0)
			return 0;
		if (strcmp(line, "USER") == 0 && *rest == '\t' &&
		    (rest = strchr(rest + 1, '\t')) != NULL) {
			parse_fields(pool, rest + 1, reply_r);
			return 1;
		}
		if (strcmp(line, "USER") == 0 && *rest == '\t')
			return 1;	/* a user without fields */
		*error_r = strcmp(line, "FAIL") == 0 ?
			"the userdb lookup failed (see Dovecot's log)" :
			"an unexpected reply";
		return -1;
	}
}

int pushadm_userdb_lookup(struct pushadm_userdb *db, struct pushcore_pool *pool,
			  const char *user, struct pushadm_userdb_reply *reply_r,
			  const char **error_r)
{
	long long deadline = pushcore_mono_msecs() + PUSHADM_USERDB_TIMEOUT_MSECS;
	const char *error;
	int ret, attempt;

	memset(reply_r, 0, sizeof(*reply_r));
	if (user[0] == '\0' || strpbrk(user, "\t\r\n\001") != NULL) {
		*error_r = "invalid user name";
		return -1;
	}
	/* a kept connection that auth closed since (restarted, idle limit)
	   gets one fresh try */
	for (attempt = 0; attempt < 2; attempt++) {
		if (db->fd < 0) {
			db->next_id = 0;
			if ((db->fd = pushcore_unix_connect(db->path, SOCK_NONBLOCK,
							   deadline)) < 0) {
				*error_r = pushcore_psprintf(pool, "%s: %s", db->path,
							     strerror(errno));
				userdb_close(db);
				return -1;
			}
		}
		ret = userdb_ask(db, pool, user, deadline, reply_r, &error);
		if (ret >= 0)
			return ret;
		userdb_close(db);
		*error_r = pushcore_psprintf(pool, "%s: %s", db->path, error);
		if (pushcore_mono_msecs() >= deadline)
			break;
	}
	return -1;
}

/* --- what the userdb says of a user, kept a while ------------------------ */

struct user_entry {
	char *name;
	struct pushcore_pool *pool;	/* the reply's strings */
	struct pushadm_user_info info;
};

struct pushadm_users {
	unsigned int count;
	struct user_entry *entries[PUSHADM_USER_CACHE_MAX];
};

uid_t pushadm_parse_uid(const char *str)
{
	struct passwd *pw;
	unsigned int num;

	if (str[0] == '\0')
		return PUSHADM_NO_UID;
	if (pushcore_parse_uint(str, &num))
		return (uid_t)num;
	pw = getpwnam(str);
	return pw == NULL ? PUSHADM_NO_UID : pw->pw_uid;
}

/* doveadm user's "field<TAB>value" lines (its default formatter), the
   header line aside */
static void parse_doveadm(struct pushcore_pool *pool, const char *out,
			  struct pushadm_userdb_reply *reply)
{
	char *copy = pushcore_pstrdup(pool, out), *line, *save = NULL, *sp;

	for (line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if ((sp = strpbrk(line, " \t")) == NULL)
			continue;
		*sp++ = '\0';
		sp += strspn(sp, " \t");
		if (strcmp(line, "uid") == 0)
			reply->uid = sp;
		else if (strcmp(line, "field") != 0)
			reply_add(pool, reply, line, sp);
	}
}

/* Asks the userdb's socket, or doveadm user where that can't be reached
   (no base_dir, no socket, a failed exchange). */
static void user_ask(struct pushadm_ctx *ctx, const char *user,
		     struct user_entry *e)
{
	const char *args[] = { "user", user, NULL };
	struct pushadm_userdb *db = pushadm_ctx_userdb(ctx);
	struct pushadm_user_info *info = &e->info;
	const char *error;
	char *out;

	memset(info, 0, sizeof(*info));
	info->source = "userdb";
	info->ret = db == NULL ? -1 :
		pushadm_userdb_lookup(db, e->pool, user, &info->reply, &error);
	if (info->ret < 0) {
		info->source = "doveadm user";
		/* its failure is worded by the callers */
		out = pushadm_doveadm_run_quiet(ctx, args, &info->doveadm_status);
		info->ret = info->doveadm_status == 67 ? 0 :	/* EX_NOUSER */
			out != NULL && info->doveadm_status == 0 ? 1 : -1;
		if (info->ret > 0)
			parse_doveadm(e->pool, out, &info->reply);
		free(out);
	}
	info->uid = info->ret > 0 && info->reply.uid != NULL ?
		pushadm_parse_uid(info->reply.uid) : PUSHADM_NO_UID;
	info->looked_up = time(NULL);
}

/* The entry for name: its own if cached (fresh or not), else a new one
   never looked up (looked_up 0), the oldest making room when the cache
   is full. */
static struct user_entry *user_entry(struct pushadm_users *users,
				     const char *name)
{
	unsigned int i, oldest = 0;
	struct user_entry *e;

	for (i = 0; i < users->count; i++) {
		e = users->entries[i];
		if (strcmp(e->name, name) == 0)
			return e;
		if (e->info.looked_up < users->entries[oldest]->info.looked_up)
			oldest = i;
	}
	if (users->count < PUSHADM_USER_CACHE_MAX) {
		e = pushcore_xmalloc(sizeof(*e));
		users->entries[users->count++] = e;
	} else {
		e = users->entries[oldest];
		free(e->name);
		pushcore_pool_free(&e->pool);
	}
	memset(e, 0, sizeof(*e));
	e->name = pushcore_xstrdup(name);
	return e;
}

const struct pushadm_user_info *pushadm_user_lookup(struct pushadm_ctx *ctx,
						  const char *user)
{
	time_t now = time(NULL), ttl;
	struct user_entry *e;

	if (ctx->users == NULL) {
		ctx->users = pushcore_xmalloc(sizeof(*ctx->users));
		memset(ctx->users, 0, sizeof(*ctx->users));
	}
	e = user_entry(ctx->users, user);
	ttl = e->info.ret < 0 ? PUSHADM_USER_FAIL_TTL_SECS : PUSHADM_USER_TTL_SECS;
	/* a clock set back counts as expired too */
	if (e->info.looked_up != 0 && e->info.looked_up <= now &&
	    now - e->info.looked_up < ttl)
		return &e->info;
	pushcore_pool_free(&e->pool);
	e->pool = pushcore_pool_new();
	user_ask(ctx, user, e);
	return &e->info;
}

void pushadm_users_free(struct pushadm_users **_users)
{
	struct pushadm_users *users = *_users;
	unsigned int i;

	if (users == NULL)
		return;
	*_users = NULL;
	for (i = 0; i < users->count; i++) {
		free(users->entries[i]->name);
		pushcore_pool_free(&users->entries[i]->pool);
		free(users->entries[i]);
	}
	free(users);
}
