/*
 * seal.c -- a connection's security context: import, wrap, unwrap (seal.h).
 *
 * gss-ntlmssp has no gss_wrap_iov; plain gss_wrap gives the NTLM signature
 * then the RC4 ciphertext, the very layout WinRM puts after its length
 * word, and gss_unwrap takes the same (spec/ntlm.md 1.2).  The signature's
 * length is the output's minus the input's, as OMI's server computes it.
 */
#include "seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>

#include "gss_lazy.h"

struct seal_ctx {
	const gss_lazy *gss;
	gss_ctx_id_t    ctx;
};

seal_ctx *seal_import(const void *exported, size_t len, rdms_error *err)
{
	seal_ctx *s = calloc(1, sizeof *s);
	/* gss_import_sec_context does not write through the token, but is not declared const */
	void *copy = malloc(len > 0 ? len : 1);
	gss_buffer_desc tok = { len, copy };
	OM_uint32 major, minor = 0;
	char why[256];

	if (s == NULL || copy == NULL) {
		free(s);
		free(copy);
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	memcpy(copy, exported, len);
	s->ctx = GSS_C_NO_CONTEXT;
	s->gss = gss_lazy_load(err);
	if (s->gss == NULL) {
		explicit_bzero(copy, len);
		free(copy);
		free(s);
		return NULL;
	}
	major = s->gss->import_sec_context(&minor, &tok, &s->ctx);
	explicit_bzero(copy, len);
	free(copy);
	if (GSS_ERROR(major)) {
		gss_status_text(&s->gss->status, major, minor, GSS_C_NO_OID, why, sizeof why);
		rdms_fail(err, WBEM_E_FAILED, "the security context cannot be imported: %s", why);
		free(s);
		return NULL;
	}
	return s;
}

void seal_free(seal_ctx *s)
{
	OM_uint32 minor;

	if (s == NULL)
		return;
	if (s->ctx != GSS_C_NO_CONTEXT)
		s->gss->delete_sec_context(&minor, &s->ctx, GSS_C_NO_BUFFER);
	free(s);
}

/* Appends S's GSSAPI buffer B to OUT and wipes and frees it; false when OUT failed. */
static bool take(const seal_ctx *s, gss_buffer_desc *b, strbuf *out)
{
	OM_uint32 minor;

	strbuf_append(out, b->value, b->length);
	if (b->value != NULL)
		explicit_bzero(b->value, b->length);
	s->gss->status.release_buffer(&minor, b);
	return !out->failed;
}

bool seal_unwrap(seal_ctx *s, const void *in, size_t len, strbuf *out, rdms_error *err)
{
	gss_buffer_desc itok = { len, (void *)in }, plain = GSS_C_EMPTY_BUFFER;
	OM_uint32 major, minor = 0;
	int conf = 0;
	char why[256];

	major = s->gss->unwrap(&minor, s->ctx, &itok, &plain, &conf, NULL);
	if (GSS_ERROR(major)) {
		gss_status_text(&s->gss->status, major, minor, GSS_C_NO_OID, why, sizeof why);
		s->gss->status.release_buffer(&minor, &plain);
		return rdms_fail(err, WBEM_E_ACCESS_DENIED,
		                 "the encrypted message does not verify (tampered, replayed or out "
		                 "of order): %s", why) == 0;
	}
	if (conf == 0) {   /* signed only: it crossed the network in the clear */
		s->gss->status.release_buffer(&minor, &plain);
		return rdms_fail(err, WBEM_E_ACCESS_DENIED, "the message is signed, not encrypted") == 0;
	}
	if (!take(s, &plain, out))
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory") == 0;
	return true;
}

bool seal_wrap(seal_ctx *s, const void *plain, size_t len, strbuf *out, size_t *sig_len,
               rdms_error *err)
{
	gss_buffer_desc in = { len, (void *)plain }, wrapped = GSS_C_EMPTY_BUFFER;
	OM_uint32 major, minor = 0;
	int conf = 0;
	char why[256];

	major = s->gss->wrap(&minor, s->ctx, 1, GSS_C_QOP_DEFAULT, &in, &conf, &wrapped);
	if (GSS_ERROR(major) || conf == 0 || wrapped.length < len) {
		if (GSS_ERROR(major))
			gss_status_text(&s->gss->status, major, minor, GSS_C_NO_OID, why, sizeof why);
		else
			snprintf(why, sizeof why, "the context gives no confidentiality");
		s->gss->status.release_buffer(&minor, &wrapped);
		return rdms_fail(err, WBEM_E_FAILED, "the reply cannot be encrypted: %s", why) == 0;
	}
	*sig_len = wrapped.length - len;
	if (!take(s, &wrapped, out))
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory") == 0;
	return true;
}
