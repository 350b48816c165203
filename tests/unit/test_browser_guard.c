/*
 * test_browser_guard.c -- what the transport refuses as a browser's forgery
 * (src/transport/browser_guard.c): a table of Content-Types and Origins, and
 * the Content-Type of every captured real client (the .req files of tests/captures),
 * which must pass.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "../../src/cimxml/cimxml.h"
#include "../../src/transport/browser_guard.h"
#include "../../src/wsman/wsman.h"
#include "check.h"

#define SOAP "application/soap+xml;charset=UTF-8"
#define CIM  "application/xml; charset=\"utf-8\""

#define WSMAN  wsman_media_types
#define CIMXML cimxml_media_types

struct type_case {
	const char *const *types;
	const char *content_type;
	int want;
};

static const struct type_case type_cases[] = {
	/* what the real clients send (protocols.md, tests/captures) */
	{ WSMAN, "application/soap+xml;charset=UTF-8", 0 },    /* pywinrm, rdms, WinRM */
	{ WSMAN, "application/soap+xml;charset=utf-8", 0 },    /* wsl (curl) */
	{ WSMAN, "application/soap+xml", 0 },
	{ WSMAN, "Application/SOAP+XML; charset=UTF-8", 0 },
	{ WSMAN, "  application/soap+xml ;charset=UTF-8", 0 },
	{ WSMAN, "text/xml; charset=utf-8", 0 },               /* OMI takes it too */
	{ CIMXML, "application/xml; charset=\"utf-8\"", 0 },   /* wbemcli, pywbem */
	{ CIMXML, "application/xml", 0 },
	{ CIMXML, "text/xml; charset=utf-8", 0 },
	{ CIMXML, "TEXT/XML", 0 },
	/* what an HTML form or a simple fetch() sends */
	{ WSMAN, "text/plain", 415 },
	{ WSMAN, "text/plain;charset=UTF-8", 415 },
	{ WSMAN, "application/x-www-form-urlencoded", 415 },
	{ WSMAN, "multipart/form-data; boundary=----x", 415 },
	{ CIMXML, "text/plain", 415 },
	{ CIMXML, "application/x-www-form-urlencoded", 415 },
	{ CIMXML, "multipart/form-data; boundary=----x", 415 },
	/* no type at all: a fetch() of a Blob without one */
	{ WSMAN, NULL, 415 },
	{ CIMXML, NULL, 415 },
	{ WSMAN, "", 415 },
	{ WSMAN, " ", 415 },
	/* the other protocol's type, and near misses */
	{ WSMAN, "application/xml", 415 },
	{ CIMXML, SOAP, 415 },
	{ WSMAN, "application/soap+xmlx", 415 },
	{ WSMAN, "application/soap", 415 },
	{ WSMAN, "application/soap+xml garbage", 415 },
	{ WSMAN, "xapplication/soap+xml", 415 },
	{ CIMXML, "text/xml/x", 415 },
	/* WinRM message encryption: let through to be decrypted (no form or simple
	 * fetch() can send it); what it holds is checked once decrypted (http.c) */
	{ WSMAN, "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";"
	         "boundary=\"Encrypted Boundary\"", 0 },
	{ CIMXML, "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";"
	          "boundary=\"Encrypted Boundary\"", 0 },
	{ WSMAN, "multipart/encryptedx", 415 },
};

struct origin_case {
	const char *scheme;           /* NULL: the Unix socket */
	const char *host;
	const char *origin;
	const char *sec_fetch_site;
	int want;
};

static const struct origin_case origin_cases[] = {
	/* no Origin: every management client */
	{ "http", "127.0.0.1:5985", NULL, NULL, 0 },
	{ "https", "h1.example.com:5986", NULL, NULL, 0 },
	{ NULL, "localhost", NULL, NULL, 0 },
	{ "http", NULL, NULL, NULL, 0 },                        /* HTTP/1.0, no Host */
	/* this server's own origin, as a browser writes it */
	{ "http", "127.0.0.1:5985", "http://127.0.0.1:5985", NULL, 0 },
	{ "https", "h1.example.com:5986", "https://h1.example.com:5986", "same-origin", 0 },
	{ "https", "H1.Example.COM:5986", "HTTPS://h1.example.com:5986", NULL, 0 },
	{ "http", "[::1]:5985", "http://[::1]:5985", NULL, 0 },
	/* another page's */
	{ "http", "127.0.0.1:5985", "http://evil.example", NULL, 403 },
	{ "http", "127.0.0.1:5985", "null", NULL, 403 },
	{ "http", "127.0.0.1:5985", "", NULL, 403 },
	{ "http", "localhost:5985", "http://localhost:8080", NULL, 403 },   /* another port */
	{ "http", "localhost:5985", "https://localhost:5985", NULL, 403 },  /* another scheme */
	{ "https", "localhost:5986", "http://localhost:5986", NULL, 403 },
	{ "http", "localhost:5985", "http://localhost:5985.evil.example", NULL, 403 },
	{ "http", "localhost:5985", "http://localhost:598", NULL, 403 },
	{ "http", "localhost:5985", "http://localhost:5985/", NULL, 403 },
	{ "http", "localhost:5985", "http:/localhost:5985", NULL, 403 },
	{ "http", "localhost:5985", "http", NULL, 403 },
	{ "http", NULL, "http://localhost:5985", NULL, 403 },   /* no Host to be equal to */
	{ "http", "", "http://", NULL, 403 },
	/* the Unix socket is no web origin */
	{ NULL, "localhost", "http://localhost", NULL, 403 },
	{ NULL, "localhost", "null", NULL, 403 },
	/* Sec-Fetch-Site, the browser's own word */
	{ "http", "127.0.0.1:5985", NULL, "cross-site", 403 },
	{ "http", "127.0.0.1:5985", NULL, "same-site", 403 },   /* another port of this host */
	{ "http", "127.0.0.1:5985", NULL, "Cross-Site", 403 },
	{ "http", "127.0.0.1:5985", NULL, "same-origin", 0 },
	{ "http", "127.0.0.1:5985", NULL, "none", 0 },
	{ "http", "127.0.0.1:5985", "http://127.0.0.1:5985", "cross-site", 403 },
	{ NULL, "localhost", NULL, "cross-site", 403 },
};

static void test_types(void)
{
	char why[BROWSER_GUARD_WHY];

	for (size_t i = 0; i < sizeof type_cases / sizeof type_cases[0]; i++) {
		const struct type_case *c = &type_cases[i];
		browser_request r = { .media_types = c->types, .content_type = c->content_type,
		                      .host = "localhost:5985", .scheme = "http" };
		int got = browser_guard_check(&r, why, sizeof why);

		if (got != c->want)
			fprintf(stderr, "type case %zu: '%s' -> %d (%s)\n", i,
			        c->content_type ? c->content_type : "(none)", got, why);
		CHECK_EQ(got, c->want);
		if (got != 0)   /* the reason names what the endpoint takes */
			CHECK(strstr(why, c->types[0]) != NULL);
	}
}

static void test_origins(void)
{
	char why[BROWSER_GUARD_WHY];

	for (size_t i = 0; i < sizeof origin_cases / sizeof origin_cases[0]; i++) {
		const struct origin_case *c = &origin_cases[i];
		browser_request r = { .media_types = WSMAN, .content_type = SOAP,
		                      .origin = c->origin, .sec_fetch_site = c->sec_fetch_site,
		                      .host = c->host, .scheme = c->scheme };
		int got = browser_guard_check(&r, why, sizeof why);

		if (got != c->want)
			fprintf(stderr, "origin case %zu: %s -> %d (%s)\n", i,
			        c->origin ? c->origin : "(none)", got, why);
		CHECK_EQ(got, c->want);
		if (got != 0)
			CHECK(strstr(why, "Origin '") != NULL || strstr(why, "Sec-Fetch-Site '") != NULL);
	}
}

/* The type is judged first; the reason shows hostile values printable, and fits. */
static void test_reasons(void)
{
	char why[BROWSER_GUARD_WHY], small[24];
	char long_origin[2048];
	browser_request r = { .media_types = CIMXML, .content_type = "text/plain",
	                      .origin = "http://evil.example", .host = "localhost:5988",
	                      .scheme = "http" };

	CHECK_EQ(browser_guard_check(&r, why, sizeof why), 415);
	CHECK_STR(why, "Content-Type 'text/plain' refused: this endpoint takes application/xml "
	               "or text/xml");
	r.content_type = NULL;
	CHECK_EQ(browser_guard_check(&r, why, sizeof why), 415);
	CHECK(strstr(why, "without Content-Type") != NULL);
	r.content_type = CIM;
	CHECK_EQ(browser_guard_check(&r, why, sizeof why), 403);
	CHECK(strstr(why, "'http://evil.example'") != NULL);
	r.origin = "http://e\x01vil\n'x\xc3\xa9";
	CHECK_EQ(browser_guard_check(&r, why, sizeof why), 403);
	CHECK(strstr(why, "http://e\\x01vil\\x0a\\x27x\\xc3\\xa9") != NULL);
	CHECK(strchr(why, '\n') == NULL && strchr(why, '\x01') == NULL);
	memset(long_origin, 'a', sizeof long_origin - 1);
	long_origin[sizeof long_origin - 1] = '\0';
	r.origin = long_origin;
	CHECK_EQ(browser_guard_check(&r, why, sizeof why), 403);
	CHECK(strlen(why) < sizeof why);
	CHECK_EQ(browser_guard_check(&r, small, sizeof small), 403);
	CHECK(strlen(small) == sizeof small - 1);
}

/* Every captured real client's Content-Type passes its endpoint's guard. */
static void test_captures(void)
{
	const char *dir = SOURCE_ROOT "/tests/captures";
	DIR *d = opendir(dir);
	struct dirent *e;
	int seen = 0;

	CHECK(d != NULL);
	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[1024], line[512], why[BROWSER_GUARD_WHY];
		const char *ct = NULL;
		size_t n = strlen(e->d_name);
		FILE *f;

		if (n < 4 || strcmp(e->d_name + n - 4, ".req") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		f = fopen(path, "r");
		CHECK(f != NULL);
		if (f == NULL)
			continue;
		while (fgets(line, sizeof line, f) != NULL && line[0] != '\r' && line[0] != '\n')
			if (strncasecmp(line, "Content-Type:", 13) == 0) {
				line[strcspn(line, "\r\n")] = '\0';
				ct = line + 13;
				break;
			}
		fclose(f);
		browser_request r = { .media_types = strncmp(e->d_name, "wbemcli", 7) == 0 ? CIMXML
		                                                                           : WSMAN,
		                      .content_type = ct, .host = "127.0.0.1:5985", .scheme = "http" };
		if (browser_guard_check(&r, why, sizeof why) != 0)
			fprintf(stderr, "%s: %s\n", e->d_name, why);
		CHECK(ct != NULL && browser_guard_check(&r, why, sizeof why) == 0);
		seen++;
	}
	if (d != NULL)
		closedir(d);
	CHECK(seen >= 10);   /* wsl, pywinrm and wbemcli */
}

int main(void)
{
	test_types();
	test_origins();
	test_reasons();
	test_captures();
	return check_summary("browser_guard");
}
