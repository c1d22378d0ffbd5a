#ifndef PUSHADM_TRUST_H
#define PUSHADM_TRUST_H

#include <stdbool.h>
#include <sys/types.h>

struct pushadm_ctx;

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
void pushadm_trust_free(struct pushadm_trust **t);

#endif
