#ifndef PUSHADM_SPOOL_H
#define PUSHADM_SPOOL_H

struct pushadm_ctx;
struct pushadm_trust;
struct pushcore_spool_entry;

/* Takes every waiting file of SPOOL/new safely (no symlink, FIFO, hard
   link or oversized file followed or read; names validated; owner checked
   with pushadm_trust_may_submit; bad ones quarantined with a log line) and
   hands each good entry to take(); when take() returns 0 the entry is
   durable elsewhere and the file is removed. Returns how many were taken,
   -1 if the spool can't be read. */
int pushadm_spool_takeover(struct pushadm_ctx *ctx, const char *spool_dir,
			   struct pushadm_trust *trust,
			   int (*take)(const struct pushcore_spool_entry *e, void *context),
			   void *context);

#endif
