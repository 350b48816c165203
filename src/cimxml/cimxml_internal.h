/*
 * cimxml_internal.h -- the private vocabulary of the CIM-XML front end.
 *
 * A request goes through three stages, one file each:
 *   cimxml_parse.c  headers + XML body -> cimxml_call.  Every check that can
 *                   fail on the request itself happens here, before anything
 *                   runs.  Failures are of two kinds (DSP0200): HTTP-level
 *                   ones (not well-formed, not valid, wrong versions, headers
 *                   that disagree with the body) go back as an HTTP status
 *                   with a CIMError header; CIM-level ones (unknown operation,
 *                   bad parameter) go back as <ERROR> in a 200 reply, which
 *                   needs the MESSAGE ID and the method name, so the parser
 *                   keeps those even when it fails later.
 *   cimxml.c        cimxml_call -> operation layer -> reply text
 *   cimxml_write.c  DSP0201 elements as text (envelope, INSTANCE,
 *                   INSTANCENAME, CLASS, ERROR), with escaping in one place.
 */
#ifndef RDMS_CIMXML_INTERNAL_H
#define RDMS_CIMXML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../cim/class.h"
#include "../cim/instance.h"
#include "../cim/path.h"
#include "../common/strutil.h"
#include "cimxml.h"

/* Limits on what a request may carry. */
#define CIMXML_MAX_DEPTH     32    /* element nesting; real requests need 9 */
#define CIMXML_MAX_ID_LEN    256   /* MESSAGE ID */
#define CIMXML_MAX_NAME_LEN  256   /* method, class, parameter and key names */
#define CIMXML_MAX_NS_LEN    1024  /* joined namespace */
#define CIMXML_MAX_NS_PARTS  32
#define CIMXML_MAX_IPARAMS   32    /* IPARAMVALUEs of an intrinsic call */
#define CIMXML_MAX_PARAMS    32    /* PARAMVALUEs of an extrinsic call */
#define CIMXML_MAX_KEYS      64    /* KEYBINDINGs of an INSTANCENAME */
#define CIMXML_MAX_PROPLIST  256   /* names in a PropertyList */

/* CIMError header values (DSP0200 section 6.3). */
#define CIMERR_NOT_WELL_FORMED   "request-not-well-formed"
#define CIMERR_NOT_VALID         "request-not-valid"
#define CIMERR_UNSUPPORTED_OP    "unsupported-operation"
#define CIMERR_HEADER_MISMATCH   "header-mismatch"
#define CIMERR_MULTIREQ          "multiple-requests-unsupported"
#define CIMERR_PROTOCOL_VERSION  "unsupported-protocol-version"
#define CIMERR_CIM_VERSION       "unsupported-cim-version"
#define CIMERR_DTD_VERSION       "unsupported-dtd-version"

/* HTTP statuses DSP0200 gives those errors. */
#define CIMXML_HTTP_BAD_REQUEST      400   /* not well-formed/valid, unsupported-operation */
#define CIMXML_HTTP_HEADER_MISMATCH  400   /* DSP0200 6.3.5/6.3.6: 400 Bad Request */
#define CIMXML_HTTP_TOO_LARGE        413
#define CIMXML_HTTP_NOT_IMPLEMENTED  501   /* versions, MULTIREQ */

typedef enum cimxml_op {
	CIMXML_OP_NONE = 0,
	CIMXML_OP_ENUMERATE_INSTANCES,
	CIMXML_OP_ENUMERATE_INSTANCE_NAMES,
	CIMXML_OP_GET_INSTANCE,
	CIMXML_OP_EXEC_QUERY,
	CIMXML_OP_GET_CLASS,
	CIMXML_OP_ENUMERATE_CLASSES,
	CIMXML_OP_ENUMERATE_CLASS_NAMES,
	CIMXML_OP_INVOKE_METHOD,        /* extrinsic: METHODCALL */
} cimxml_op;

/* One parsed request; every string is malloc'd and owned by the call. */
typedef struct cimxml_call {
	char      *message_id;      /* MESSAGE ID, echoed in the reply */
	bool       intrinsic;       /* IMETHODCALL (else METHODCALL) */
	char      *method;          /* NAME of the call element */
	cimxml_op  op;
	char      *ns;              /* LOCALNAMESPACEPATH, segments joined with '/' */

	/* intrinsic parameters (DSP0200 defaults applied) */
	char      *class_name;      /* ClassName; NULL when absent */
	bool       local_only;
	bool       deep_inheritance;
	bool       include_qualifiers;
	bool       include_class_origin;
	bool       has_property_list;   /* false: all properties */
	char     **property_list;
	size_t     nproperties;
	char      *query_language;
	char      *query;

	/* GetInstance InstanceName, or the target of an extrinsic call */
	cim_path   path;
	bool       has_path;
	char      *path_text;       /* "ns:Class.Key=..." for the audit record */

	/* extrinsic arguments, typed from the class definition */
	rdms_param *params;
	size_t      nparams;
} cimxml_call;

/* Why a request failed; http_status 200 means a CIM error in the body. */
typedef struct cimxml_status {
	int         http_status;
	const char *cim_error;     /* CIMError header for HTTP-level failures */
	rdms_error  err;           /* WBEM_E_* code and message */
} cimxml_status;

/*
 * Parses REQ into CALL.  True on success.  On failure ST says how to answer:
 * an HTTP status with a CIMError header, or (http_status 200) a CIM error,
 * in which case CALL->message_id, ->method and ->intrinsic are set.
 * MAX_LEN bounds the body (0: no bound).  CALL must be freed either way.
 */
bool cimxml_parse(const cimxml_request *req, size_t max_len, cimxml_call *call,
                  cimxml_status *st);
void cimxml_call_free(cimxml_call *call);

/* ---- writing (cimxml_write.c) ------------------------------------------- */

/* "CIM_ERR_NOT_FOUND" for 6; "CIM_ERR_FAILED" for unknown statuses. */
const char *cimxml_status_name(int cim_status);
/* The DSP0200 status a WBEM_E_* code maps to (1 when not in the table). */
int cimxml_cim_status(uint32_t code);

/* TEXT with & < > " ' escaped and unrepresentable bytes replaced. */
void cimxml_escape(strbuf *b, const char *text);

/* XML declaration, CIM, MESSAGE (echoing ID) and SIMPLERSP start tags. */
void cimxml_write_begin(strbuf *b, const char *message_id);
void cimxml_write_end(strbuf *b);
/* IMETHODRESPONSE or METHODRESPONSE start and end tags. */
void cimxml_write_response_begin(strbuf *b, bool intrinsic, const char *method);
void cimxml_write_response_end(strbuf *b, bool intrinsic);
/* <ERROR CODE="n" DESCRIPTION="CIM_ERR_...: message"/> for a WBEM_E_* code. */
void cimxml_write_error(strbuf *b, uint32_t code, const char *message);

void cimxml_write_localnamespacepath(strbuf *b, const char *ns);
/* INSTANCENAME of INST: its key properties in class order. */
void cimxml_write_instancename(strbuf *b, const cim_instance *inst);
/*
 * INSTANCE of INST.  SHOW (NULL: all) selects properties by class index;
 * CLASS_ORIGIN adds CLASSORIGIN attributes.
 */
void cimxml_write_instance(strbuf *b, const cim_instance *inst, const bool *show,
                           bool class_origin);
/*
 * CLASS of C, with the qualifiers (Key, In, and the class's own) when
 * QUALIFIERS; SHOW (NULL: all) selects properties.  Container elements
 * always get an end tag: wbemcli rejects <METHOD .../> (protocols.md 2.2).
 */
void cimxml_write_class(strbuf *b, const cim_class *c, bool qualifiers,
                        bool class_origin, const bool *show);

#endif
