/*
 * fuzz_provider.h -- the operation layer the protocol targets (fuzz_wsman,
 * fuzz_cimxml) run requests against.
 *
 * Sessions come from a fixture file written once into a private temporary
 * directory; the actions only check their arguments and succeed, so no
 * fuzzed request ever acts on anything or rewrites the fixture (the fixture
 * back-end's own actions would).  Two callers: an administrator and an
 * ordinary user who owns one session, so the authorisation paths run too.
 */
#ifndef RDMS_FUZZ_PROVIDER_H
#define RDMS_FUZZ_PROVIDER_H

#include "ops/ops.h"

extern rdms_config   fuzz_cfg;
extern rdms_provider fuzz_prov;
extern const rdms_caller *const fuzz_callers[2];   /* admin, then "nobody" */

/* Writes the fixture and builds the provider; exits on failure. */
void fuzz_provider_init(const char *protocol);

#endif
