/*
 * gss_lazy.c -- GSSAPI loaded on first use (gss_lazy.h).
 */
#include "gss_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define GSSAPI_LIBRARY "libgssapi_krb5.so.2"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static gss_lazy api;
static const gss_lazy *loaded;
static char why[256];

/* dlsym's void * to a function pointer: POSIX allows it; C does not say so. */
#define FIND(field, name) \
	do { \
		void *sym = dlsym(lib, name); \
		if (sym == NULL) { \
			snprintf(why, sizeof why, "%s has no %s", GSSAPI_LIBRARY, name); \
			return; \
		} \
		memcpy(&api.field, &sym, sizeof sym); \
	} while (0)

static void load(void)
{
	void *lib = dlopen(GSSAPI_LIBRARY, RTLD_NOW | RTLD_LOCAL);

	if (lib == NULL) {
		snprintf(why, sizeof why, "cannot load %s: %s", GSSAPI_LIBRARY, dlerror());
		return;
	}
	FIND(import_sec_context, "gss_import_sec_context");
	FIND(delete_sec_context, "gss_delete_sec_context");
	FIND(wrap, "gss_wrap");
	FIND(unwrap, "gss_unwrap");
	FIND(status.display_status, "gss_display_status");
	FIND(status.release_buffer, "gss_release_buffer");
	loaded = &api;   /* the library stays loaded for the process's life */
}

const gss_lazy *gss_lazy_load(rdms_error *err)
{
	pthread_once(&once, load);
	if (loaded == NULL)
		rdms_fail(err, WBEM_E_FAILED, "%s", why);
	return loaded;
}
