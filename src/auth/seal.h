/*
 * seal.h -- WinRM message encryption's cryptography (MS-WSMV 2.2.9.1):
 * a Negotiate/NTLM security context that net holds for one connection,
 * and the gss_wrap / gss_unwrap of its messages.
 *
 * The handshake itself runs in rdmsd-ntlm (negotiate.h), the only process
 * that reads the NT-hash store.  When it completes with confidentiality
 * asked for, rdmsd-ntlm exports the context (gss_export_sec_context) and
 * priv hands it to net with the identity; net imports it here.  So net
 * holds the keys of the connections it serves -- as it holds their
 * plaintext -- and never a password hash.  Importing needs no credential
 * and, with Debian's gss-ntlmssp 1.2.0, does not leak (measured: RSS flat
 * over 1,000 imports, wraps and deletes; the per-handshake leak of
 * spec/ntlm.md 4.3 is in accepting, which stays in rdmsd-ntlm).
 *
 * A context is not thread-safe and its RC4 state and sequence numbers move
 * with every message: one request at a time per connection, each request
 * unwrapped and its reply wrapped in order.  After a failed unwrap the two
 * ends are out of step for good: the caller drops the context.
 */
#ifndef RDMS_AUTH_SEAL_H
#define RDMS_AUTH_SEAL_H

#include <stdbool.h>
#include <stddef.h>

#include "../cim/wbem.h"
#include "../common/strutil.h"

typedef struct seal_ctx seal_ctx;

/* The context exported by rdmsd-ntlm (LEN bytes); NULL with ERR. */
seal_ctx *seal_import(const void *exported, size_t len, rdms_error *err);
void seal_free(seal_ctx *s);

/*
 * A client's message: IN is the signature then the ciphertext (LEN bytes
 * in all); its plaintext is appended to OUT.  False with ERR when it does
 * not verify -- tampered, replayed, out of order, or not encrypted.
 */
bool seal_unwrap(seal_ctx *s, const void *in, size_t len, strbuf *out, rdms_error *err);

/*
 * A reply: PLAIN (LEN bytes) encrypted, appended to OUT as the signature
 * then the ciphertext; *SIG_LEN is the signature's length.  False with ERR.
 */
bool seal_wrap(seal_ctx *s, const void *plain, size_t len, strbuf *out, size_t *sig_len,
               rdms_error *err);

#endif
