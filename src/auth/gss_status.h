/*
 * gss_status.h -- a GSSAPI status as text, for logs and refusals
 * (negotiate.c in rdmsd-ntlm, seal.c in net).
 */
#ifndef RDMS_AUTH_GSS_STATUS_H
#define RDMS_AUTH_GSS_STATUS_H

#include <stddef.h>

#include <gssapi/gssapi.h>

/* The two calls it needs: linked (rdmsd-ntlm) or loaded (net: gss_lazy.h). */
typedef struct gss_status_fns {
	__typeof__(gss_display_status) *display_status;
	__typeof__(gss_release_buffer) *release_buffer;
} gss_status_fns;

/* The text of MAJOR and MINOR (MECH's; GSS_C_NO_OID: any) into BUF (SIZE bytes). */
void gss_status_text(const gss_status_fns *f, OM_uint32 major, OM_uint32 minor,
                     const gss_OID mech, char *buf, size_t size);

#endif
