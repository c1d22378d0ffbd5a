#ifndef PUSHCORE_SPOOL_H
#define PUSHCORE_SPOOL_H

#include "pushcore-api.h"

/* The durable spool: one crash-safe file per notification that could not be
   sent yet, holding everything needed to send it again. docs/spool.md
   describes the layout, the format and the permissions.

     SPOOL/tmp/        files being written (then renamed)
     SPOOL/new/        waiting to be sent by the dispatcher
     SPOOL/failed/     permanent failures and expired entries, for inspection
     SPOOL/quarantine/ files that could not be parsed */

#include <stdbool.h>
#include <stddef.h>

struct pushcore_pool;

#define PUSHCORE_SPOOL_NEW "new"
#define PUSHCORE_SPOOL_FAILED "failed"
#define PUSHCORE_SPOOL_QUARANTINE "quarantine"
/* a spool file is read whole: larger ones are corrupt */
#define PUSHCORE_SPOOL_MAX_SIZE (64 * 1024 * 1024)

/* A notification record: a spool file, a relay submission, a journal row.

   Trusted (the whole record, format 2 of docs/spool.md): id, created_usecs,
   attempts, next_attempt, last_error, user, driver, method, body.

   driver is the name of the setting (Dovecot 2.3: "push_notification_driver",
   "push_notification_driver2", ...) or of the push_notify block (Dovecot
   2.4: the block's name, e.g. "webhook" for push_notify webhook { }) that
   made the notification: exactly pushcore_driver_instance.setting_name,
   nothing appended: 1 to 128 printable ASCII characters, no space. The relay and the
   dispatcher look the instance up by it in the user's configuration and
   let its rebuild hook make the request (pushcore-driver.h).

   url, tls_*, timeout_msecs, headers, secret_file, event and mailbox are NOT part of a
   record: the delivery process sets them only in memory, for its own log
   lines and for pushadm's observer. They are never written to a spool
   file, a file of format 1 that has them is read without them, and
   nothing that reads a record uses them. */
struct pushcore_spool_entry {
	char id[37];			/* lowercase canonical UUID */
	long long created_usecs;	/* when the notification was made */
	unsigned int attempts;		/* sends tried so far */
	long long next_attempt;		/* Unix time it is due */
	const char *user, *driver, *last_error;
	const char *method;		/* "POST", "PUT" or "XADD" */
	/* in memory only (see above) */
	const char *url, *tls_ca_file;
	bool tls_no_verify;
	unsigned int timeout_msecs;
	unsigned int header_count;
	const char **headers;		/* "Name: value" */
	const char *secret_file;
	/* the mail event and mailbox it is about, for its outcome
	   (pushcore-outcome.h); NULL for a batch of several */
	const char *event, *mailbox;
	/* the record again */
	const char *body;
	size_t body_len;
	/* set when read from a file */
	const char *path;
};

/* The longest user name and driver name a record may carry. */
#define PUSHCORE_SPOOL_USER_MAX 255
#define PUSHCORE_SPOOL_DRIVER_MAX 128

/* Whether id is a canonical lowercase UUID (8-4-4-4-12 hex digits). */
PUSHCORE_API bool pushcore_spool_id_valid(const char *id);
/* Whether name is a canonical spool file name, "<16+ digits>-<id>.spool". */
PUSHCORE_API bool pushcore_spool_name_valid(const char *name);
/* Whether a user name may be in a record: printable, no space, not
   starting with '-', no '*' or '?' (it is looked up in the userdb). */
PUSHCORE_API bool pushcore_spool_user_name_valid(const char *user);
/* Whether the record's fields are usable: valid id, user (printable, no
   space, not starting with '-', no '*' or '?': it is looked up in the
   userdb) and driver names, a known method, times >= 0. */
PUSHCORE_API
bool pushcore_spool_entry_valid(const struct pushcore_spool_entry *e,
				const char **error_r);

/* Writes entry (its record fields only) into SPOOL/area crash-safely (tmp file, fsync, rename, fsync
   of the directory), readable by its owner only. Returns -1 with *error_r
   naming the path and the cause. */
PUSHCORE_API
int pushcore_spool_write(const char *spool_dir, const char *area,
			 const struct pushcore_spool_entry *entry,
			 const char **error_r);

struct pushcore_buf;
/* The entry in the spool file format (also the relay's record format,
   lib/pushcore-relay-proto.h). */
PUSHCORE_API
void pushcore_spool_serialize(struct pushcore_buf *buf,
			      const struct pushcore_spool_entry *entry);

/* The file name an entry has: created time first, so names sort in the
   order notifications were made. */
PUSHCORE_API
const char *pushcore_spool_file_name(struct pushcore_pool *pool,
				     const struct pushcore_spool_entry *entry);

/* Parses a spool file's contents (untrusted: anyone who can write to the
   spool can put a file there). Format 2; format 1 files (written before
   the relay) are read with their url, headers, secret_file, tls_* and
   timeout_msecs lines dropped and " (drivername)" cut from driver, so the
   request is rebuilt from the configuration like any other. */
PUSHCORE_API
int pushcore_spool_parse(struct pushcore_pool *pool, const char *data,
			 size_t size, struct pushcore_spool_entry **entry_r,
			 const char **error_r);
PUSHCORE_API
int pushcore_spool_read(struct pushcore_pool *pool, const char *path,
			struct pushcore_spool_entry **entry_r,
			const char **error_r);

/* The same through directory fds (tmp_fd: SPOOL/tmp, dest_fd: the area):
   for root, which must not follow a name through a directory someone
   else could replace. The file is created O_EXCL|O_NOFOLLOW. */
PUSHCORE_API
int pushcore_spool_writeat(int tmp_fd, int dest_fd,
			   const struct pushcore_spool_entry *entry,
			   const char **error_r);

/* Creates SPOOL and its areas if missing (mode 1733 for the areas delivery
   processes write to, 0700 for the others). An area is never followed
   through a symlink, and its mode is set (fchmod) only when it is a
   directory of ours. */
PUSHCORE_API int pushcore_spool_init_dir(const char *spool_dir, const char **error_r);

#endif
