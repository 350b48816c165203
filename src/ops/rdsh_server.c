/*
 * rdsh_server.c -- Win32_RDSHServer on a host: the one instance of this
 * server.  Name is its VMHostName, CollectionAlias its CollectionId,
 * ServerState 3 (TARGET_RUNNING: it answers), ConnectionBroker NULL (a host
 * does not know which broker asks).  A fleet broker serves the class from
 * its directory instead, one instance per host.  Anyone who may list
 * sessions may read it.
 */
#include "provider.h"

#include "../schema/schema.h"

#define TARGET_RUNNING 3

static uint32_t servers_each(rdms_provider *p, const rdms_caller *who, rdms_instance_fn fn,
                             void *ctx, rdms_error *err)
{
	const char *text[RDMS_WIN32_RDSHSERVER_NPROPS] = { NULL };
	cim_instance *inst;

	(void)who;
	text[RDMS_WIN32_RDSHSERVER_NAME] = p->cfg->vm_host_name;
	text[RDMS_WIN32_RDSHSERVER_COLLECTIONALIAS] = p->cfg->collection_id;
	inst = cim_instance_new_packed(&rdms_class_Win32_RDSHServer, text);
	if (inst == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	inst->values[RDMS_WIN32_RDSHSERVER_SERVERSTATE] = cim_u32(TARGET_RUNNING);
	return fn(ctx, inst, 1, err);
}

const rdms_class_provider rdms_rdsh_server_provider = {
	.cls = &rdms_class_Win32_RDSHServer, .each = servers_each,
};
