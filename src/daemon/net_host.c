/*
 * net_host.c -- rdmsd-net, a host's network process, has no broker
 * (net_broker.h): rdmsd starts rdmsd-broker for role = broker.
 */
#include "net_broker.h"

net_broker *net_broker_load(const rdms_config *cfg, rdms_error *err)
{
	(void)cfg;
	rdms_fail(err, WBEM_E_INVALID_PARAMETER, "rdmsd-net serves a host; a broker's network "
	          "process is rdmsd-broker (rdmsd starts it for role = broker)");
	return NULL;
}

bool net_broker_up(net_broker *b, rdms_provider *p, rdms_error *err)
{
	(void)b;
	(void)p;
	return rdms_fail(err, WBEM_E_FAILED, "no broker in rdmsd-net") == 0;
}

bool net_broker_events(net_broker *b, wsman_service *w, rdms_error *err)
{
	(void)b;
	(void)w;
	(void)err;
	return true;
}

void net_broker_free(net_broker *b)
{
	(void)b;
}
