/* TEMPORARY, until branch trust has its spool takeover: a weak stand-in
   for interface (D) of the session plan that takes nothing (files in the
   spool wait). The real definition (pushadm-spool.c) overrides it at link
   time; this file goes when it is merged. */
#include "pushadm.h"
#include "pushadm-spool.h"
#include "pushcore.h"

#define WEAK __attribute__((weak))

WEAK int pushadm_spool_takeover(struct pushadm_ctx *ctx __attribute__((unused)),
				const char *spool_dir __attribute__((unused)),
				struct pushadm_trust *trust __attribute__((unused)),
				int (*take)(const struct pushcore_spool_entry *e,
					    void *context) __attribute__((unused)),
				void *context __attribute__((unused)))
{
	return 0;
}
