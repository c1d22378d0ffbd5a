/* The trust policy of the relay and the spool: which uids may hand over
   notifications, and for which users (pushadm-trust.h). */
#include "pushadm.h"
#include "pushadm-trust.h"
#include "pushadm-userdb.h"
#include "pushcore.h"

#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* the uid mail of a user is delivered as */
struct user_uid {
	uid_t uid;		/* PUSHADM_NO_UID: no such user, or the lookup failed */
	bool temporary;		/* the lookup failed (not "no such user") */
};

struct denied_uid {
	uid_t uid;
	unsigned int count;
	time_t since;
};

struct pushadm_trust {
	struct pushadm_ctx *ctx;
	uid_t mail_uid;		/* PUSHADM_NO_UID if unset */
	/* extra_uids, the userdb's configured uids, and uids seen in
	   lookups and listings */
	unsigned int uid_count;
	uid_t uids[PUSHADM_TRUST_UIDS_MAX];
	time_t listed;		/* last userdb listing, 0: never */
	unsigned int denied_count;
	struct denied_uid denied[PUSHADM_TRUST_DENIED_MAX];
};

static bool uid_known(const struct pushadm_trust *t, uid_t uid)
{
	unsigned int i;

	for (i = 0; i < t->uid_count; i++) {
		if (t->uids[i] == uid)
			return true;
	}
	return false;
}

static void uid_add(struct pushadm_trust *t, uid_t uid)
{
	/* root has its own rule; a full list keeps its first uids */
	if (uid == PUSHADM_NO_UID || uid == 0 || uid_known(t, uid) ||
	    t->uid_count == PUSHADM_TRUST_UIDS_MAX)
		return;
	t->uids[t->uid_count++] = uid;
}

/* "uid=NAME" in a userdb's args or fields (2.3), "uid = NAME" in its
   fields block (2.4): the uid a static userdb gives every user. */
static void userdb_line(struct pushadm_trust *t, const char *line)
{
	const char *p = line, *end;
	char value[64];

	while ((p = strstr(p, "uid")) != NULL) {
		bool word = p == line || isspace((unsigned char)p[-1]);

		p += 3;
		end = p + strspn(p, " ");
		if (!word || *end != '=')
			continue;
		end++;
		end += strspn(end, " ");
		size_t len = strcspn(end, " \t");
		if (len == 0 || len >= sizeof(value))
			continue;
		memcpy(value, end, len);
		value[len] = '\0';
		uid_add(t, pushadm_parse_uid(value));
	}
}

/* mail_uid, and the uids userdb blocks hand out, from doveconf -P. */
static void read_config(struct pushadm_trust *t)
{
	const char *args[] = { "-P", NULL };
	char *out = pushadm_doveconf_run(t->ctx, args), *line, *save = NULL;
	unsigned int depth = 0, userdb_depth = 0;

	if (out == NULL)
		return;
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *key = line + strspn(line, " \t");
		size_t len = strlen(key);

		if (strcmp(key, "}") == 0) {
			if (depth > 0 && depth-- == userdb_depth)
				userdb_depth = 0;
			continue;
		}
		if (len > 0 && key[len - 1] == '{') {
			depth++;
			if (userdb_depth == 0 && strncmp(key, "userdb", 6) == 0)
				userdb_depth = depth;
			continue;
		}
		if (depth == 0 && strncmp(key, "mail_uid = ", 11) == 0)
			t->mail_uid = pushadm_parse_uid(key + 11);
		else if (userdb_depth > 0)
			userdb_line(t, key);
	}
	free(out);
}

struct pushadm_trust *pushadm_trust_new(struct pushadm_ctx *ctx,
					const uid_t *extra_uids, unsigned int count)
{
	struct pushadm_trust *t = calloc(1, sizeof(*t));
	unsigned int i;

	if (t == NULL)
		abort();
	t->ctx = ctx;
	t->mail_uid = PUSHADM_NO_UID;
	for (i = 0; i < count; i++)
		uid_add(t, extra_uids[i]);
	read_config(t);
	return t;
}

/* From the userdb answer the resolver shares (pushadm_user_lookup()); a
   uid it gives is learnt as a mail uid. */
static struct user_uid user_lookup(struct pushadm_trust *t, const char *user)
{
	const struct pushadm_user_info *info = pushadm_user_lookup(t->ctx, user);
	struct user_uid u = { PUSHADM_NO_UID, info->ret < 0 };

	if (info->ret > 0) {
		/* no uid from the userdb: Dovecot uses mail_uid */
		u.uid = info->reply.uid == NULL || info->reply.uid[0] == '\0' ?
			t->mail_uid : info->uid;
		uid_add(t, u.uid);
	}
	return u;
}

/* Lists the userdb (if it can be listed) at most every few minutes and
   looks up the uids of some of its users, to learn the uids mail is
   delivered as. */
static void list_userdb(struct pushadm_trust *t)
{
	const char *args[] = { "user", "*", NULL };
	char *out, *line, *save = NULL;
	time_t now = time(NULL);
	unsigned int looked_up = 0;
	int status;

	if (t->listed != 0 && t->listed <= now &&
	    now - t->listed < PUSHADM_TRUST_LIST_INTERVAL_SECS)
		return;
	t->listed = now;
	if ((out = pushadm_doveadm_run_quiet(t->ctx, args, &status)) == NULL)
		return;
	/* doveadm lists names only; their uids cost a lookup each: a few,
	   within a time budget, and none after one that failed */
	for (line = strtok_r(out, "\n", &save);
	     line != NULL && status == 0 && looked_up < PUSHADM_TRUST_LIST_LOOKUPS &&
		     time(NULL) - now < PUSHADM_TRUST_LIST_BUDGET_SECS;
	     line = strtok_r(NULL, "\n", &save)) {
		if (pushcore_spool_user_name_valid(line)) {
			if (user_lookup(t, line).temporary)
				break;
			looked_up++;
		}
	}
	free(out);
}

bool pushadm_trust_may_connect(struct pushadm_trust *t, uid_t uid)
{
	struct passwd *pw;

	if (uid == 0 || uid == t->mail_uid || uid_known(t, uid))
		return true;
	/* a system user whose mail is delivered as itself */
	if ((pw = getpwuid(uid)) != NULL && pushcore_spool_user_name_valid(pw->pw_name) &&
	    user_lookup(t, pw->pw_name).uid == uid)
		return true;
	list_userdb(t);
	return uid_known(t, uid);
}

/* 1: may submit, 0: may not, -1: the userdb could not say (try later). */
static int trust_submit(struct pushadm_trust *t, uid_t uid, const char *user,
			const char **why_r)
{
	static char why[512];
	struct user_uid u;

	if (uid == 0 || (uid == t->mail_uid && t->mail_uid != PUSHADM_NO_UID))
		return 1;
	if (!pushcore_spool_user_name_valid(user)) {
		*why_r = "invalid user name";
		return 0;
	}
	u = user_lookup(t, user);
	if (u.uid == uid)
		return 1;
	if (u.uid != PUSHADM_NO_UID)
		snprintf(why, sizeof(why), "uid %lu may not submit for %.255s "
			 "(whose mail is delivered as uid %lu)",
			 (unsigned long)uid, user, (unsigned long)u.uid);
	else
		snprintf(why, sizeof(why), "uid %lu may not submit for %.255s "
			 "(%s)", (unsigned long)uid, user, u.temporary ?
			 "the userdb lookup failed" : "no such user");
	*why_r = why;
	return u.uid == PUSHADM_NO_UID && u.temporary ? -1 : 0;
}

bool pushadm_trust_may_submit(struct pushadm_trust *t, uid_t uid,
			      const char *user, const char **why_r)
{
	return trust_submit(t, uid, user, why_r) > 0;
}

/* How often a uid that is no known mail uid was refused lately. */
static struct denied_uid *denied_get(struct pushadm_trust *t, uid_t uid)
{
	time_t now = time(NULL);
	unsigned int i, oldest = 0;

	for (i = 0; i < t->denied_count; i++) {
		if (t->denied[i].uid == uid) {
			if (t->denied[i].since > now ||
			    now - t->denied[i].since >= PUSHADM_TRUST_TTL_SECS) {
				t->denied[i].count = 0;
				t->denied[i].since = now;
			}
			return &t->denied[i];
		}
		if (t->denied[i].since < t->denied[oldest].since)
			oldest = i;
	}
	i = t->denied_count < PUSHADM_TRUST_DENIED_MAX ? t->denied_count++ : oldest;
	t->denied[i].uid = uid;
	t->denied[i].count = 0;
	t->denied[i].since = now;
	return &t->denied[i];
}

int pushadm_trust_check(struct pushadm_trust *t, uid_t uid,
			const char *user, const char **why_r)
{
	static char why[160];
	struct denied_uid *d;
	int ret;

	if (pushadm_trust_may_connect(t, uid))
		return trust_submit(t, uid, user, why_r);
	/* not known as a mail uid (the userdb may not be listable): its
	   user's uid decides, but a uid refused again and again costs no
	   more lookups for a while */
	d = denied_get(t, uid);
	if (d->count >= PUSHADM_TRUST_DENIED_LOOKUPS) {
		snprintf(why, sizeof(why), "uid %lu is no mail uid and was refused "
			 "%u times in a row", (unsigned long)uid, d->count);
		*why_r = why;
		return 0;
	}
	if ((ret = trust_submit(t, uid, user, why_r)) == 0)
		d->count++;
	return ret;
}

void pushadm_trust_free(struct pushadm_trust **_t)
{
	struct pushadm_trust *t = *_t;

	if (t == NULL)
		return;
	*_t = NULL;
	free(t);
}
