/*
 * test_body_charset.c -- UTF-16 request bodies to UTF-8
 * (src/transport/body_charset.h): little- and big-endian, with and
 * without a byte order mark, an XML declaration naming UTF-16 dropped,
 * characters outside the BMP; bad UTF-16 refused with the reason.
 */
#include <stdio.h>
#include <string.h>

#include "../../src/transport/body_charset.h"
#include "check.h"

/* TEXT (ASCII or UTF-8) as UTF-16 into B: LE or BE, with a BOM or not. */
static void utf16(strbuf *b, const char *text, bool le, bool bom)
{
	const unsigned char *t = (const unsigned char *)text;

	b->len = 0;
	if (bom)
		strbuf_append(b, le ? "\xFF\xFE" : "\xFE\xFF", 2);
	while (*t != '\0') {
		unsigned cp;
		char u[4];

		if (*t < 0x80) {
			cp = *t++;
		} else if ((*t & 0xE0) == 0xC0) {
			cp = (unsigned)(t[0] & 0x1F) << 6 | (t[1] & 0x3F);
			t += 2;
		} else if ((*t & 0xF0) == 0xE0) {
			cp = (unsigned)(t[0] & 0x0F) << 12 | (unsigned)(t[1] & 0x3F) << 6 | (t[2] & 0x3F);
			t += 3;
		} else {
			cp = (unsigned)(t[0] & 0x07) << 18 | (unsigned)(t[1] & 0x3F) << 12 |
			     (unsigned)(t[2] & 0x3F) << 6 | (t[3] & 0x3F);
			t += 4;
		}
		if (cp >= 0x10000) {   /* a surrogate pair */
			unsigned hi = 0xD800 + ((cp - 0x10000) >> 10), lo = 0xDC00 + ((cp - 0x10000) & 0x3FF);

			u[0] = (char)(le ? hi & 0xFF : hi >> 8);
			u[1] = (char)(le ? hi >> 8 : hi & 0xFF);
			u[2] = (char)(le ? lo & 0xFF : lo >> 8);
			u[3] = (char)(le ? lo >> 8 : lo & 0xFF);
			strbuf_append(b, u, 4);
		} else {
			u[0] = (char)(le ? cp & 0xFF : cp >> 8);
			u[1] = (char)(le ? cp >> 8 : cp & 0xFF);
			strbuf_append(b, u, 2);
		}
	}
}

static void test_convert(void)
{
	static const char env[] = "<s:Envelope>Wörter € 😀</s:Envelope>";
	strbuf b = { 0 };
	char type[128], why[160];

	for (int le = 0; le < 2; le++)
		for (int bom = 0; bom < 2; bom++) {
			utf16(&b, env, le, bom);
			CHECK_EQ(body_to_utf8("application/soap+xml;charset=UTF-16", &b, type, sizeof type,
			                      why, sizeof why), BODY_CONVERTED);
			CHECK_EQ(b.len, strlen(env));
			CHECK(b.data != NULL && strcmp(b.data, env) == 0);
			CHECK_STR(type, "application/soap+xml;charset=UTF-8");
		}
	/* the named byte orders, and a BOM with no charset at all */
	utf16(&b, env, true, false);
	CHECK_EQ(body_to_utf8("application/soap+xml; charset=\"utf-16le\"", &b, type, sizeof type,
	                      why, sizeof why), BODY_CONVERTED);
	CHECK(strcmp(b.data, env) == 0);
	utf16(&b, env, false, false);
	CHECK_EQ(body_to_utf8("text/xml;charset=UTF-16BE", &b, type, sizeof type, why, sizeof why),
	         BODY_CONVERTED);
	CHECK(strcmp(b.data, env) == 0);
	CHECK_STR(type, "text/xml;charset=UTF-8");
	utf16(&b, env, true, true);
	CHECK_EQ(body_to_utf8("application/soap+xml", &b, type, sizeof type, why, sizeof why),
	         BODY_CONVERTED);
	CHECK(strcmp(b.data, env) == 0);
	/* an XML declaration that names UTF-16 goes with the conversion */
	utf16(&b, "<?xml version=\"1.0\" encoding=\"utf-16\"?><a/>", true, true);
	CHECK_EQ(body_to_utf8("application/soap+xml;charset=UTF-16", &b, type, sizeof type, why,
	                      sizeof why), BODY_CONVERTED);
	CHECK_STR(b.data, "<a/>");
	/* UTF-8 is left alone */
	b.len = 0;
	strbuf_puts(&b, env);
	CHECK_EQ(body_to_utf8("application/soap+xml;charset=UTF-8", &b, type, sizeof type, why,
	                      sizeof why), BODY_UTF8);
	CHECK_EQ(body_to_utf8(NULL, &b, type, sizeof type, why, sizeof why), BODY_UTF8);
	CHECK(strcmp(b.data, env) == 0);
	strbuf_free(&b);
}

static void test_refused(void)
{
	strbuf b = { 0 };
	char type[128], why[160];

	utf16(&b, "<a/>", true, false);
	b.len--;   /* an odd byte count */
	CHECK_EQ(body_to_utf8("text/xml;charset=UTF-16", &b, type, sizeof type, why, sizeof why),
	         BODY_REFUSED);
	CHECK(strstr(why, "odd number") != NULL);
	/* a lone high surrogate */
	b.len = 0;
	strbuf_append(&b, "<\0\x00\xD8" "a\0", 6);
	CHECK_EQ(body_to_utf8("text/xml;charset=UTF-16LE", &b, type, sizeof type, why, sizeof why),
	         BODY_REFUSED);
	CHECK(strstr(why, "not valid UTF-16") != NULL);
	strbuf_free(&b);
}

int main(void)
{
	test_convert();
	test_refused();
	return check_summary("body_charset");
}
