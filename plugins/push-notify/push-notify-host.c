/* What libpushcore asks of Dovecot: the user's METADATA and a mailbox's
   unseen count (its log: push-notify-events.c). */
#include "lib.h"
#include "mail-storage.h"
#include "mail-namespace.h"
#include "mailbox-attribute.h"
#include "pushcore.h"
#include "push-notify-plugin.h"

#define PRIVATE_PREFIX "/private/"

/* Private server metadata lives in the user's INBOX (see Dovecot's
   imap/cmd-getmetadata.c), under the pvt/server prefix. */
static int push_notify_metadata_get(void *host_ctx, const char *key,
				    const char **value_r, const char **error_r)
{
	struct push_notify_user *puser = host_ctx;
	struct mail_user *user = puser->user;
	struct mail_namespace *ns;
	struct mailbox *inbox;
	struct mail_attribute_value attr;
	const char *internal_key;
	int ret;

	if (strncmp(key, PRIVATE_PREFIX, strlen(PRIVATE_PREFIX)) != 0) {
		*error_r = "only /private/ server metadata is supported";
		return -1;
	}
	internal_key = t_strconcat(MAILBOX_ATTRIBUTE_PREFIX_DOVECOT_PVT_SERVER,
				   key + strlen(PRIVATE_PREFIX), NULL);
	ns = mail_namespace_find_inbox(user->namespaces);
	inbox = mailbox_alloc(ns->list, "INBOX", MAILBOX_FLAG_READONLY);
	if (mailbox_open(inbox) < 0) {
		*error_r = t_strdup_printf("opening INBOX failed: %s",
					   mailbox_get_last_internal_error(inbox, NULL));
		mailbox_free(&inbox);
		return -1;
	}
	ret = mailbox_attribute_get(inbox, MAIL_ATTRIBUTE_TYPE_PRIVATE,
				    internal_key, &attr);
	if (ret < 0) {
		*error_r = t_strdup(mailbox_get_last_internal_error(inbox, NULL));
	} else if (ret > 0) {
		*value_r = t_strdup(attr.value);
	}
	mailbox_free(&inbox);
	return ret;
}

/* A fresh instance of the mailbox, so the count includes the mail just
   committed (the open one is still inside its transaction). Its index is
   refreshed, but the mailbox is not synced: the committed transaction is
   in the index already, and a sync would rescan a maildir's files on every
   delivery (most of what OX notifications cost a delivery). */
static int push_notify_mailbox_unseen(void *host_ctx, const char *mailbox,
				      uint32_t *unseen_r, const char **error_r)
{
	struct push_notify_user *puser = host_ctx;
	struct mail_user *user = puser->user;
	struct mail_namespace *ns;
	struct mailbox *box;
	struct mailbox_status status;
	int ret = 0;

	ns = mail_namespace_find(user->namespaces, mailbox);
	box = mailbox_alloc(ns->list, mailbox, MAILBOX_FLAG_READONLY);
	if (mailbox_get_status(box, STATUS_UNSEEN, &status) < 0) {
		*error_r = t_strdup_printf("reading the status of %s failed: %s", mailbox,
					   mailbox_get_last_internal_error(box, NULL));
		ret = -1;
	} else {
		*unseen_r = status.unseen;
	}
	mailbox_free(&box);
	return ret;
}

static const char *push_notify_plugin_getenv(void *host_ctx, const char *name)
{
	struct push_notify_user *puser = host_ctx;

	return push_notify_settings_getenv(puser->user, name);
}

/* What a script's user object shows of the mail user. */
static const char *push_notify_user_field(void *host_ctx, const char *name)
{
	struct push_notify_user *puser = host_ctx;
	struct mail_user *user = puser->user;
	const char *home;

	if (strcmp(name, "home") == 0)
		return mail_user_get_home(user, &home) > 0 ? home : NULL;
	if (strcmp(name, "uid") == 0)
		return dec2str(user->uid);
	if (strcmp(name, "gid") == 0)
		return dec2str(user->gid);
	if (strcmp(name, "service") == 0)
		return user->service;
	if (strcmp(name, "session_id") == 0)
		return user->session_id;
	return NULL;
}

const struct pushcore_host push_notify_host = {
	.metadata_get = push_notify_metadata_get,
	.mailbox_unseen = push_notify_mailbox_unseen,
	.plugin_getenv = push_notify_plugin_getenv,
	.user_field = push_notify_user_field,
};
