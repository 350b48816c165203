/*
 * pam_txn.c -- one PAM transaction (pam_txn.h).
 */
#include "pam_txn.h"

#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "../common/strutil.h"

/* Answers PAM's prompts: the password for hidden ones, nothing else. */
static int conversation(int n, const struct pam_message **msg,
                        struct pam_response **resp, void *appdata)
{
	const char *password = appdata;
	struct pam_response *r;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof *r);
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF)
			continue;   /* info and error texts need no answer */
		r[i].resp = strdup(password);
		if (r[i].resp == NULL) {
			for (int j = 0; j < i; j++) {
				if (r[j].resp != NULL) {
					explicit_bzero(r[j].resp, strlen(r[j].resp));
					free(r[j].resp);
				}
			}
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* pam_unix and others sleep inside PAM on failure; the caller delays instead. */
static void no_delay(int status, unsigned int usec, void *appdata)
{
	(void)status;
	(void)usec;
	(void)appdata;
}

uint32_t pam_txn_run(const char *service, const char *user, const char *password,
                     const char *rhost, char *canon, size_t canon_size, rdms_error *err)
{
	struct pam_conv conv = { conversation, (void *)password };
	pam_handle_t *h = NULL;
	const void *item = NULL;
	int rc;

	rc = pam_start(service, user, &conv, &h);
	if (rc != PAM_SUCCESS)
		return rdms_fail(err, WBEM_E_ACCESS_DENIED, "PAM service '%s' unusable: %s",
		                 service, pam_strerror(h, rc));
	pam_set_item(h, PAM_FAIL_DELAY, (const void *)no_delay);
	if (rhost != NULL)
		pam_set_item(h, PAM_RHOST, rhost);
	rc = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS && pam_get_item(h, PAM_USER, &item) == PAM_SUCCESS &&
	    item != NULL)
		str_copy(canon, canon_size, item);
	else if (rc == PAM_SUCCESS)
		str_copy(canon, canon_size, user);
	if (rc != PAM_SUCCESS)
		rdms_fail(err, WBEM_E_ACCESS_DENIED, "%s", pam_strerror(h, rc));
	pam_end(h, rc);
	return rc == PAM_SUCCESS ? WBEM_S_NO_ERROR : WBEM_E_ACCESS_DENIED;
}
