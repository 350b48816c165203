/*
 * client.h -- a WS-Management client of rdmsd (or of any WinRM endpoint that
 * serves the class), used by `rdms` unless --direct is given.  Transport is
 * libcurl: the local Unix socket by default, or an http(s) URL.
 */
#ifndef RDMS_CLIENT_H
#define RDMS_CLIENT_H

#include <stdbool.h>

#include "../cim/instance.h"
#include "../cim/path.h"
#include "../ops/ops.h"

typedef struct rdms_client rdms_client;

typedef struct rdms_client_options {
	const char *url;          /* "http(s)://host:port/wsman"; NULL: the local socket */
	const char *socket_path;  /* used when url is NULL */
	const char *user;         /* Basic credentials; NULL on the local socket */
	const char *password;
	bool        insecure;     /* skip TLS certificate checks */
} rdms_client_options;

rdms_client *rdms_client_new(const rdms_client_options *o, rdms_error *err);
void rdms_client_free(rdms_client *c);

uint32_t rdms_client_enumerate(rdms_client *c, const cim_class *cls,
                               cim_instance_list *out, rdms_error *err);
uint32_t rdms_client_query(rdms_client *c, const cim_class *cls, const char *wql,
                           cim_instance_list *out, rdms_error *err);
uint32_t rdms_client_get(rdms_client *c, const cim_class *cls, const cim_path *path,
                         cim_instance **out, rdms_error *err);
/*
 * As rdms_op_invoke: HRESULT-level result returned, ReturnValue in *RV and,
 * when that is not 0 and the server says why (rdmsd's response header
 * rdms:ReturnValueText), ERR the reason.
 */
uint32_t rdms_client_invoke(rdms_client *c, const cim_class *cls, const cim_path *path,
                            const char *method, const rdms_param *in, size_t nin,
                            uint32_t *rv, rdms_error *err);
/*
 * rdms_client_invoke with SendMessage's options (message.h) sent as a
 * w:OptionSet; a call that waits may take the timeout and a minute.
 */
uint32_t rdms_client_invoke_opts(rdms_client *c, const cim_class *cls, const cim_path *path,
                                 const char *method, const rdms_param *in, size_t nin,
                                 const rdms_message_options *mopt, uint32_t *rv,
                                 rdms_error *err);

#endif
