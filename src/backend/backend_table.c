/*
 * backend_table.c -- the back-ends compiled in, as themselves (backend.h):
 * for the programs that run them.  The network process and the helpers
 * that never run one link backend_names.c instead.  (rdms_backend_find,
 * in backend.c, looks in whichever of the two a program links.)
 */
#include "backend.h"

#include "fixture/fixture.h"
#include "x2go/x2go_internal.h"
#include "xrdp/xrdp_internal.h"

#define BACKEND(name) &rdms_backend_##name,
/* The fixture back-end is listed but never enabled by default (config `backends`). */
const rdms_backend *const rdms_backends[] = { RDMS_BACKEND_LIST(BACKEND) NULL };
#undef BACKEND
