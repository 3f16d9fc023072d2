/*
 * Loading libsecret on demand: see secret-dl.h. Only built with libsecret.
 */
#include "config.h"

#ifdef HAVE_LIBSECRET

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "secret-dl.h"

#define LIBSECRET_SONAME	"libsecret-1.so.0"
#define SECRET_WHY_LEN		256

/* Where dlsym() finds each pointer of struct sshx_secret_fns. */
static const struct {
	const char *name;
	size_t offset;
} secret_lib_symbols[] = {
#define SECRET_LIB_SYMBOL(name)	{ #name, offsetof(struct sshx_secret_fns, name) },
	SECRET_LIB_FUNCTIONS(SECRET_LIB_SYMBOL)
#undef SECRET_LIB_SYMBOL
};

/* Filled once by lib_load(); read only after pthread_once() has returned. */
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
struct sshx_secret_fns sshx_secret_lib;	/* complete when lib_status is 0 */
static int lib_status = SSHX_ERR_NO_SECRET_SERVICE;
static char lib_why[SECRET_WHY_LEN];	/* why lib_status is not 0 */

/*
 * Loads libsecret and resolves every function of struct sshx_secret_fns in it.
 * The library stays loaded even when a function is missing: GLib and
 * GObject cannot be unloaded, and nothing tries to load it again.
 */
static int
lib_open(struct sshx_secret_fns *table, char *why, size_t whylen)
{
	const char *name, *err;
	void *handle, *sym;
	size_t i;
	int r = SSHX_ERR_NO_SECRET_SERVICE;

	/* dlsym() on this handle also searches GIO, GObject and GLib. */
	if ((handle = dlopen(LIBSECRET_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		err = dlerror();
		sshx_why(why, whylen, "%s cannot be loaded: %s", LIBSECRET_SONAME,
		    err != NULL ? err : "no reason given");
		goto out;
	}
	for (i = 0; i < sizeof(secret_lib_symbols) /
	    sizeof(secret_lib_symbols[0]); i++) {
		name = secret_lib_symbols[i].name;
		(void)dlerror();
		if ((sym = dlsym(handle, name)) == NULL) {
			if ((err = dlerror()) != NULL)
				sshx_why(why, whylen, "%s cannot be used: %s",
				    LIBSECRET_SONAME, err);
			else
				sshx_why(why, whylen, "%s cannot be used: %s "
				    "is NULL", LIBSECRET_SONAME, name);
			goto out;
		}
		/* POSIX gives function and object pointers the same size. */
		memcpy((char *)table + secret_lib_symbols[i].offset, &sym,
		    sizeof(sym));
	}
	r = 0;
 out:
	if (r != 0)
		memset(table, 0, sizeof(*table));
	return r;
}

/* Fills lib on the first call in the process; run by pthread_once(). */
static void
lib_load(void)
{
	lib_status = lib_open(&sshx_secret_lib, lib_why, sizeof(lib_why));
}

int
sshx_secret_lib_ready(char *why, size_t whylen)
{
	pthread_once(&lib_once, lib_load);
	if (lib_status != 0) {
		sshx_why(why, whylen, "%s", lib_why);
		return lib_status;
	}
	return 0;
}

#endif /* HAVE_LIBSECRET */
