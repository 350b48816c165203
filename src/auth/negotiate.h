/*
 * negotiate.h -- the acceptor side of HTTP Negotiate (SPNEGO or raw
 * NTLMSSP tokens) and NTLM, through GSSAPI: MIT's mechglue with Debian's
 * gss-ntlmssp mechanism (spec/ntlm.md).
 *
 * The credential is acquired once, with no name (a named acceptor puts
 * an SPN in the CHALLENGE that NTLM clients then reject) and the NT-hash
 * store (ntlm_store.h) given through the cred-store key ntlmssp_keyfile --
 * no environment variable; gss-ntlmssp rereads the file at every
 * AUTHENTICATE, so `rdms user set` takes effect at once.
 *
 * Only rdmsd-ntlm (src/daemon/rdmsd_ntlm.c), the short-lived process of
 * one handshake, links this: see README "Privilege separation".
 */
#ifndef RDMS_AUTH_NEGOTIATE_H
#define RDMS_AUTH_NEGOTIATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../cim/wbem.h"

typedef struct nego_acceptor nego_acceptor;

/* An acceptor reading the NT-hash store KEYFILE; NULL with ERR. */
nego_acceptor *nego_acceptor_new(const char *keyfile, rdms_error *err);
void nego_acceptor_free(nego_acceptor *a);

enum nego_state {
	NEGO_CONTINUE = 0,   /* OUT is the next challenge; another token is due */
	NEGO_COMPLETE,       /* authenticated: NAME is set, OUT may be a final token */
	NEGO_FAILED,         /* refused (bad token, wrong password, unknown user): ERR */
};

#define NEGO_TOKEN_MAX   6144    /* bytes of one token, either way */
#define NEGO_CONTEXT_MAX 12288   /* bytes of an exported security context */

typedef struct nego_step_out {
	uint8_t token[NEGO_TOKEN_MAX];
	size_t  len;                  /* 0: no token to send */
	char    name[256];            /* on COMPLETE: the client's name, "DOMAIN\\user" or "user" */
	/*
	 * On COMPLETE, when the client asked for confidentiality (WinRM message
	 * encryption): the security context, exported (gss_export_sec_context)
	 * for net to seal the connection's messages with (src/auth/seal.h);
	 * CONTEXT_LEN 0 otherwise.  It holds the session's keys: wipe it.
	 */
	uint8_t context[NEGO_CONTEXT_MAX];
	size_t  context_len;
} nego_step_out;

/*
 * One leg of the handshake: the client's token IN of LEN bytes into the
 * context A holds (the first call starts it).  After NEGO_COMPLETE or
 * NEGO_FAILED the context is gone and a further call starts a new one.
 */
enum nego_state nego_step(nego_acceptor *a, const void *in, size_t len, nego_step_out *out,
                          rdms_error *err);

/*
 * The local account of a client name ("DOMAIN\\user", "user@REALM" or
 * "user"): the user part, lower-cased, into USER.  False when there is none.
 */
bool nego_local_user(const char *name, char *user, size_t size);

#endif
