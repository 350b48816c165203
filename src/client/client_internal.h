/*
 * client_internal.h -- what the parts of the WS-Management client share:
 * the connection, the envelope writer, the POST that turns a reply into its
 * SOAP Body (or a fault into an rdms_error) and the instance reader.
 * client.c holds the data operations, client_events.c the subscriptions.
 */
#ifndef RDMS_CLIENT_INTERNAL_H
#define RDMS_CLIENT_INTERNAL_H

#include <signal.h>
#include <stdint.h>

#include <curl/curl.h>
#include <libxml/tree.h>

#include "../common/strutil.h"
#include "../wsman/wsman_internal.h"
#include "client.h"

#define PUTS(b, s) strbuf_append((b), (s), sizeof(s) - 1)

struct rdms_client {
	CURL              *curl;
	struct curl_slist *headers;
	char              *url;         /* the endpoint in use: urls[cur] */
	char             **urls;        /* --host URL1,URL2...: tried in turn on a connection failure */
	size_t             nurls, cur;
	strbuf             reply;
	bool               reply_too_big;
	size_t             max_reply;   /* bytes of one reply accepted; 0: the client's default */
	const volatile sig_atomic_t *interrupt;   /* rdms_client_interrupt_on */
	/* rdms_client_next_call's, for one request */
	const char        *next_message_id, *next_extra;
	long               next_timeout_ms;
	rdms_exchange      last;                      /* rdms_client_last_exchange */
	bool               at_most_once;              /* rdms_client_options' */
	long               ack_timeout_ms;
	const strbuf      *body;                      /* the request being sent (at_most_once) */
	size_t             body_sent;                 /* how much of it libcurl has read */
	int64_t            sent_ms;                   /* mono_ms as the request went out, or -1 */
	int                sock;                      /* its connection's socket (ack_timeout_ms), -1 */
	char               errbuf[CURL_ERROR_SIZE];
};

/*
 * POSTs REQ and returns the reply's SOAP Body element in *BODY_ELEM (the
 * document in *DOC, which the caller frees), or a WMI code with ERR set.
 */
uint32_t client_post(rdms_client *c, strbuf *req, xmlDoc **doc, xmlNode **body_elem,
                     rdms_error *err);
/*
 * A reply's bytes DATA (LEN) of HTTP STATUS from URL, as client_post
 * returns them: *DOC (to free; NULL when it is no XML), its Body element
 * in *BODY_ELEM, and a fault as its WMI code with the server's reason.
 */
uint32_t client_reply_parse(const char *url, const char *data, size_t len, long status,
                            xmlDoc **doc, xmlNode **body_elem, rdms_error *err);
/*
 * An EnumerateResponse or PullResponse (RESP) in BODY: the instances of CLS
 * among its ITEMS_NS:Items onto OUT, the next context into *CTX (malloc'd,
 * NULL when the sequence ended).
 */
uint32_t client_read_page(const xmlNode *body, const char *resp, const char *items_ns,
                          const cim_class *cls, cim_instance_list *out, char **ctx,
                          rdms_error *err);
/* METHOD's output in BODY (of DOC): its ReturnValue into *RV, the reason for one not 0 into ERR. */
uint32_t client_invoke_output(xmlDoc *doc, const xmlNode *body, const char *method,
                              uint32_t *rv, rdms_error *err);
/* The envelope up to <s:Body> for ACTION on URI (PATH: its selectors, may be NULL). */
void client_envelope_head(strbuf *b, const rdms_client *c, const char *action,
                          const char *uri, const cim_path *path);
/* The same without selectors, with EXTRA (XML, may be NULL) at the end of the header. */
void client_envelope_head_extra(strbuf *b, const rdms_client *c, const char *action,
                                const char *uri, const char *extra);
void client_envelope_tail(strbuf *b);
/* The WMI-form ResourceURI of CLS in NS (the wildcard URI when CLS is NULL); malloc'd. */
char *client_resource_uri(const char *ns, const cim_class *cls);
/*
 * Reads one instance element E of CLS (properties it does not know are
 * skipped): its properties in E's own namespace, or in any (ANY_NS: an
 * embedded instance, whose properties are in its class's namespace).
 */
uint32_t client_read_instance(const xmlNode *e, const cim_class *cls, bool any_ns,
                              cim_instance **out, rdms_error *err);
/* The Body element of DOC's SOAP envelope (the last, if several); NULL when it has none. */
xmlNode *client_soap_body(xmlDoc *doc);
/* The first element below N (depth first) whose local name is NAME; NULL if none or N is NULL. */
xmlNode *client_find_desc(const xmlNode *n, const char *name);
/* N's text as a uint32 (white space around it allowed). */
bool client_node_u32(const xmlNode *n, uint32_t *out);

#endif
