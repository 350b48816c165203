/*
 * negotiate.c -- the GSSAPI acceptor (negotiate.h).
 */
#include "negotiate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>

#include "../common/strutil.h"
#include "gss_status.h"

/* 1.3.6.1.5.5.2 and Microsoft's NTLMSSP, 1.3.6.1.4.1.311.2.2.10 */
static gss_OID_desc spnego_oid = { 6, (void *)"\x2b\x06\x01\x05\x05\x02" };
static gss_OID_desc ntlm_oid = { 10, (void *)"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a" };

static const gss_status_fns linked = { gss_display_status, gss_release_buffer };

struct nego_acceptor {
	gss_cred_id_t cred;
	gss_ctx_id_t  ctx;
};

nego_acceptor *nego_acceptor_new(const char *keyfile, rdms_error *err)
{
	gss_OID_desc mechs_v[2] = { spnego_oid, ntlm_oid };
	gss_OID_set_desc mechs = { 2, mechs_v };
	gss_key_value_element_desc kv = { "ntlmssp_keyfile", keyfile };
	gss_key_value_set_desc store = { 1, &kv };
	nego_acceptor *a = calloc(1, sizeof *a);
	OM_uint32 major, minor = 0, m;
	char why[256];

	if (a == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	a->ctx = GSS_C_NO_CONTEXT;
	gss_buffer_desc at = { 1, (void *)"@" };
	gss_name_t name = GSS_C_NO_NAME;

	/*
	 * The host-based name "@": a server credential with no SPN (a named one
	 * would put its SPN into the CHALLENGE, which NTLM clients then check
	 * against their target and refuse; no name at all gives gss-ntlmssp a
	 * credential it will not accept with).
	 */
	major = gss_import_name(&minor, &at, GSS_C_NT_HOSTBASED_SERVICE, &name);
	if (!GSS_ERROR(major))
		major = gss_acquire_cred_from(&minor, name, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT,
		                              &store, &a->cred, NULL, NULL);
	gss_release_name(&m, &name);
	if (GSS_ERROR(major)) {
		gss_status_text(&linked, major, minor, GSS_C_NO_OID, why, sizeof why);
		rdms_fail(err, WBEM_E_FAILED,
		          "no NTLM acceptor credential (is gss-ntlmssp installed?): %s", why);
		free(a);
		return NULL;
	}
	/* SPNEGO offers NTLM only: no Kerberos keytab is looked for */
	mechs.count = 1;
	mechs.elements = &ntlm_oid;
	gss_set_neg_mechs(&minor, a->cred, &mechs);
	return a;
}

static void drop_ctx(nego_acceptor *a)
{
	OM_uint32 minor;

	if (a->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &a->ctx, GSS_C_NO_BUFFER);
	a->ctx = GSS_C_NO_CONTEXT;
}

void nego_acceptor_free(nego_acceptor *a)
{
	OM_uint32 minor;

	if (a == NULL)
		return;
	drop_ctx(a);
	gss_release_cred(&minor, &a->cred);
	free(a);
}

/*
 * The completed context of A into OUT->context, for net's seal.h (the
 * context is gone from A then).  MIT's SPNEGO exports the NTLM context
 * beneath it, with the RC4 state and sequence numbers as the mechListMIC
 * left them, so both ends stay in step.
 */
static bool export_ctx(nego_acceptor *a, nego_step_out *out, rdms_error *err)
{
	gss_buffer_desc ex = GSS_C_EMPTY_BUFFER;
	OM_uint32 major, minor = 0, m;
	char why[256];

	major = gss_export_sec_context(&minor, &a->ctx, &ex);
	if (GSS_ERROR(major) || ex.length == 0 || ex.length > sizeof out->context) {
		if (GSS_ERROR(major))
			gss_status_text(&linked, major, minor, GSS_C_NO_OID, why, sizeof why);
		else
			snprintf(why, sizeof why, "%zu bytes", ex.length);
		rdms_fail(err, WBEM_E_FAILED, "the security context cannot be exported: %s", why);
		gss_release_buffer(&m, &ex);
		return false;
	}
	memcpy(out->context, ex.value, ex.length);
	out->context_len = ex.length;
	explicit_bzero(ex.value, ex.length);
	gss_release_buffer(&m, &ex);
	return true;
}

enum nego_state nego_step(nego_acceptor *a, const void *in, size_t len, nego_step_out *out,
                          rdms_error *err)
{
	gss_buffer_desc itok = { len, (void *)in }, otok = GSS_C_EMPTY_BUFFER;
	gss_name_t src = GSS_C_NO_NAME;
	gss_OID mech = GSS_C_NO_OID;
	OM_uint32 major, minor = 0, m, flags = 0;
	char why[256];
	enum nego_state st;

	out->len = 0;
	out->name[0] = '\0';
	out->context_len = 0;
	major = gss_accept_sec_context(&minor, &a->ctx, a->cred, &itok, GSS_C_NO_CHANNEL_BINDINGS,
	                               &src, &mech, &otok, &flags, NULL, NULL);
	if (otok.length > sizeof out->token) {
		rdms_fail(err, WBEM_E_FAILED, "reply token of %zu bytes is over the limit",
		          otok.length);
		st = NEGO_FAILED;
	} else if (GSS_ERROR(major)) {
		gss_status_text(&linked, major, minor, mech, why, sizeof why);
		rdms_fail(err, WBEM_E_ACCESS_DENIED, "%s", why);
		st = NEGO_FAILED;
	} else {
		if (otok.length > 0)
			memcpy(out->token, otok.value, otok.length);
		out->len = otok.length;
		st = (major & GSS_S_CONTINUE_NEEDED) != 0 ? NEGO_CONTINUE : NEGO_COMPLETE;
	}
	if (st == NEGO_COMPLETE) {
		gss_buffer_desc nm = GSS_C_EMPTY_BUFFER;

		/* (gss-ntlmssp counts the terminating NUL in the length) */
		if (!GSS_ERROR(gss_display_name(&m, src, &nm, NULL)) && nm.length > 0 &&
		    ((const char *)nm.value)[nm.length - 1] == '\0')
			nm.length--;
		if (nm.value == NULL || nm.length == 0 ||
		    nm.length >= sizeof out->name || memchr(nm.value, '\0', nm.length) != NULL) {
			rdms_fail(err, WBEM_E_ACCESS_DENIED, "the client's name cannot be read");
			st = NEGO_FAILED;
		} else {
			memcpy(out->name, nm.value, nm.length);
			out->name[nm.length] = '\0';
		}
		gss_release_buffer(&m, &nm);
	}
	if (st == NEGO_COMPLETE && (flags & GSS_C_CONF_FLAG) != 0 && !export_ctx(a, out, err))
		st = NEGO_FAILED;
	gss_release_buffer(&m, &otok);
	gss_release_name(&m, &src);
	if (st != NEGO_CONTINUE)
		drop_ctx(a);
	if (st == NEGO_FAILED)
		out->len = 0;
	return st;
}

bool nego_local_user(const char *name, char *user, size_t size)
{
	const char *slash = strrchr(name, '\\'), *at;
	size_t n;

	if (slash != NULL)
		name = slash + 1;
	at = strchr(name, '@');
	n = at != NULL ? (size_t)(at - name) : strlen(name);
	if (n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		user[i] = (char)tolower((unsigned char)name[i]);
	user[n] = '\0';
	return true;
}
