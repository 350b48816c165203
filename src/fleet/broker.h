/*
 * broker.h -- rdmsd as a fleet broker (role = broker; spec/fleet.md 3):
 * the classes it serves from its session directory, and the state they
 * share.
 *
 * Every session of every registered host is a Win32_VirtualDesktopSession
 * here, with the host's own VMHostName: two hosts may both have SessionId
 * 7 and stay apart.  Root and the admin group see and act on all; anyone
 * else on the sessions whose UserName is theirs (any host, any domain: a
 * fleet shares its accounts).  A method is forwarded to the owning host
 * (forward.h) after it is authorised and audited here as pending; its
 * outcome is audited again.  Win32_RDSHServer lists the hosts with the
 * state the broker last saw them in.
 */
#ifndef RDMS_FLEET_BROKER_H
#define RDMS_FLEET_BROKER_H

#include "../ops/provider.h"
#include "forward_pool.h"
#include "host_tls.h"
#include "ingest.h"
#include "lease.h"
#include "store.h"

typedef struct fleet_broker {
	const rdms_config *cfg;
	fleet_store       *store;
	fleet_identity     id;       /* loaded before privileges are dropped */
	fleet_ingest      *ingest;   /* one Pull subscription per host */
	fleet_pool        *pool;     /* kept connections for forwarded methods */
	fleet_lease       *lease;    /* its name in the directory; its health */
	uint8_t            ctx_key[FLEET_SECRET_BYTES];   /* signs enumeration contexts */
} fleet_broker;

/* The directory's secret that signs enumeration contexts (fleet_store_secret). */
#define FLEET_CTX_SECRET "enumeration-context"

/*
 * Enumerations of the sessions at broker B keep no state here (spec/fleet.md
 * 3.6): their contexts are signed (P->ctx_mac: fleet_ctx_mac) with the
 * directory's secret, read from (or made in) B's store, so every broker
 * on the same directory takes every other's contexts.
 */
uint32_t fleet_broker_contexts(fleet_broker *b, rdms_provider *p, rdms_error *err);
/* rdms_provider.healthy for CTX, a fleet_broker: its directory answers (lease.h). */
bool fleet_broker_healthy(void *ctx, rdms_error *why);
/* HMAC-SHA256 of DATA under CTX's (a fleet_broker) ctx_key. */
void fleet_ctx_mac(void *ctx, const void *data, size_t len, uint8_t out[32]);
/* The clock CTX's (a fleet_broker) contexts expire by: its directory's (fleet_lease_now_ms). */
int64_t fleet_ctx_clock(void *ctx);

/*
 * The keyset page WHO may read of the rows MATCH (may be NULL) selects:
 * PAGE's account, host, SessionId and ConnectState filters (broker.c's
 * pushdown; strings are MATCH's, valid while it is).  *NONE when no row
 * can match (a non-admin's query for someone else's UserName).  True when
 * anything was pushed down or restricted.
 */
bool fleet_session_page(const rdms_caller *who, const wql_query *match, fleet_page *page,
                        bool *none);

/* The classes a broker serves, for rdms_provider.classes (with .fleet a fleet_broker). */
extern const rdms_class_provider *const fleet_broker_classes[];

/* The instance of directory row S; NULL when out of memory. */
cim_instance *fleet_session_instance(const fleet_session *s);

/* The owner rule for a caller who is not an admin: USER_NAME (NULL: nobody) is USER's. */
bool fleet_user_owns(const char *user, const char *user_name);

#endif
