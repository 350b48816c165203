/*
 * net_broker.h -- what the network process of a fleet broker (role =
 * broker) serves beyond a host's: the session directory, the hosts'
 * ingest, forwarding (src/fleet).
 *
 * Two programs share rdmsd_net.c: rdmsd-net, a host's network process,
 * links net_host.c, which has no broker in it, so a host never maps
 * libcurl's connections, OpenSSL or the directory's code; rdmsd-broker,
 * a broker's, links net_broker.c.  rdmsd starts the one its role needs.
 */
#ifndef RDMS_DAEMON_NET_BROKER_H
#define RDMS_DAEMON_NET_BROKER_H

#include <stdbool.h>

#include "../config/config.h"
#include "../ops/provider.h"
#include "../wsman/wsman.h"

typedef struct net_broker net_broker;

/* Still root: the broker of CFG with its client key loaded; NULL with ERR set. */
net_broker *net_broker_load(const rdms_config *cfg, rdms_error *err);
/* Unprivileged: opens the directory, starts the ingest, serves its classes through P. */
bool net_broker_up(net_broker *b, rdms_provider *p, rdms_error *err);
/* The broker's session events, served by W. */
bool net_broker_events(net_broker *b, wsman_service *w, rdms_error *err);
/* Stops B's ingest and closes what it opened (NULL: nothing). */
void net_broker_free(net_broker *b);

#endif
