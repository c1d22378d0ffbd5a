/* The notify plugin's callbacks, turned into pushcore events: collected
   inside the mail transaction, sent after its commit, dropped on rollback. */
#include "lib.h"
#include "array.h"
#include "seq-range-array.h"
#include "mail-storage-private.h"
#include "notify-plugin.h"
#include "push-notify-compat.h"
#include "pushcore.h"
#include "push-notify-plugin.h"

struct push_notify_txn {
	struct mailbox *box;
	struct push_notify_user *puser;
	struct pushcore_txn *ptxn;
	/* saved/copied mails in save order (NULL where not wanted): the i-th
	   gets the i-th UID assigned at commit */
	ARRAY(struct pushcore_event *) saved;
};

static struct notify_context *push_notify_ctx;

static struct push_notify_user *box_user(struct mailbox *box)
{
	/* the raw mailbox LMTP and LDA read the incoming mail from */
	if (strcmp(box->storage->name, "raw") == 0)
		return NULL;
	return push_notify_user_get(mail_storage_get_user(mailbox_get_storage(box)));
}

static uint32_t box_uidvalidity(struct mailbox *box)
{
	struct mailbox_status status;

	if (mailbox_get_status(box, STATUS_UIDVALIDITY, &status) < 0)
		return 0;
	return status.uidvalidity;
}

static void *push_notify_transaction_begin(struct mailbox_transaction_context *t)
{
	struct mailbox *box = mailbox_transaction_get_mailbox(t);
	struct push_notify_user *puser = box_user(box);
	struct push_notify_txn *txn;

	if (puser == NULL)
		return NULL;
	txn = i_new(struct push_notify_txn, 1);
	txn->box = box;
	txn->puser = puser;
	return txn;
}

/* Only an event some driver wants opens the pushcore transaction. */
static struct pushcore_event *
txn_add(struct push_notify_txn *txn, enum pushcore_event_type type)
{
	if (!pushcore_user_wants(txn->puser->puser, type))
		return NULL;
	if (txn->ptxn == NULL)
		txn->ptxn = pushcore_txn_begin(txn->puser->puser);
	return pushcore_txn_add(txn->ptxn, type, mailbox_get_vname(txn->box));
}

static void push_notify_mail_save(void *_txn, struct mail *mail)
{
	struct push_notify_txn *txn = _txn;
	struct pushcore_event *ev;
	enum pushcore_event_type type;

	if (txn == NULL)
		return;
	if (!array_is_created(&txn->saved))
		i_array_init(&txn->saved, 8);
	/* MTA delivery (LMTP, LDA, Sieve fileinto) opens with POST_SESSION */
	type = (mail->box->flags & MAILBOX_FLAG_POST_SESSION) != 0 ?
		PUSHCORE_EVENT_MESSAGE_NEW : PUSHCORE_EVENT_MESSAGE_APPEND;
	ev = txn_add(txn, type);
	if (ev != NULL)
		push_notify_message_fill(txn->ptxn, ev, mail);
	array_push_back(&txn->saved, &ev);
}

static void push_notify_mail_copy(void *txn, struct mail *src ATTR_UNUSED,
				  struct mail *dst)
{
	push_notify_mail_save(txn, dst);
}

static struct pushcore_event *
message_event(struct push_notify_txn *txn, enum pushcore_event_type type,
	      struct mail *mail)
{
	struct pushcore_event *ev = txn_add(txn, type);

	if (ev != NULL) {
		ev->uid = mail->uid;
		ev->uidvalidity = box_uidvalidity(txn->box);
	}
	return ev;
}

static void push_notify_mail_expunge(void *_txn, struct mail *mail)
{
	if (_txn != NULL)
		(void)message_event(_txn, PUSHCORE_EVENT_MESSAGE_EXPUNGE, mail);
}

/* One FlagsSet/FlagsClear per message and transaction: STORE of flags and
   keywords together arrives as two callbacks. */
static struct pushcore_event *
flags_event(struct push_notify_txn *txn, enum pushcore_event_type type,
	    struct mail *mail)
{
	struct pushcore_event *ev;

	for (ev = txn->ptxn == NULL ? NULL : pushcore_txn_events(txn->ptxn);
	     ev != NULL; ev = ev->next) {
		if (ev->type == type && ev->uid == mail->uid &&
		    strcmp(ev->mailbox, mailbox_get_vname(txn->box)) == 0)
			return ev;
	}
	return message_event(txn, type, mail);
}

static void
push_notify_mail_update_flags(void *_txn, struct mail *mail,
			      enum mail_flags old_flags)
{
	struct push_notify_txn *txn = _txn;
	enum mail_flags new_flags = mail_get_flags(mail);
	enum mail_flags set = new_flags & ENUM_NEGATE(old_flags) & ENUM_NEGATE(MAIL_RECENT);
	enum mail_flags cleared = old_flags & ENUM_NEGATE(new_flags) & ENUM_NEGATE(MAIL_RECENT);
	struct pushcore_event *ev;

	if (txn == NULL)
		return;
	if ((set & MAIL_SEEN) != 0)
		(void)message_event(txn, PUSHCORE_EVENT_MESSAGE_READ, mail);
	if ((set & MAIL_DELETED) != 0)
		(void)message_event(txn, PUSHCORE_EVENT_MESSAGE_TRASH, mail);
	if (set != 0 && (ev = flags_event(txn, PUSHCORE_EVENT_FLAGS_SET, mail)) != NULL)
		pushcore_event_set_int(ev, PUSHCORE_FIELD_FLAGS,
				       ev->fields[PUSHCORE_FIELD_FLAGS].num | set);
	if (cleared != 0 &&
	    (ev = flags_event(txn, PUSHCORE_EVENT_FLAGS_CLEAR, mail)) != NULL) {
		pushcore_event_set_int(ev, PUSHCORE_FIELD_FLAGS,
				       ev->fields[PUSHCORE_FIELD_FLAGS].num | cleared);
		if (!ev->fields[PUSHCORE_FIELD_FLAGS_OLD].set)
			pushcore_event_set_int(ev, PUSHCORE_FIELD_FLAGS_OLD, old_flags);
	}
}

/* The keywords of a that are not in b. */
static const char *const *
keywords_minus(const char *const *a, const char *const *b)
{
	ARRAY_TYPE(const_string) ret;

	t_array_init(&ret, 8);
	for (; a != NULL && *a != NULL; a++) {
		if (b == NULL || !str_array_find(b, *a))
			array_push_back(&ret, a);
	}
	array_append_zero(&ret);
	return array_front(&ret);
}

static void
push_notify_mail_update_keywords(void *_txn, struct mail *mail,
				 const char *const *old_keywords)
{
	struct push_notify_txn *txn = _txn;
	const char *const *new_keywords, *const *added, *const *removed;
	struct pushcore_event *ev;

	if (txn == NULL)
		return;
	new_keywords = mail_get_keywords(mail);
	added = keywords_minus(new_keywords, old_keywords);
	removed = keywords_minus(old_keywords, new_keywords);
	if (added[0] != NULL &&
	    (ev = flags_event(txn, PUSHCORE_EVENT_FLAGS_SET, mail)) != NULL)
		pushcore_event_set_list(pushcore_txn_pool(txn->ptxn), ev,
					PUSHCORE_FIELD_KEYWORDS_SET, added);
	if (removed[0] != NULL &&
	    (ev = flags_event(txn, PUSHCORE_EVENT_FLAGS_CLEAR, mail)) != NULL) {
		pushcore_event_set_list(pushcore_txn_pool(txn->ptxn), ev,
					PUSHCORE_FIELD_KEYWORDS_CLEAR, removed);
		pushcore_event_set_list(pushcore_txn_pool(txn->ptxn), ev,
					PUSHCORE_FIELD_KEYWORDS_OLD, old_keywords);
	}
}

static void txn_free(struct push_notify_txn *txn)
{
	if (array_is_created(&txn->saved))
		array_free(&txn->saved);
	i_free(txn);
}

/* Saved mails get their UIDs only now. */
static void assign_saved_uids(struct push_notify_txn *txn,
			      struct mail_transaction_commit_changes *changes)
{
	struct pushcore_event *const *evp;
	struct seq_range_iter iter;
	uint32_t uidvalidity, uid;
	unsigned int i = 0;

	if (!array_is_created(&txn->saved))
		return;
	uidvalidity = changes->uid_validity != 0 ? changes->uid_validity :
		box_uidvalidity(txn->box);
	seq_range_array_iter_init(&iter, &changes->saved_uids);
	array_foreach(&txn->saved, evp) {
		if (!seq_range_array_iter_nth(&iter, i++, &uid))
			uid = 0;
		if (*evp != NULL) {
			(*evp)->uid = uid;
			(*evp)->uidvalidity = uidvalidity;
		}
	}
}

static void
push_notify_transaction_commit(void *_txn,
			       struct mail_transaction_commit_changes *changes)
{
	struct push_notify_txn *txn = _txn;

	if (txn == NULL)
		return;
	if (txn->ptxn != NULL) {
		assign_saved_uids(txn, changes);
		pushcore_txn_commit(&txn->ptxn);
	}
	txn_free(txn);
}

static void push_notify_transaction_rollback(void *_txn)
{
	struct push_notify_txn *txn = _txn;

	if (txn == NULL)
		return;
	if (txn->ptxn != NULL)
		pushcore_txn_rollback(&txn->ptxn);
	txn_free(txn);
}

/* Mailbox operations have already succeeded: a one-event transaction. */
static void mailbox_event(struct mailbox *box, enum pushcore_event_type type,
			  const char *mailbox_old)
{
	struct push_notify_user *puser = box_user(box);
	struct pushcore_txn *ptxn;
	struct pushcore_event *ev;

	if (puser == NULL || !pushcore_user_wants(puser->puser, type))
		return;
	ptxn = pushcore_txn_begin(puser->puser);
	ev = pushcore_txn_add(ptxn, type, mailbox_get_vname(box));
	if (type == PUSHCORE_EVENT_MAILBOX_CREATE)
		ev->uidvalidity = box_uidvalidity(box);
	if (mailbox_old != NULL)
		pushcore_event_set_str(pushcore_txn_pool(ptxn), ev, PUSHCORE_FIELD_MAILBOX_OLD,
				       mailbox_old);
	pushcore_txn_commit(&ptxn);
}

static void push_notify_mailbox_create(struct mailbox *box)
{
	mailbox_event(box, PUSHCORE_EVENT_MAILBOX_CREATE, NULL);
}

static void push_notify_mailbox_delete_commit(void *txn ATTR_UNUSED,
					      struct mailbox *box)
{
	mailbox_event(box, PUSHCORE_EVENT_MAILBOX_DELETE, NULL);
}

static void push_notify_mailbox_rename(struct mailbox *src, struct mailbox *dest)
{
	mailbox_event(dest, PUSHCORE_EVENT_MAILBOX_RENAME, mailbox_get_vname(src));
}

static void push_notify_mailbox_set_subscribed(struct mailbox *box,
					       bool subscribed)
{
	mailbox_event(box, subscribed ? PUSHCORE_EVENT_MAILBOX_SUBSCRIBE :
		      PUSHCORE_EVENT_MAILBOX_UNSUBSCRIBE, NULL);
}

static const struct notify_vfuncs push_notify_vfuncs = {
	.mail_transaction_begin = push_notify_transaction_begin,
	.mail_save = push_notify_mail_save,
	.mail_copy = push_notify_mail_copy,
	.mail_expunge = push_notify_mail_expunge,
	.mail_update_flags = push_notify_mail_update_flags,
	.mail_update_keywords = push_notify_mail_update_keywords,
	.mail_transaction_commit = push_notify_transaction_commit,
	.mail_transaction_rollback = push_notify_transaction_rollback,
	.mailbox_create = push_notify_mailbox_create,
	.mailbox_delete_commit = push_notify_mailbox_delete_commit,
	.mailbox_rename = push_notify_mailbox_rename,
	.mailbox_set_subscribed = push_notify_mailbox_set_subscribed,
};

void push_notify_txn_register(void)
{
	push_notify_ctx = notify_register(&push_notify_vfuncs);
}

void push_notify_txn_unregister(void)
{
	push_notify_compat_notify_unregister(push_notify_ctx);
}
