/*
 * browser_guard.c -- see browser_guard.h.
 */
#include "browser_guard.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../common/strutil.h"

#define SHOWN 120   /* of a request's value, in the reason */

/* True when ORIGIN is SCHEME "://" HOST (ASCII case-insensitive, as hosts are). */
static bool own_origin(const char *origin, const char *scheme, const char *host)
{
	size_t n = strlen(scheme);

	return host != NULL && host[0] != '\0' && strncasecmp(origin, scheme, n) == 0 &&
	       strncmp(origin + n, "://", 3) == 0 && strcasecmp(origin + n + 3, host) == 0;
}

static int refuse(int status, char *why, size_t size, const char *what, const char *value,
                  const char *rule)
{
	char shown[SHOWN];

	str_printable(value, shown, sizeof shown);
	snprintf(why, size, "%s '%s' refused: %s", what, shown, rule);
	return status;
}

/* The endpoint's media types, listed for the reason ("a or b"). */
static void list_types(const char *const *types, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; types[i] != NULL && o < size; i++) {
		int n = snprintf(out + o, size - o, "%s%s", i == 0 ? "" : " or ", types[i]);

		if (n < 0)
			break;
		o += (size_t)n;
	}
}

int browser_guard_check(const browser_request *req, char *why, size_t size)
{
	/* WinRM message encryption's wrapper: decrypted, its own type is checked (http.c) */
	static const char *const sealed[] = { "multipart/encrypted", NULL };
	char types[128], rule[192];

	if (!str_media_type_in(req->content_type, req->media_types) &&
	    !str_media_type_in(req->content_type, sealed)) {
		list_types(req->media_types, types, sizeof types);
		snprintf(rule, sizeof rule, "this endpoint takes %s", types);
		if (req->content_type == NULL) {
			snprintf(why, size, "a request without Content-Type refused: %s", rule);
			return 415;
		}
		return refuse(415, why, size, "Content-Type", req->content_type, rule);
	}
	if (req->origin != NULL) {
		if (req->scheme == NULL)
			return refuse(403, why, size, "Origin", req->origin,
			              "the Unix socket serves no web page");
		if (!own_origin(req->origin, req->scheme, req->host))
			return refuse(403, why, size, "Origin", req->origin,
			              "not this server's own origin (a browser sent it for another page)");
	}
	if (req->sec_fetch_site != NULL && strcasecmp(req->sec_fetch_site, "same-origin") != 0 &&
	    strcasecmp(req->sec_fetch_site, "none") != 0)
		return refuse(403, why, size, "Sec-Fetch-Site", req->sec_fetch_site,
		              "a browser sent it for another page");
	return 0;
}
