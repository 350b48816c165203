/*
 * browser_guard.h -- refuses the requests a web page can make a browser
 * send, before authentication and before anything acts.
 *
 * A browser that holds Basic credentials for rdmsd's origin (someone once
 * typed them into its prompt) attaches them to every later request to that
 * origin, also one a hostile page triggers: an HTML form posted with
 * enctype text/plain whose body is a SOAP Logoff, or a "simple" fetch().
 * Such requests are told apart by what a page cannot change:
 *   - their Content-Type: a form sends only
 *     application/x-www-form-urlencoded, multipart/form-data or text/plain,
 *     and a cross-origin fetch() any other type only after a CORS preflight
 *     rdmsd never approves.  So each endpoint names the media types of its
 *     protocol (WS-Man: application/soap+xml, text/xml; CIM-XML:
 *     application/xml, text/xml) and a request of another type, or of none,
 *     is refused with 415.  Parameters (charset) are the protocol's to judge.
 *     multipart/encrypted (WinRM message encryption) is let through to be
 *     decrypted, which only a Negotiate login's keys can do; the type of
 *     what it holds is then checked the same way (http.c: unseal()).
 *   - their Origin: browsers send it with every POST, and no management
 *     client does.  A request without one is served; one whose Origin is
 *     not rdmsd's own origin -- the listener's scheme, "://" and the Host
 *     the request was sent to, as a browser writes it -- is refused with
 *     403, "null" (sandboxed frames, file: pages) included.  The Unix
 *     socket is no web origin: any Origin there is refused.
 *   - Sec-Fetch-Site: a browser's own word; anything but same-origin or
 *     none (cross-site, and same-site: another port of the same host is
 *     same-site) is refused with 403.
 */
#ifndef RDMS_TRANSPORT_BROWSER_GUARD_H
#define RDMS_TRANSPORT_BROWSER_GUARD_H

#include <stddef.h>

/* What the guard looks at: header values, NULL when absent. */
typedef struct browser_request {
	const char *const *media_types;  /* the endpoint's, NULL-terminated */
	const char *content_type;
	const char *origin;
	const char *sec_fetch_site;
	const char *host;
	const char *scheme;              /* "http" or "https"; NULL: the Unix socket */
} browser_request;

#define BROWSER_GUARD_WHY 320   /* room for the reason */

/*
 * 0 when REQ may go on; otherwise the HTTP status to refuse it with (415:
 * its Content-Type, 403: its Origin or Sec-Fetch-Site) and, in WHY (SIZE
 * bytes), the reason for the log and the reply, the request's own values
 * made printable.
 */
int browser_guard_check(const browser_request *req, char *why, size_t size);

#endif
