#ifndef PUSHADM_TRUST_H
#define PUSHADM_TRUST_H

/* Who may hand notifications to the relay (its socket, the spool): root,
   Dovecot's mail_uid, the uids the userdb gives mail users, and a list in
   relay.conf; and for which users: root and the shared mail uid for any,
   everyone else only for users whose userdb uid is theirs (the crontab
   rule). first_valid_uid..last_valid_uid is a range Dovecot accepts, not a
   list of mail uids: it allows nothing here. docs/spool.md, "Trust". */

#include <stdbool.h>
#include <sys/types.h>

struct pushadm_ctx;

/* A user's userdb uid comes from the answer the resolver shares
   (pushadm_user_lookup(), kept PUSHADM_USER_TTL_SECS). How long a uid's
   refusals are counted, and how often the userdb is listed to learn the
   uids mail is delivered as. */
#define PUSHADM_TRUST_TTL_SECS 60
#define PUSHADM_TRUST_LIST_INTERVAL_SECS 300
#define PUSHADM_TRUST_UIDS_MAX 1024
/* users whose uid a listing looks up (a listing gives names only) */
#define PUSHADM_TRUST_LIST_LOOKUPS 64
#define PUSHADM_TRUST_LIST_BUDGET_SECS 2
/* a uid that is no known mail uid: refused without a lookup for a while
   after this many refusals */
#define PUSHADM_TRUST_DENIED_LOOKUPS 3
#define PUSHADM_TRUST_DENIED_MAX 64

struct pushadm_trust;
/* extra_uids: relay.conf's list of uids allowed besides root, Dovecot's
   mail_uid and the userdb uids. */
struct pushadm_trust *pushadm_trust_new(struct pushadm_ctx *ctx,
					const uid_t *extra_uids, unsigned int count);
/* May a process of this uid talk to the relay at all? */
bool pushadm_trust_may_connect(struct pushadm_trust *t, uid_t uid);
/* May it submit for this user? root and the shared mail uid: any user;
   others: only users whose userdb uid is theirs. *why_r on false. */
bool pushadm_trust_may_submit(struct pushadm_trust *t, uid_t uid,
			      const char *user, const char **why_r);
/* For spool files: may_submit, where a uid that is not known as a mail
   uid (may_connect false: e.g. a userdb that can't be listed) is refused
   without a lookup after PUSHADM_TRUST_DENIED_LOOKUPS refusals within
   PUSHADM_TRUST_TTL_SECS: an account's forged files for many user names
   cost a few userdb lookups, not one each. Returns 1 (trusted), 0 (not:
   quarantine) or -1 (the userdb could not answer: leave the file for a
   later look), with *why_r unless 1. */
int pushadm_trust_check(struct pushadm_trust *t, uid_t uid,
			const char *user, const char **why_r);
void pushadm_trust_free(struct pushadm_trust **t);

#endif
