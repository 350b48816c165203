/*
 * gss_status.h -- a GSSAPI status as text, for logs and refusals
 * (negotiate.c in rdmsd-ntlm, seal.c in net).
 */
#ifndef RDMS_AUTH_GSS_STATUS_H
#define RDMS_AUTH_GSS_STATUS_H

#include <stddef.h>

#include <gssapi/gssapi.h>

/* The text of MAJOR and MINOR (MECH's; GSS_C_NO_OID: any) into BUF (SIZE bytes). */
void gss_status_text(OM_uint32 major, OM_uint32 minor, const gss_OID mech, char *buf,
                     size_t size);

#endif
