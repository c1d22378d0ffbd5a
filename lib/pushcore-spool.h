#ifndef PUSHCORE_SPOOL_H
#define PUSHCORE_SPOOL_H

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

struct pushcore_spool_entry {
	char id[37];
	long long created_usecs;	/* when the notification was made */
	unsigned int attempts;		/* sends tried so far */
	long long next_attempt;		/* Unix time it is due */
	const char *user, *driver, *last_error;
	/* the request */
	const char *method, *url, *tls_ca_file;
	bool tls_no_verify;
	unsigned int timeout_msecs;
	unsigned int header_count;
	const char **headers;		/* "Name: value" */
	const char *body;
	size_t body_len;
	/* sign again when resending (http driver's secret_file), or NULL */
	const char *secret_file;
	/* set when read from a file */
	const char *path;
};

/* Writes entry into SPOOL/area crash-safely (tmp file, fsync, rename, fsync
   of the directory), readable by its owner only. Returns -1 with *error_r
   naming the path and the cause. */
int pushcore_spool_write(const char *spool_dir, const char *area,
			 const struct pushcore_spool_entry *entry,
			 const char **error_r);

struct pushcore_buf;
/* The entry in the spool file format (also the relay's record format,
   lib/pushcore-relay-proto.h). */
void pushcore_spool_serialize(struct pushcore_buf *buf,
			      const struct pushcore_spool_entry *entry);

/* The file name an entry has: created time first, so names sort in the
   order notifications were made. */
const char *pushcore_spool_file_name(struct pushcore_pool *pool,
				     const struct pushcore_spool_entry *entry);

/* Parses a spool file's contents (untrusted: anyone who can write to the
   spool can put a file there). */
int pushcore_spool_parse(struct pushcore_pool *pool, const char *data,
			 size_t size, struct pushcore_spool_entry **entry_r,
			 const char **error_r);
int pushcore_spool_read(struct pushcore_pool *pool, const char *path,
			struct pushcore_spool_entry **entry_r,
			const char **error_r);

/* Creates SPOOL and its areas if missing (mode 1733 for the areas delivery
   processes write to, 0700 for the others). */
int pushcore_spool_init_dir(const char *spool_dir, const char **error_r);

#endif
