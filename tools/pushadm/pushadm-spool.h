#ifndef PUSHADM_SPOOL_H
#define PUSHADM_SPOOL_H

/* The spool as root reads it: anyone who delivers mail can put a file in
   new/, so every directory is checked before use and held open (never
   followed through a symlink, never chmod()ed by name), every file is
   opened without following a link or blocking, checked (regular, one
   link, its size, its canonical name, its owner) and read whole only
   then. What fails is moved to quarantine/ inside the spool with a log
   line, and never sent. docs/spool.md, "Trust". */

#include <stdbool.h>
#include <sys/types.h>

struct pushadm_ctx;
struct pushadm_trust;
struct pushcore_pool;
struct pushcore_spool_entry;

/* A file of the spool is read whole: larger ones are refused. */
#define PUSHADM_SPOOL_FILE_MAX (16 * 1024 * 1024)
/* At most this many files of an area are looked at per round. */
#define PUSHADM_SPOOL_SCAN_MAX 20000
/* No entry waits longer than this past the time its file was written
   (its st_ctime), whatever its next field says; the dispatcher's longest
   backoff with jitter and a capped Retry-After stay under it. */
#define PUSHADM_SPOOL_MAX_DELAY_SECS (2 * 3600)

/* Takes every waiting file of SPOOL/new safely (no symlink, FIFO, hard
   link or oversized file followed or read; names validated; owner checked
   with pushadm_trust_may_submit; bad ones quarantined with a log line) and
   hands each good entry to take(); when take() returns 0 the entry is
   durable elsewhere and the file is removed. Returns how many were taken,
   -1 if the spool can't be read.
   The entry given to take() has its times clamped (pushadm_spool_clamp,
   with the file's st_ctime or now, whichever is earlier).
   With a slice (NULL: every file, oldest first), a caller with other work
   (the relay's loop) takes a spool of thousands, or of large files, a
   slice at a time, and goes round: each call looks at the round's files
   after those the previous call looked at, so files that wait (their
   user's queue is full, the userdb does not answer) hold none behind them
   back for good. The directory is read once per round, at its first call:
   files that come meanwhile are looked at in the next round. */
struct pushadm_spool_slice {
	/* at most this many files per call, and no file after budget_msecs */
	unsigned int max_files, budget_msecs;
	/* out: files wait after it */
	bool more;
	/* the round's names not looked at yet (NULL: the next call reads
	   the directory), and their pool: pushadm_spool_slice_free() */
	const char **names;
	struct pushcore_pool *names_pool;
};
void pushadm_spool_slice_free(struct pushadm_spool_slice *slice);
int pushadm_spool_takeover(struct pushadm_ctx *ctx, const char *spool_dir,
			   struct pushadm_trust *trust,
			   struct pushadm_spool_slice *slice,
			   int (*take)(const struct pushcore_spool_entry *e, void *context),
			   void *context);

/* --- for pushadm-spool.c ----------------------------------------------- */

enum pushadm_spool_area {
	PUSHADM_SPOOL_AREA_TMP,
	PUSHADM_SPOOL_AREA_NEW,
	PUSHADM_SPOOL_AREA_FAILED,
	PUSHADM_SPOOL_AREA_QUARANTINE,
	PUSHADM_SPOOL_AREA_COUNT
};

/* The spool's directories, checked and held open. */
struct pushadm_spool_dirs {
	const char *path;
	int fds[PUSHADM_SPOOL_AREA_COUNT];
};

/* Creates what is missing (create) and opens and checks every area:
   a directory, not a symlink, owned by us or by the spool directory's
   owner, tmp/ and new/ sticky if others may write, failed/ and
   quarantine/ writable by their owner only. -1 with *error_r. */
int pushadm_spool_dirs_open(const char *path, bool create,
			    struct pushadm_spool_dirs *dirs, const char **error_r);
void pushadm_spool_dirs_close(struct pushadm_spool_dirs *dirs);
const char *pushadm_spool_area_name(enum pushadm_spool_area area);

/* The canonical names of an area's files (at most PUSHADM_SPOOL_SCAN_MAX,
   sorted, so the oldest come first); with quarantine_bad, anything else
   found there is moved to quarantine/. NULL-terminated, from pool. */
const char **pushadm_spool_names(struct pushadm_spool_dirs *dirs,
				 enum pushadm_spool_area area, bool quarantine_bad,
				 struct pushcore_pool *pool);

/* Reads one file safely. Returns 0 with the entry (e->path set to
   "AREA/NAME"), *uid_r its owner and *ctime_r its st_ctime; -1 with
   *error_r for a file that must not be used (quarantine it). */
int pushadm_spool_read(struct pushadm_spool_dirs *dirs,
		       enum pushadm_spool_area area, const char *name,
		       struct pushcore_pool *pool,
		       struct pushcore_spool_entry **entry_r, uid_t *uid_r,
		       long long *ctime_r, const char **error_r);

/* Moves a file of area to quarantine/ under its own name (a new name if
   that is taken), with a log line naming it and why. */
void pushadm_spool_quarantine(struct pushadm_spool_dirs *dirs,
			      enum pushadm_spool_area area, const char *name,
			      const char *why);

/* Writes e into area (replacing its file there) and, if it came from
   another area, removes it there. Logs and returns -1 on failure. */
int pushadm_spool_move(struct pushadm_spool_dirs *dirs,
		       enum pushadm_spool_area from, enum pushadm_spool_area to,
		       const struct pushcore_spool_entry *e);
/* Removes an entry's file; logs and returns -1 on failure. */
int pushadm_spool_remove(struct pushadm_spool_dirs *dirs,
			 enum pushadm_spool_area area,
			 const struct pushcore_spool_entry *e);

/* The times that count for an entry: created no later than the file's
   st_ctime, next_attempt no later than st_ctime (never tried yet) or
   st_ctime + MAX_DELAY: a file dated in the future can't stay due later
   than that, nor never expire. */
void pushadm_spool_clamp(const struct pushcore_spool_entry *e, long long ctime,
			 long long *created_secs_r, long long *next_r);

#endif
