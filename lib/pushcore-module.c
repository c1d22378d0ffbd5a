/* Driver modules: loading a driver's shared object the first time a
   configuration names it (pushcore-driver.h, docs/driver-api.md). */
#include "pushcore-driver-private.h"
#include "pushcore-log.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PUSHCORE_MODULE_DIR
#  error PUSHCORE_MODULE_DIR must be defined (configure sets it)
#endif

#define MAX_MODULES 16
#define MODULE_NAME_MAX 32

/* the project's own modules, and the packages that ship them */
static const char *const module_packages[][2] = {
	{ "lua", "dovecot-push-notify-lua" },
	{ "redis", "dovecot-push-notify-redis" },
};

static const struct pushcore_driver_module *modules[MAX_MODULES];
static unsigned int module_count = 0;
static char load_error[3072];

const char *pushcore_driver_module_dir(void)
{
	return PUSHCORE_MODULE_DIR;
}

static bool module_name_valid(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	}
	return i > 0 && i <= MODULE_NAME_MAX;
}

/* root (pushadm, its relay) loads code only from files that only root
   can change: the directory a userdb field or a configuration names
   could otherwise hand it someone else's code */
static bool module_file_trusted(const struct stat *st)
{
	return geteuid() != 0 || (st->st_uid == 0 && (st->st_mode & 022) == 0);
}

static const char *module_package(const char *name)
{
	for (size_t i = 0; i < sizeof(module_packages) / sizeof(module_packages[0]); i++) {
		if (strcmp(name, module_packages[i][0]) == 0)
			return module_packages[i][1];
	}
	return NULL;
}

static int module_register(const char *path, void *handle)
{
	const struct pushcore_driver_module *mod;
	unsigned int i;

	mod = dlsym(handle, PUSHCORE_DRIVER_MODULE_SYMBOL);
	if (mod == NULL) {
		snprintf(load_error, sizeof(load_error), "%s is not a push "
			 "notification driver module (no %s)", path,
			 PUSHCORE_DRIVER_MODULE_SYMBOL);
		return -1;
	}
	if (mod->abi_version != PUSHCORE_DRIVER_ABI_VERSION) {
		snprintf(load_error, sizeof(load_error), "%s was built for driver "
			 "ABI %u, this libpushcore has ABI %u: install the module "
			 "built for this version", path, mod->abi_version,
			 PUSHCORE_DRIVER_ABI_VERSION);
		return -1;
	}
	if (module_count == MAX_MODULES) {
		snprintf(load_error, sizeof(load_error), "%s: too many driver "
			 "modules loaded (%u)", path, MAX_MODULES);
		return -1;
	}
	for (i = 0; mod->drivers != NULL && mod->drivers[i] != NULL; i++)
		pushcore_driver_register(mod->drivers[i]);
	modules[module_count++] = mod;
	return 0;
}

int pushcore_driver_load(const char *spec_name, const char *dir,
			 const struct pushcore_driver **driver_r,
			 const char **error_r)
{
	const char *package;
	char path[1024], name[MODULE_NAME_MAX + 1];
	struct stat st, dir_st;
	void *handle;
	size_t i;

	if ((*driver_r = pushcore_driver_lookup(spec_name)) != NULL)
		return 0;
	/* driver names are case-insensitive (as the reference's), module
	   file names are lowercase */
	for (i = 0; spec_name[i] != '\0' && i < MODULE_NAME_MAX; i++)
		name[i] = (spec_name[i] >= 'A' && spec_name[i] <= 'Z') ?
			(char)(spec_name[i] - 'A' + 'a') : spec_name[i];
	name[i] = '\0';
	if (spec_name[i] != '\0' || !module_name_valid(name)) {
		snprintf(load_error, sizeof(load_error),
			 "Unknown push notification driver: %.*s", MODULE_NAME_MAX * 2,
			 spec_name);
		*error_r = load_error;
		return -1;
	}
	if (dir == NULL || dir[0] == '\0')
		dir = PUSHCORE_MODULE_DIR;
	if ((size_t)snprintf(path, sizeof(path), "%s/push_driver_%s.so", dir,
			     name) >= sizeof(path)) {
		snprintf(load_error, sizeof(load_error), "the %s driver: module "
			 "directory name too long", name);
		*error_r = load_error;
		return -1;
	}
	package = module_package(name);
	if (stat(path, &st) < 0) {
		if (errno == ENOENT && package != NULL) {
			snprintf(load_error, sizeof(load_error), "the %s driver is "
				 "not installed (no %s): install the package %s",
				 name, path, package);
		} else if (errno == ENOENT) {
			/* the words of the reference plugin */
			snprintf(load_error, sizeof(load_error), "Unknown push "
				 "notification driver: %s", name);
		} else {
			snprintf(load_error, sizeof(load_error), "the %s driver's "
				 "module %s: %s", name, path, strerror(errno));
		}
		*error_r = load_error;
		return -1;
	}
	if (!module_file_trusted(&st) ||
	    (stat(dir, &dir_st) == 0 && !module_file_trusted(&dir_st))) {
		snprintf(load_error, sizeof(load_error), "the %s driver's module "
			 "%s is not loaded: it or its directory is not root's or is "
			 "writable by others, and this process runs as root", name, path);
		*error_r = load_error;
		return -1;
	}
	/* RTLD_GLOBAL, as Dovecot loads its plugins: Lua's C modules
	   (lua-socket's socket.core) take the Lua API from the process.
	   Debian's liblua5.3 and liblua5.4 are symbol-versioned, so Lua 5.3
	   here and Dovecot's mail_lua 5.4 coexist. */
	handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (handle == NULL) {
		snprintf(load_error, sizeof(load_error), "can't load the %s "
			 "driver's module: %s%s%s", name, dlerror(),
			 package == NULL ? "" : "; reinstall the package ",
			 package == NULL ? "" : package);
		*error_r = load_error;
		return -1;
	}
	if (module_register(path, handle) < 0) {
		(void)dlclose(handle);
		*error_r = load_error;
		return -1;
	}
	if ((*driver_r = pushcore_driver_lookup(name)) == NULL) {
		/* it stays loaded: the drivers it registered are in use */
		snprintf(load_error, sizeof(load_error), "%s has no driver "
			 "named %s", path, name);
		*error_r = load_error;
		return -1;
	}
	pushcore_log(PUSHCORE_LOG_DEBUG, NULL, "loaded the %s driver from %s",
		     name, path);
	return 0;
}

void pushcore_drivers_deinit(void)
{
	unsigned int i;

	for (i = 0; i < module_count; i++) {
		if (modules[i]->deinit != NULL)
			modules[i]->deinit();
	}
}
