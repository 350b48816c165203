/*
 * net_broker.c -- a fleet broker's part of its network process
 * (net_broker.h), in rdmsd-broker.
 */
#include "net_broker.h"

#include <stdlib.h>

#include "../fleet/broker.h"
#include "../fleet/events.h"

struct net_broker {
	fleet_broker  broker;
	fleet_events *events;    /* the broker's change feed: what its ingest applies */
};

net_broker *net_broker_load(const rdms_config *cfg, rdms_error *err)
{
	net_broker *b = calloc(1, sizeof *b);

	if (b == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	b->broker.cfg = cfg;
	if (fleet_identity_load(cfg, &b->broker.id, err) != WBEM_S_NO_ERROR) {
		free(b);
		return NULL;
	}
	return b;
}

/*
 * The directory, opened as the network process's account (the privileged
 * process made its directory writable for it), serves the classes; methods
 * go to the hosts as the broker's certificate, on kept connections; what
 * the ingest applies becomes the broker's own session events, in a journal
 * beside the directory.
 */
bool net_broker_up(net_broker *b, rdms_provider *p, rdms_error *err)
{
	const rdms_config *cfg = b->broker.cfg;
	fleet_ingest_options io = { .identity = &b->broker.id };
	char path[sizeof cfg->store_path + sizeof cfg->events_db];

	b->broker.store = fleet_store_open(cfg->store, rdms_config_store_target(cfg),
	                                   FLEET_OPEN_BROKER, err);
	if (b->broker.store == NULL)
		return false;
	/* one process per broker name: a second is refused before it serves anything */
	if ((b->broker.lease = fleet_lease_start(b->broker.store, cfg->broker_name,
	                                         (int64_t)cfg->forward_keep_s * 1000, err)) == NULL)
		return false;
	fleet_events_path(cfg, path, sizeof path);
	/* a batch the directory committed before a crash, published before the ingest starts */
	if ((b->events = fleet_events_open(path, err)) == NULL ||
	    fleet_events_recover(b->events, b->broker.store, err) != WBEM_S_NO_ERROR)
		return false;
	if ((b->broker.pool = fleet_pool_new(&b->broker.id, FLEET_POOL_IDLE_MS)) == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory") == 0;
	io.store = b->broker.store;
	io.events = b->events;
	io.pool = b->broker.pool;
	b->broker.ingest = fleet_ingest_start(&io, err);
	if (b->broker.ingest == NULL)
		return false;
	p->classes = fleet_broker_classes;
	p->fleet = &b->broker;
	p->healthy = fleet_broker_healthy;
	p->healthy_ctx = &b->broker;
	return fleet_broker_contexts(&b->broker, p, err) == WBEM_S_NO_ERROR;
}

bool net_broker_events(net_broker *b, wsman_service *w, rdms_error *err)
{
	wsman_event_source src = fleet_events_source(b->events);

	if (!wsman_service_events(w, &src))
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory") == 0;
	return true;
}

void net_broker_free(net_broker *b)
{
	if (b == NULL)
		return;
	fleet_ingest_stop(b->broker.ingest);
	fleet_pool_free(b->broker.pool);
	fleet_lease_stop(b->broker.lease);
	fleet_events_close(b->events);
	fleet_store_close(b->broker.store);
	fleet_identity_clear(&b->broker.id);
	free(b);
}
