/*
 * ntlm_relay.h -- where priv runs Negotiate/NTLM handshakes: each in a
 * process of its own, rdmsd-ntlm (src/daemon/rdmsd_ntlm.c), started for
 * the handshake's first leg and gone after its last.
 *
 * Why a process per handshake (README "Privilege separation"):
 *   - the NT-hash store is root's (like /etc/shadow) and only what checks
 *     the AUTHENTICATE message reads it: rdmsd-ntlm keeps uid 0 (so the
 *     file's owner) but no capability, and sees no HTTP at all -- net only
 *     sends it the token's base64 through priv;
 *   - Debian's gss-ntlmssp 1.2.0 leaks about 7.5 KB per handshake
 *     (spec/ntlm.md §4.3), which a long-lived process would pile up for
 *     ever; a process that ends with its handshake gives all of it back,
 *     so no process of rdmsd grows with handshakes;
 *   - a handshake is two or three legs on one connection, so its
 *     half-finished GSSAPI context stays in its process between the legs,
 *     found again by a random 64-bit number net keeps on the connection.
 * At most NTLM_RELAY_MAX handshakes are in progress; one whose next leg
 * does not come within NTLM_RELAY_IDLE_S is dropped (its process exits by
 * itself then, and is reaped when its slot is wanted again).
 */
#ifndef RDMS_PRIVSEP_NTLM_RELAY_H
#define RDMS_PRIVSEP_NTLM_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NTLM_RELAY_MAX      64
#define NTLM_RELAY_PER_HOST 16
#define NTLM_RELAY_IDLE_S   30

typedef struct ntlm_relay ntlm_relay;

/* A relay running PROGRAM (rdmsd-ntlm) with the store KEYFILE; NULL when out of memory. */
ntlm_relay *ntlm_relay_new(const char *program, const char *keyfile);
/* Ends every handshake in progress (their processes killed and reaped). */
void ntlm_relay_free(ntlm_relay *r);

/*
 * Serves one NEGOTIATE request (PAYLOAD of LEN bytes, request ID) from net
 * on channel FD, with BUF (PRIV_MSG_MAX bytes) to build the reply in:
 * answers NEGOTIATED (or DONE for a request that does not decode).  False
 * when the channel is broken.
 */
bool ntlm_relay_serve(ntlm_relay *r, int fd, uint32_t id, const void *payload, size_t len,
                      void *buf);

#endif
