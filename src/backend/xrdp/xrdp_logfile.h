/*
 * xrdp_logfile.h -- where the running xrdp writes its log (xrdp_logfile.c):
 * for the back-end, which reads client names there, and for rdmsd's
 * session watch, which wakes up when it grows.
 */
#ifndef RDMS_BACKEND_XRDP_LOGFILE_H
#define RDMS_BACKEND_XRDP_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "../../config/config.h"

/*
 * The log xrdp writes, into OUT: the config's xrdp_log when set, else the
 * file the running xrdp holds open, else LogFile of the ini it was started
 * with, else /var/log/xrdp.log.  False only when OUT is too small.
 */
bool rdms_xrdp_log_path(const rdms_config *cfg, char *out, size_t size);

#endif
