/*
 * xrdp.c -- the xrdp 0.9 back-end object: available() and enumerate().
 *
 * enumerate is one pass over the process table (xrdp_scan.c), one read of
 * /proc/net/unix and the TCP tables (xrdp_state.c), a readlink of the fds
 * of xrdp's few connection processes, one sock_diag request per attached
 * Xorg session and, only when a session is attached, the tail of the xrdp
 * log (xrdp_client.c).  Nothing is forked and sesman is not asked: its
 * management protocol knows less than /proc and blocks it while asked (P3).
 */
#include "xrdp_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool xrdp_available(const rdms_config *cfg)
{
	struct stat st;

	/* installed (the package's binary) or serving (its socket directory) */
	return access("/usr/sbin/xrdp-sesman", X_OK) == 0 ||
	    (stat(cfg->xrdp_sockdir, &st) == 0 && S_ISDIR(st.st_mode));
}

static uint32_t xrdp_enumerate(const rdms_config *cfg, rdms_session_list *out,
                               rdms_error *err)
{
	xrdp_proctab t = { 0 };
	size_t first = out->count;
	xrdp_conn *conns = NULL;
	uint32_t rc;

	if ((rc = xrdp_proctab_read(cfg->proc_root, &t, err)) != WBEM_S_NO_ERROR)
		goto out;
	if ((rc = xrdp_scan_sessions(cfg->proc_root, &t, out, err)) != WBEM_S_NO_ERROR)
		goto out;
	if (out->count == first)
		goto out;
	if ((conns = calloc(out->count - first, sizeof *conns)) == NULL) {
		rc = rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory listing sessions");
		goto out;
	}
	if ((rc = xrdp_state_fill(cfg, &t, out, first, conns, err)) != WBEM_S_NO_ERROR)
		goto out;
	xrdp_client_fill(cfg, &t, out, first, conns);
out:
	if (rc != WBEM_S_NO_ERROR)
		out->count = first;     /* all or nothing */
	free(conns);
	xrdp_proctab_free(&t);
	return rc;
}

const rdms_backend rdms_backend_xrdp = {
	.name = "xrdp",
	.available = xrdp_available,
	.enumerate = xrdp_enumerate,
	.disconnect = xrdp_disconnect,
	.logoff = xrdp_logoff,
	.send_message = xrdp_send_message,
};
