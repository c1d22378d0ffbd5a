/* pushadm driver commands. */
#include "pushadm.h"

#include <stddef.h>

const struct pushadm_cmd *const pushadm_cmds_driver[] = {
	NULL
};
