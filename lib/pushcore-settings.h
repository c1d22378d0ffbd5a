#ifndef PUSHCORE_SETTINGS_H
#define PUSHCORE_SETTINGS_H

#include "pushcore-api.h"

/* Settings into drivers: the one place that decides which configured
   drivers a user gets, for every host (the plugin on Dovecot 2.3 and 2.4,
   pushadm's check, driver list/test, event send and the relay's resolver),
   so that they can't disagree.

   The rules are the reference plugin's:
   - Dovecot 2.3 (plugin {} settings): push_notification_driver,
     push_notification_driver2, _driver3, ... up to the first unset or empty
     number (push_notification_driver1 does not exist: the first one has no
     number). Only if none of them started: push_notification_backend,
     _backend2, ... the same way (the legacy name).
   - Dovecot 2.4: the push_notify blocks in the order of the configuration.
   - The first driver that can't start ends its list: it and the ones after
     it are not started (mail is delivered; the host logs why). */

#include <stdbool.h>

struct pushcore_pool;
struct pushcore_spec;
struct pushcore_user;

#define PUSHCORE_SETTING_DRIVER "push_notification_driver"
#define PUSHCORE_SETTING_BACKEND "push_notification_backend"
/* where driver modules are (2.4: push_notify_module_dir); unset: the
   directory configure chose */
#define PUSHCORE_SETTING_MODULE_DIR "push_notification_module_dir"

/* A 2.3 setting's value; NULL or "" when unset. */
typedef const char *pushcore_setting_get_t(void *context, const char *name);
/* Every driver the rules above try, in order: error is NULL when it
   started, else the cause (naming the setting or block); after an error
   nothing more is tried from that list. spec is NULL if unreadable. */
typedef void pushcore_driver_tried_t(void *context, const char *name,
				     const struct pushcore_spec *spec,
				     const char *error);

/* The name of the n-th (1-based) numbered setting: base, base2, base3...;
   allocated from pool. */
PUSHCORE_API
const char *pushcore_setting_numbered(struct pushcore_pool *pool,
				      const char *base, unsigned int n);

/* Dovecot 2.3: starts the drivers of push_notification_driver* (else
   push_notification_backend*) for user, their modules looked for in
   push_notification_module_dir if it is set. tried may be NULL. Returns how many
   started. */
PUSHCORE_API
unsigned int pushcore_settings_add_drivers(struct pushcore_user *user,
					   pushcore_setting_get_t *get,
					   pushcore_driver_tried_t *tried,
					   void *context);

/* Dovecot 2.4: one block's spec. -1 with *error_r if it can't be read. */
typedef int pushcore_block_spec_t(void *context, const char *name,
				  const struct pushcore_spec **spec_r,
				  const char **error_r);
/* Starts the driver of each named block, in order, with the same stopping
   rule. Returns how many started. */
PUSHCORE_API
unsigned int pushcore_settings_add_blocks(struct pushcore_user *user,
					  const char *const *names,
					  unsigned int count,
					  pushcore_block_spec_t *block_spec,
					  pushcore_driver_tried_t *tried,
					  void *context);

/* One block's settings as a driver spec. driver is the block's driver =
   ("" or NULL: the block's name; a whole 2.3 spec "http:url=... batch" is
   accepted too, the options add to it). keys/values are the other settings
   written in the block, without the push_notify_ prefix: a spec option's
   name (url, events, ...), or the name Dovecot 2.4's own push_notification
   block uses for it (ox_url, ox_cache_ttl, ox_user_from_metadata,
   lua_file, lua_settings, http_client_request_timeout,
   http_client_request_max_attempts), each as
   pushcore_settings_block_option() says. A flag is "yes" or "no"; a
   list entry (header { Name = Value }, lua_settings { Name = Value }) is
   the list's key with the value "Name:Value". Returns NULL with *error_r
   for an unparsable driver = or a malformed value. */
PUSHCORE_API
struct pushcore_spec *
pushcore_settings_block_spec(struct pushcore_pool *pool, const char *name,
			     const char *driver, const char *const *keys,
			     const char *const *values, unsigned int count,
			     const char **error_r);

/* doveconf prints a setting of a named block without the block's name
   when it starts with it (ox_url in "push_notify ox { }" is printed
   "url", lua_settings in a block named lua "settings"): the setting it
   is. */
PUSHCORE_API
const char *pushcore_settings_block_key(struct pushcore_pool *pool,
					const char *block_name, const char *key);
/* Whether key is a setting of a push_notify block (or one Dovecot's own
   push_notification blocks take and push_notify understands). */
PUSHCORE_API bool pushcore_settings_is_block_key(const char *key);
/* One setting of a block in driver-spec terms: *option_r and *value_r
   (ox_url -> url, a flag's yes -> "" , http_client_request_timeout = 2s
   -> timeout_msecs=2000, http_client_request_max_attempts = N ->
   max_retries=N-1); *option_r NULL when it adds nothing (a flag set to
   no, an empty value). -1 with *error_r for a malformed value. */
PUSHCORE_API
int pushcore_settings_block_option(struct pushcore_pool *pool, const char *key,
				   const char *value, const char **option_r,
				   const char **value_r, const char **error_r);
/* The spec option a block key means (ox_url -> url), or key itself. */
PUSHCORE_API const char *pushcore_settings_option_name(const char *key);
/* Whether a spec option is a flag (present or not: batch, tls_no_verify,
   user_from_metadata), written "key = yes" in a 2.4 block. */
PUSHCORE_API bool pushcore_settings_option_is_flag(const char *option);

#endif
