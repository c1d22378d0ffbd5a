#ifndef PUSHCORE_H
#define PUSHCORE_H

/* libpushcore: mail events, drivers and their transport, without Dovecot.
   Hosts include this one header. */

#include "pushcore-mem.h"
#include "pushcore-log.h"
#include "pushcore-outcome.h"
#include "pushcore-redact.h"
#include "pushcore-text.h"
#include "pushcore-event.h"
#include "pushcore-spec.h"
#include "pushcore-json.h"
#include "pushcore-http.h"
#include "pushcore-driver.h"
#include "pushcore-file.h"
#include "pushcore-filter.h"
#include "pushcore-payload.h"
#include "pushcore-settings.h"
#include "pushcore-sign.h"
#include "pushcore-spool.h"

#endif
