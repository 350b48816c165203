/*
 * provider.h -- internal to the operation layer: the class this host serves
 * and the mapping from back-end sessions to its instances.
 */
#ifndef RDMS_OPS_PROVIDER_H
#define RDMS_OPS_PROVIDER_H

#include "ops.h"

/* Win32_VirtualDesktopSession, from the generated table. */
const cim_class *rdms_session_class(void);

/* The instance describing S on this host; NULL on allocation failure. */
cim_instance *rdms_session_instance(const rdms_config *cfg, const rdms_session *s);

#endif
