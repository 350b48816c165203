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
#include "store.h"

typedef struct fleet_broker {
	const rdms_config *cfg;
	fleet_store       *store;
	fleet_identity     id;       /* loaded before privileges are dropped */
	fleet_ingest      *ingest;   /* one Pull subscription per host */
	fleet_pool        *pool;     /* kept connections for forwarded methods */
} fleet_broker;

/* The classes a broker serves, for rdms_provider.classes (with .fleet a fleet_broker). */
extern const rdms_class_provider *const fleet_broker_classes[];

/* The instance of directory row S; NULL when out of memory. */
cim_instance *fleet_session_instance(const fleet_session *s);

/* The owner rule for a caller who is not an admin: USER_NAME (NULL: nobody) is USER's. */
bool fleet_user_owns(const char *user, const char *user_name);

#endif
