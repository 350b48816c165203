/*
 * test_ntlm.c -- Negotiate/NTLM: the Authorization framing (negotiate_hdr.h),
 * the NT-hash store (ntlm_store.h) and the GSSAPI acceptor (negotiate.h)
 * driven by a real in-process gss-ntlmssp initiator, raw NTLM and SPNEGO.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>

#include "../../src/auth/negotiate.h"
#include "../../src/auth/negotiate_hdr.h"
#include "../../src/auth/ntlm_store.h"
#include "../../src/auth/seal.h"
#include "../../src/common/file_read.h"
#include "../../src/transport/encrypted_body.h"
#include "check.h"

static gss_OID_desc spnego_oid = { 6, (void *)"\x2b\x06\x01\x05\x05\x02" };
static gss_OID_desc ntlm_oid = { 10, (void *)"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a" };

static char dir[64], store[128];

/* ---- the store ----------------------------------------------------------- */

static void test_hash(void)
{
	uint8_t h[16];
	static const uint8_t password[16] = { 0x88, 0x46, 0xf7, 0xea, 0xee, 0x8f, 0xb1, 0x17,
	                                      0xad, 0x06, 0xbd, 0xd8, 0x30, 0xb7, 0x58, 0x6c };

	CHECK(ntlm_nt_hash("password", h));
	CHECK(memcmp(h, password, 16) == 0);
	CHECK(!ntlm_nt_hash("bad\xff utf-8", h));
	CHECK(ntlm_nt_hash("Wörter€😀", h));   /* BMP and a surrogate pair */
}

static void test_store(void)
{
	rdms_error e = { 0 };
	ntlm_entry *v;
	size_t n;
	struct stat st;
	char *text;

	CHECK_EQ(ntlm_store_list(store, &v, &n, &e), 0);   /* missing: empty */
	CHECK_EQ(n, 0);
	free(v);
	CHECK_EQ(ntlm_store_set(store, "alice", "LAB", "Secret-1", 1001, &e), 0);
	CHECK_EQ(ntlm_store_set(store, "bob", "", "pw-bob", 1002, &e), 0);
	CHECK_EQ(stat(store, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	text = file_read_small(store, 65536, &e);
	CHECK(text != NULL && strstr(text, "Secret-1") == NULL);
	CHECK(text != NULL && strstr(text, "LAB\\alice:1001:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:") == text);
	free(text);
	/* set again: replaced, not added */
	CHECK_EQ(ntlm_store_set(store, "ALICE", "LAB", "Secret-2", 1001, &e), 0);
	CHECK_EQ(ntlm_store_list(store, &v, &n, &e), 0);
	CHECK_EQ(n, 2);
	if (n == 2) {
		CHECK_STR(v[0].user, "bob");
		CHECK_STR(v[0].domain, "");
		CHECK_STR(v[1].user, "ALICE");
		CHECK_STR(v[1].domain, "LAB");
	}
	free(v);
	/* bad names and passwords lose nothing */
	CHECK_EQ(ntlm_store_set(store, "a:b", "", "x", 1, &e), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(ntlm_store_set(store, "carol", "LA\\B", "x", 1, &e), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(ntlm_store_set(store, "carol", "", "", 1, &e), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(ntlm_store_set(store, "carol", "", "\xc3", 1, &e), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(ntlm_store_remove(store, "nobody", &e), WBEM_E_NOT_FOUND);
	CHECK_EQ(ntlm_store_remove(store, "bob", &e), 0);
	CHECK_EQ(ntlm_store_list(store, &v, &n, &e), 0);
	CHECK_EQ(n, 1);
	free(v);
	/* leave alice with a known password for the handshakes below */
	CHECK_EQ(ntlm_store_set(store, "alice", "LAB", "Secret-1", 1001, &e), 0);
	CHECK_EQ(ntlm_store_set(store, "dave", "", "pw-dave", 1003, &e), 0);
}

/* ---- the framing ---------------------------------------------------------- */

static enum nego_hdr_status parse(const char *s, nego_hdr *h)
{
	rdms_error e = { 0 };

	return nego_hdr_parse(s, strlen(s), h, &e);
}

static void test_framing(void)
{
	nego_hdr *h = malloc(sizeof *h);
	char hdr[256];
	/* a raw NTLM NEGOTIATE header (16 bytes) and a minimal SPNEGO NegTokenResp */
	static const uint8_t neg[16] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 1, 0, 0, 0,
	                                 0x07, 0x82, 0x08, 0xa2 };
	static const uint8_t resp[5] = { 0xa1, 0x03, 0x30, 0x01, 0x00 };
	static const uint8_t chal[12] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 2, 0, 0, 0 };

	CHECK(nego_hdr_challenge(NEGO_SCHEME_NEGOTIATE, neg, sizeof neg, hdr, sizeof hdr));
	CHECK_EQ(parse(hdr, h), NEGO_HDR_OK);
	CHECK_EQ(h->scheme, NEGO_SCHEME_NEGOTIATE);
	CHECK_EQ(h->len, sizeof neg);
	CHECK(nego_hdr_challenge(NEGO_SCHEME_NTLM, neg, sizeof neg, hdr, sizeof hdr));
	CHECK_EQ(parse(hdr, h), NEGO_HDR_OK);
	CHECK_EQ(h->scheme, NEGO_SCHEME_NTLM);
	CHECK(nego_hdr_challenge(NEGO_SCHEME_NEGOTIATE, resp, sizeof resp, hdr, sizeof hdr));
	CHECK_EQ(parse(hdr, h), NEGO_HDR_OK);
	/* SPNEGO only under Negotiate */
	CHECK(nego_hdr_challenge(NEGO_SCHEME_NTLM, resp, sizeof resp, hdr, sizeof hdr));
	CHECK_EQ(parse(hdr, h), NEGO_HDR_MALFORMED);
	/* truncated: the DER length says 3, 2 follow */
	CHECK(nego_hdr_challenge(NEGO_SCHEME_NEGOTIATE, resp, sizeof resp - 1, hdr, sizeof hdr));
	CHECK_EQ(parse(hdr, h), NEGO_HDR_MALFORMED);
	/* a server's CHALLENGE sent back, a bare scheme, bad base64, another scheme */
	CHECK(nego_hdr_challenge(NEGO_SCHEME_NEGOTIATE, chal, sizeof chal, hdr, sizeof hdr));
	CHECK_EQ(parse(hdr, h), NEGO_HDR_MALFORMED);
	CHECK_EQ(parse("Negotiate ", h), NEGO_HDR_MALFORMED);
	CHECK_EQ(parse("Negotiate TlRMTVNTUAABAAAA=", h), NEGO_HDR_MALFORMED);
	CHECK_EQ(parse("Negotiate TlRM TVNTUAABAAAA", h), NEGO_HDR_MALFORMED);
	CHECK_EQ(parse("Negotiate", h), NEGO_HDR_OTHER_SCHEME);
	CHECK_EQ(parse("Basic YWxpY2U6c2VjcmV0", h), NEGO_HDR_OTHER_SCHEME);
	CHECK_EQ(parse("Kerberos YWxp", h), NEGO_HDR_OTHER_SCHEME);
	/* oversized */
	{
		size_t big = NEGO_HDR_B64_MAX + 20;
		char *s = malloc(big + 1);

		memcpy(s, "Negotiate ", 10);
		memset(s + 10, 'A', big - 10);
		s[big] = '\0';
		CHECK_EQ(parse(s, h), NEGO_HDR_MALFORMED);
		free(s);
	}
	free(h);
}

/* ---- the acceptor against a real initiator ---------------------------------- */

/* An initiator credential for NAME/PASSWORD over MECH (SPNEGO offers NTLM only). */
static gss_cred_id_t client_cred(const char *name, const char *password, bool spnego)
{
	gss_OID_desc mv[1] = { spnego ? spnego_oid : ntlm_oid };
	gss_OID_set_desc mechs = { 1, mv }, neg = { 1, &ntlm_oid };
	gss_buffer_desc nb = { strlen(name), (void *)name }, pb = { strlen(password),
	                                                              (void *)password };
	gss_name_t n = GSS_C_NO_NAME;
	gss_cred_id_t c = GSS_C_NO_CREDENTIAL;
	OM_uint32 minor;

	gss_import_name(&minor, &nb, GSS_C_NT_USER_NAME, &n);
	gss_acquire_cred_with_password(&minor, n, &pb, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE,
	                               &c, NULL, NULL);
	if (spnego)
		gss_set_neg_mechs(&minor, c, &neg);
	gss_release_name(&minor, &n);
	return c;
}

/*
 * A whole handshake of NAME/PASSWORD against A; the acceptor's last state.  SAVED (may be
 * NULL) gets a copy of the client's AUTHENTICATE, REPLAY (may be NULL) is
 * sent instead of it.
 */
static enum nego_state handshake_kept(nego_acceptor *a, const char *name, const char *password,
                                      bool spnego, nego_step_out *out, gss_buffer_desc *saved,
                                      const gss_buffer_desc *replay, gss_ctx_id_t *keep)
{
	gss_cred_id_t cred = client_cred(name, password, spnego);
	gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
	gss_buffer_desc target = { 14, (void *)"HTTP@localhost" }, in = GSS_C_EMPTY_BUFFER;
	gss_name_t tn = GSS_C_NO_NAME;
	enum nego_state st = NEGO_FAILED;
	OM_uint32 major, minor;
	rdms_error e = { 0 };

	CHECK(cred != GSS_C_NO_CREDENTIAL);
	gss_import_name(&minor, &target, GSS_C_NT_HOSTBASED_SERVICE, &tn);
	for (int leg = 0; leg < 4; leg++) {
		gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;

		major = gss_init_sec_context(&minor, cred, &ctx, tn, spnego ? &spnego_oid : &ntlm_oid,
		                             GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG | GSS_C_MUTUAL_FLAG, 0,
		                             NULL, &in, NULL, &tok, NULL, NULL);
		if (GSS_ERROR(major) || tok.length == 0) {
			gss_release_buffer(&minor, &tok);
			break;
		}
		if (saved != NULL && leg == 1) {   /* the AUTHENTICATE */
			saved->value = malloc(tok.length);
			memcpy(saved->value, tok.value, tok.length);
			saved->length = tok.length;
		}
		if (replay != NULL && leg > 0)
			st = nego_step(a, replay->value, replay->length, out, &e);
		else
			st = nego_step(a, tok.value, tok.length, out, &e);
		gss_release_buffer(&minor, &tok);
		if (st == NEGO_FAILED && getenv("TEST_NTLM_DEBUG") != NULL)
			fprintf(stderr, "leg %d: %s\n", leg, e.message);
		if (st != NEGO_CONTINUE) {
			if (st == NEGO_COMPLETE && out->len > 0) {   /* the final token */
				gss_buffer_desc fin = { out->len, out->token }, none = GSS_C_EMPTY_BUFFER;

				major = gss_init_sec_context(&minor, cred, &ctx, tn,
				                             spnego ? &spnego_oid : &ntlm_oid, 0, 0, NULL, &fin,
				                             NULL, &none, NULL, NULL);
				CHECK(!GSS_ERROR(major));
				gss_release_buffer(&minor, &none);
			}
			break;
		}
		in = (gss_buffer_desc){ out->len, out->token };
	}
	if (keep != NULL)
		*keep = ctx;
	else
		gss_delete_sec_context(&minor, &ctx, GSS_C_NO_BUFFER);
	gss_release_name(&minor, &tn);
	gss_release_cred(&minor, &cred);
	return st;
}

static enum nego_state handshake(nego_acceptor *a, const char *name, const char *password,
                                 bool spnego, nego_step_out *out, gss_buffer_desc *saved,
                                 const gss_buffer_desc *replay)
{
	return handshake_kept(a, name, password, spnego, out, saved, replay, NULL);
}

static void test_acceptor(void)
{
	rdms_error e = { 0 };
	nego_acceptor *a = nego_acceptor_new(store, &e);
	nego_step_out *out = malloc(sizeof *out);
	gss_buffer_desc saved = GSS_C_EMPTY_BUFFER;
	char user[64];
	static const uint8_t junk[16] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 3, 0, 0, 0 };

	CHECK(a != NULL);
	if (a == NULL) {
		fprintf(stderr, "acceptor: %s\n", e.message);
		free(out);
		return;
	}
	/* raw NTLM (as pywinrm sends it) */
	CHECK_EQ(handshake(a, "LAB\\alice", "Secret-1", false, out, NULL, NULL), NEGO_COMPLETE);
	CHECK_STR(out->name, "LAB\\alice");
	/* SPNEGO (as Windows and curl --negotiate), with the final token */
	CHECK_EQ(handshake(a, "LAB\\alice", "Secret-1", true, out, &saved, NULL), NEGO_COMPLETE);
	CHECK_STR(out->name, "LAB\\alice");
	CHECK(out->len > 0);
	/* the client's casing of the user; an entry without a domain takes any */
	CHECK_EQ(handshake(a, "LAB\\ALICE", "Secret-1", false, out, NULL, NULL), NEGO_COMPLETE);
	CHECK(nego_local_user(out->name, user, sizeof user));
	CHECK_STR(user, "alice");
	CHECK_EQ(handshake(a, "OTHER\\dave", "pw-dave", false, out, NULL, NULL), NEGO_COMPLETE);
	/* wrong password, unknown user, wrong domain */
	CHECK_EQ(handshake(a, "LAB\\alice", "wrong", false, out, NULL, NULL), NEGO_FAILED);
	CHECK_EQ(handshake(a, "LAB\\mallory", "Secret-1", false, out, NULL, NULL), NEGO_FAILED);
	CHECK_EQ(handshake(a, "OTHER\\alice", "Secret-1", false, out, NULL, NULL), NEGO_FAILED);
	/* a recorded SPNEGO AUTHENTICATE replayed into a new handshake (other challenge) */
	CHECK(saved.length > 0);
	CHECK_EQ(handshake(a, "LAB\\alice", "Secret-1", true, out, NULL, &saved), NEGO_FAILED);
	/* an AUTHENTICATE that starts a handshake, and garbage */
	CHECK_EQ(nego_step(a, junk, sizeof junk, out, &e), NEGO_FAILED);
	CHECK_EQ(nego_step(a, "\x60\x01\x00", 3, out, &e), NEGO_FAILED);
	/* after all that, a good one still works */
	CHECK_EQ(handshake(a, "LAB\\alice", "Secret-1", true, out, NULL, NULL), NEGO_COMPLETE);
	free(saved.value);
	free(out);
	nego_acceptor_free(a);
	CHECK(!nego_local_user("LAB\\", user, sizeof user));
	CHECK(nego_local_user("bob@EXAMPLE.COM", user, sizeof user));
	CHECK_STR(user, "bob");
}

/* ---- WinRM message encryption with the exported context ------------------ */

/* The client's message TEXT, wrapped, framed as pywinrm frames it. */
static void client_frame(gss_ctx_id_t c, const char *text, strbuf *body)
{
	gss_buffer_desc in = { strlen(text), (void *)text }, w = GSS_C_EMPTY_BUFFER;
	OM_uint32 minor;
	int conf = 0;

	CHECK_EQ(gss_wrap(&minor, c, 1, GSS_C_QOP_DEFAULT, &in, &conf, &w), GSS_S_COMPLETE);
	CHECK(conf == 1);
	body->len = 0;
	encbody_build(body, "application/soap+xml;charset=UTF-8", in.length, w.value, w.length,
	              w.length - in.length);
	gss_release_buffer(&minor, &w);
}

/* BODY (a framed message) read and unwrapped by S: its plaintext, or NULL. */
static char *server_read(seal_ctx *s, const strbuf *body)
{
	char why[200];
	encbody eb;
	strbuf plain = { 0 };
	rdms_error e = { 0 };

	if (!encbody_parse(ENCBODY_CONTENT_TYPE, body->data, body->len, &eb, why, sizeof why)) {
		fprintf(stderr, "  parse: %s\n", why);
		return NULL;
	}
	if (!seal_unwrap(s, eb.wrapped, eb.wrapped_len, &plain, &e)) {
		strbuf_free(&plain);
		return NULL;
	}
	CHECK_EQ(plain.len, eb.length);
	return strbuf_take(&plain);
}

static void test_sealing(bool spnego)
{
	rdms_error e = { 0 };
	nego_acceptor *a = nego_acceptor_new(store, &e);
	nego_step_out *out = malloc(sizeof *out);
	gss_ctx_id_t client = GSS_C_NO_CONTEXT;
	seal_ctx *s = NULL, *twin = NULL;
	strbuf body = { 0 }, first = { 0 }, wrapped = { 0 };
	gss_buffer_desc in, plain = GSS_C_EMPTY_BUFFER;
	OM_uint32 minor, major;
	size_t sig = 0;
	char *text;

	CHECK(a != NULL);
	CHECK_EQ(handshake_kept(a, "LAB\\alice", "Secret-1", spnego, out, NULL, NULL, &client),
	         NEGO_COMPLETE);
	CHECK(out->context_len > 0);
	s = seal_import(out->context, out->context_len, &e);
	CHECK(s != NULL);
	if (s == NULL || client == GSS_C_NO_CONTEXT)
		goto end;
	twin = seal_import(out->context, out->context_len, &e);   /* in the same state */
	CHECK(twin != NULL);
	/* a request: read by S; the same with one ciphertext byte flipped: refused by its twin */
	client_frame(client, "<Envelope>one</Envelope>", &body);
	strbuf_append(&first, body.data, body.len);
	text = server_read(s, &body);
	CHECK(text != NULL && strcmp(text, "<Envelope>one</Envelope>") == 0);
	free(text);
	first.data[first.len - 30] ^= 1;
	CHECK(twin != NULL && server_read(twin, &first) == NULL);
	first.data[first.len - 30] ^= 1;
	/* a reply: the client unwraps it */
	CHECK(seal_wrap(s, "<Reply/>", 8, &wrapped, &sig, &e));
	CHECK_EQ(sig, 16);
	in = (gss_buffer_desc){ wrapped.len, wrapped.data };
	major = gss_unwrap(&minor, client, &in, &plain, NULL, NULL);
	CHECK_EQ(major, GSS_S_COMPLETE);
	CHECK(plain.length == 8 && memcmp(plain.value, "<Reply/>", 8) == 0);
	gss_release_buffer(&minor, &plain);
	/* the next request in order is read; the first one replayed after it is not */
	client_frame(client, "<Envelope>two</Envelope>", &body);
	text = server_read(s, &body);
	CHECK(text != NULL && strcmp(text, "<Envelope>two</Envelope>") == 0);
	free(text);
	CHECK(server_read(s, &first) == NULL);
	/* a bad exported context */
	CHECK(seal_import("garbage", 7, &e) == NULL);
	CHECK(strstr(e.message, "cannot be imported") != NULL);
end:
	seal_free(s);
	seal_free(twin);
	gss_delete_sec_context(&minor, &client, GSS_C_NO_BUFFER);
	strbuf_free(&body);
	strbuf_free(&first);
	strbuf_free(&wrapped);
	explicit_bzero(out, sizeof *out);
	free(out);
	nego_acceptor_free(a);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/rdms-ntlm-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(store, sizeof store, "%s/ntlm-users", dir);
	test_hash();
	test_store();
	test_framing();
	test_acceptor();
	test_sealing(false);
	test_sealing(true);
	unlink(store);
	{
		char lock[160];

		snprintf(lock, sizeof lock, "%s.lock", store);
		unlink(lock);
	}
	rmdir(dir);
	return check_summary("ntlm");
}
