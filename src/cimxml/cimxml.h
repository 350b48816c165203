/*
 * cimxml.h -- the CIM-XML front end (DSP0200 operations over HTTP, DSP0201
 * representation; protocols.md section 2): `POST /cimom` requests from
 * wbemcli and pywbem become calls on the operation layer.  Like the WS-Man
 * front end it knows nothing of sockets or passwords: the transport hands it
 * the CIM headers, the body and an authenticated caller.
 */
#ifndef RDMS_CIMXML_H
#define RDMS_CIMXML_H

#include <stddef.h>

#include "../common/body_stream.h"
#include "../ops/ops.h"

/*
 * The media types of CIM-XML requests (DSP0200: application/xml or
 * text/xml, with a charset); the transport refuses any other
 * (browser_guard.h).  NULL-terminated.
 */
extern const char *const cimxml_media_types[];

/* The CIM-specific HTTP request headers (NULL when absent). */
typedef struct cimxml_request {
	const char *cim_operation;   /* "MethodCall" */
	const char *cim_method;      /* "EnumerateInstances", "Disconnect", ... */
	const char *cim_object;      /* URL-encoded namespace or namespace:path */
	const char *content_type;
	const char *body;
	size_t      len;
	/* SendMessage's options (message.h): the headers RDMS-MessageTimeout
	 * and RDMS-MessageWait, CIM-XML's only out-of-band channel */
	const char *message_timeout;
	const char *message_wait;
} cimxml_request;

/*
 * The response header that carries the reason of a method's ReturnValue
 * other than 0, percent-encoded UTF-8 (strbuf_put_header_value): the
 * METHODRESPONSE holds the RETURNVALUE alone, as the class defines it.
 */
#define CIMXML_RETURN_VALUE_TEXT "RDMS-ReturnValueText"

typedef struct cimxml_reply {
	int         http_status;     /* 200 (also for CIM errors), 400, 406, 413, 501 */
	const char *cim_error;       /* value of the CIMError: header, or NULL */
	char       *body;            /* malloc'd; the caller frees (may be NULL) */
	size_t      len;
	/* the CIMXML_RETURN_VALUE_TEXT header's value, or NULL; malloc'd, the
	 * caller frees */
	char       *return_value_text;
	/* cimxml_handle_streamed: the rest of the reply after BODY (the
	 * instances of an enumeration or query), written while it is sent; the
	 * caller runs or ends it */
	body_stream stream;
} cimxml_reply;

/* Handles one request; always fills OUT. WHO is the authenticated caller. */
void cimxml_handle(rdms_provider *p, const rdms_config *cfg, const rdms_caller *who,
                   const cimxml_request *req, cimxml_reply *out);
/*
 * cimxml_handle, but EnumerateInstances(Names) and ExecQuery leave their
 * instances in OUT->stream (body_stream.h), to be written while they are
 * sent: BODY is then the message up to them.
 */
void cimxml_handle_streamed(rdms_provider *p, const rdms_config *cfg, const rdms_caller *who,
                            const cimxml_request *req, cimxml_reply *out);

#endif
