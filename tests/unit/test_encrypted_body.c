/*
 * test_encrypted_body.c -- WinRM message encryption's framing
 * (src/transport/encrypted_body.h): what is written is what clients check
 * byte for byte, and what is read is found by its lengths; every framing
 * error is refused with its reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/transport/encrypted_body.h"
#include "check.h"

#define CT ENCBODY_CONTENT_TYPE

/* A body as a client frames it: SIG bytes of signature, then CIPHER of PLAIN_LEN bytes. */
static size_t frame(char *out, size_t size, const char *boundary_open, const char *type,
                    size_t length, uint32_t sig, const char *payload, size_t payload_len,
                    const char *closing)
{
	int n = snprintf(out, size,
	                 "%s\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
	                 "\tOriginalContent: type=%s;Length=%zu\r\n"
	                 "%s\r\n\tContent-Type: application/octet-stream\r\n",
	                 boundary_open, type, length, boundary_open);
	size_t o = (size_t)n;

	memcpy(out + o, &sig, 4);   /* little-endian on this machine */
	o += 4;
	memcpy(out + o, payload, payload_len);
	o += payload_len;
	memcpy(out + o, closing, strlen(closing));
	return o + strlen(closing);
}

static bool parse(const char *ct, const char *body, size_t len, encbody *eb, char *why)
{
	return encbody_parse(ct, body, len, eb, why, 200);
}

static void test_build_layout(void)
{
	strbuf b = { 0 };
	static const char expect_head[] =
		"--Encrypted Boundary\r\n"
		"\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
		"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=5\r\n"
		"--Encrypted Boundary\r\n"
		"\tContent-Type: application/octet-stream\r\n"
		"\x10\0\0\0";
	char wrapped[21];
	encbody eb;
	char why[200];

	memset(wrapped, 'S', 16);
	memcpy(wrapped + 16, "hello", 5);
	encbody_build(&b, "application/soap+xml;charset=UTF-8", 5, wrapped, sizeof wrapped, 16);
	CHECK(!b.failed);
	CHECK(b.len == sizeof expect_head - 1 + 21 + strlen("--Encrypted Boundary--\r\n"));
	CHECK(memcmp(b.data, expect_head, sizeof expect_head - 1) == 0);
	CHECK(memcmp(b.data + b.len - 24, "--Encrypted Boundary--\r\n", 24) == 0);
	/* the tabs, no space after "--", no CRLF before the closing boundary */
	CHECK(memcmp(b.data + sizeof expect_head - 1 + 21, "--Encrypted", 11) == 0);
	/* what is written reads back */
	CHECK(parse(CT, b.data, b.len, &eb, why));
	CHECK_EQ(eb.length, 5);
	CHECK_EQ(eb.sig_len, 16);
	CHECK_EQ(eb.wrapped_len, 21);
	CHECK(eb.wrapped == (const uint8_t *)b.data + sizeof expect_head - 1);
	CHECK_STR(eb.type, "application/soap+xml;charset=UTF-8");
	strbuf_free(&b);
}

static void test_read_variants(void)
{
	char body[1024], why[200], payload[64];
	encbody eb;
	size_t n;

	/* the ciphertext holds the boundary itself: found by lengths, not by scanning */
	memset(payload, 'x', 16);
	memcpy(payload + 16, "--Encrypted Boundary--\r\n", 24);
	n = frame(body, sizeof body, "--Encrypted Boundary", "application/soap+xml;charset=UTF-16",
	          24, 16, payload, 40, "--Encrypted Boundary--\r\n");
	CHECK(parse(CT, body, n, &eb, why));
	CHECK_EQ(eb.length, 24);
	CHECK_STR(eb.type, "application/soap+xml;charset=UTF-16");
	/* MS-WSMV's example: "-- Encrypted Boundary" with a space; no final CRLF */
	n = frame(body, sizeof body, "-- Encrypted Boundary", "application/soap+xml", 3, 16,
	          "SSSSSSSSSSSSSSSSabc", 19, "-- Encrypted Boundary--");
	CHECK(parse(CT, body, n, &eb, why));
	CHECK_STR(eb.type, "application/soap+xml");
	/* parameters in another order, other case, unquoted where a token does */
	CHECK(parse("Multipart/Encrypted; boundary=\"Encrypted Boundary\"; "
	            "protocol=application/HTTP-SPNEGO-session-encrypted", body, n, &eb, why));
	/* another boundary, as the Content-Type names it */
	n = frame(body, sizeof body, "--b1", "application/soap+xml", 3, 16,
	          "SSSSSSSSSSSSSSSSabc", 19, "--b1--\r\n");
	CHECK(parse("multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";"
	            "boundary=b1", body, n, &eb, why));
	CHECK(encbody_is_encrypted("multipart/encrypted;boundary=x"));
	CHECK(!encbody_is_encrypted("application/soap+xml"));
	CHECK(!encbody_is_encrypted(NULL));
}

/* Each malformed body: refused, with WANT in its reason. */
static void refused(const char *name, const char *ct, const char *body, size_t n,
                    const char *want)
{
	char why[200] = "";
	encbody eb;
	bool ok = parse(ct, body, n, &eb, why);

	CHECK(!ok);
	if (ok || strstr(why, want) == NULL)
		fprintf(stderr, "  %s: '%s' (wanted '%s')\n", name, why, want);
	else
		CHECK(1);
}

static void test_refusals(void)
{
	char body[1024], big[64];
	size_t n;

	n = frame(body, sizeof body, "--Encrypted Boundary", "application/soap+xml", 3, 16,
	          "SSSSSSSSSSSSSSSSabc", 19, "--Encrypted Boundary--\r\n");
	refused("no protocol", "multipart/encrypted;boundary=\"Encrypted Boundary\"", body, n,
	        "without protocol");
	refused("other protocol", "multipart/encrypted;protocol=\"application/x\";"
	        "boundary=\"Encrypted Boundary\"", body, n, "without protocol");
	refused("no boundary", "multipart/encrypted;protocol=\"" ENCBODY_PROTOCOL "\"", body, n,
	        "without a boundary");
	refused("unterminated quote", "multipart/encrypted;protocol=\"" ENCBODY_PROTOCOL
	        "\";boundary=\"Encrypted", body, n, "without a boundary");
	refused("not multipart", "application/soap+xml", body, n, "not multipart/encrypted");
	refused("another boundary", "multipart/encrypted;protocol=\"" ENCBODY_PROTOCOL
	        "\";boundary=zz", body, n, "does not begin with its boundary");
	/* lengths that lie */
	n = frame(body, sizeof body, "--Encrypted Boundary", "application/soap+xml", 20, 16,
	          "SSSSSSSSSSSSSSSSabc", 19, "--Encrypted Boundary--\r\n");
	refused("Length too long", CT, body, n, "no closing boundary");
	n = frame(body, sizeof body, "--Encrypted Boundary", "application/soap+xml", 900, 16,
	          "SSSSSSSSSSSSSSSSabc", 19, "--Encrypted Boundary--\r\n");
	refused("Length past the body", CT, body, n, "more than the body holds");
	n = frame(body, sizeof body, "--Encrypted Boundary", "application/soap+xml", 100, 16,
	          "SSSSSSSSSSSSSSSSabc", 19, "--Encrypted Boundary--\r\n");
	refused("Length past the part", CT, body, n, "shorter");
	n = frame(body, sizeof body, "--Encrypted Boundary", "application/soap+xml", 2, 16,
	          "SSSSSSSSSSSSSSSSabc", 19, "--Encrypted Boundary--\r\n");
	refused("Length too short", CT, body, n, "no closing boundary");
	n = frame(body, sizeof body, "--Encrypted Boundary", "application/soap+xml", 3, 0xffffffffu,
	          "SSSSSSSSSSSSSSSSabc", 19, "--Encrypted Boundary--\r\n");
	refused("huge signature length", CT, body, n, "out of range");
	n = frame(body, sizeof body, "--Encrypted Boundary", "application/soap+xml", 3, 0,
	          "SSSSSSSSSSSSSSSSabc", 19, "--Encrypted Boundary--\r\n");
	refused("no signature", CT, body, n, "out of range");
	n = frame(body, sizeof body, "--Encrypted Boundary", "application/soap+xml", 3, 16,
	          "SSSSSSSSSSSSSSSSabc", 19, "--Encrypted Boundary--\r\nmore");
	refused("trailing bytes", CT, body, n, "after the closing boundary");
	n = frame(body, sizeof body, "--Encrypted Boundary", "application/soap+xml", 3, 16,
	          "SSSSSSSSSSSSSSSSabc", 19, "");
	refused("no closing boundary", CT, body, n, "no closing boundary");
	refused("cut in the length word", CT, body,
	        (size_t)(strstr(body, "octet-stream\r\n") - body) + 16, "cut short");
	n = frame(body, sizeof body, "--Encrypted Boundary", "application/soap+xml", 3, 16,
	          "SSSSSSSSSSSSSSSSabc", 19, "--Encrypted Boundary--\r\n");
	/* OriginalContent that is not a number, or missing */
	{
		char b2[1024];
		size_t m = n;
		char *at;

		memcpy(b2, body, n);
		at = memmem(b2, m, "Length=3", 8);
		at[7] = 'x';
		refused("Length not a number", CT, b2, m, "no number");
		memcpy(b2, body, n);
		at = memmem(b2, m, "OriginalContent", 15);
		memcpy(at, "OriginalContenX", 15);
		refused("no OriginalContent", CT, b2, m, "lacks its OriginalContent");
		memcpy(b2, body, n);
		at = memmem(b2, m, "HTTP-SPNEGO", 11);
		memcpy(at, "HTTP-XPNEGO", 11);
		refused("first part of another type", CT, b2, m, "the first part is");
		memcpy(b2, body, n);
		at = memmem(b2, m, "octet-stream", 12);
		memcpy(at, "octet-strean", 12);
		refused("second part of another type", CT, b2, m, "not application/octet-stream");
		memcpy(b2, body, n);
		at = memmem(b2, m, "Content-Type: application/HTTP", 30);
		at[12] = ' ';   /* "Content-Type " with no colon */
		refused("a header without a colon", CT, b2, m, "not 'Name: value'");
	}
	/* a header line that never ends */
	memset(big, 'A', sizeof big);
	n = (size_t)snprintf(body, sizeof body, "--Encrypted Boundary\r\n\t%.*s", 60, big);
	refused("unterminated header line", CT, body, n, "unterminated");
	refused("empty body", CT, "", 0, "does not begin");
}

int main(void)
{
	test_build_layout();
	test_read_variants();
	test_refusals();
	return check_summary("encrypted_body");
}
