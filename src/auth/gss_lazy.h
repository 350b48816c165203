/*
 * gss_lazy.h -- the few GSSAPI calls the network process makes (seal.h),
 * from MIT's libgssapi_krb5 loaded on first use.
 *
 * Linked, the library and the Kerberos libraries under it add about
 * 700 kB to every network process's memory from its start (measured:
 * rdmsd-net idle 9.8 -> 10.5 MB), though most hosts never see a Negotiate
 * login; loaded when the first encrypted connection is set up, they cost
 * only where Windows clients use them.  (rdmsd-ntlm, which does the
 * handshakes, links the library: it exists only for them.)
 */
#ifndef RDMS_AUTH_GSS_LAZY_H
#define RDMS_AUTH_GSS_LAZY_H

#include <gssapi/gssapi.h>

#include "../cim/wbem.h"
#include "gss_status.h"

typedef struct gss_lazy {
	__typeof__(gss_import_sec_context) *import_sec_context;
	__typeof__(gss_delete_sec_context) *delete_sec_context;
	__typeof__(gss_wrap)               *wrap;
	__typeof__(gss_unwrap)             *unwrap;
	gss_status_fns                      status;   /* display_status, release_buffer */
} gss_lazy;

/* The calls, loaded once (thread-safe); NULL with ERR when the library cannot be. */
const gss_lazy *gss_lazy_load(rdms_error *err);

#endif
