/*
 * test_message.c -- SendMessage's one set of rules (src/backend/message.h):
 * the Title/Message limits and what text passes, the out-of-band options
 * (MessageTimeout, MessageWait) as every front end reads them, and the
 * locale a dialog gets from its session's environment.
 */
#include <stdlib.h>
#include <string.h>

#include "backend/message.h"
#include "check.h"

static char *filled(size_t n, char c)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_limits(void)
{
	rdms_error e = { 0 };
	char *t = filled(RDMS_MESSAGE_MAX_TITLE, 'T'), *m = filled(RDMS_MESSAGE_MAX_TEXT, 'M');
	char *t1 = filled(RDMS_MESSAGE_MAX_TITLE + 1, 'T');
	char *m1 = filled(RDMS_MESSAGE_MAX_TEXT + 1, 'M'), *m5000 = filled(5000, 'M');

	CHECK_EQ(RDMS_MESSAGE_MAX_TITLE, 256);
	CHECK_EQ(RDMS_MESSAGE_MAX_TEXT, 4096);
	CHECK_EQ(rdms_message_check(t, m, &e), 0);
	CHECK_EQ(rdms_message_check(t1, "m", &e), WBEM_E_INVALID_PARAMETER);
	CHECK_STR(e.message, "Title is 257 bytes long; the limit is 256 bytes (UTF-8)");
	CHECK_EQ(rdms_message_check("t", m1, &e), WBEM_E_INVALID_PARAMETER);
	CHECK_STR(e.message, "Message is 4097 bytes long; the limit is 4096 bytes (UTF-8)");
	/* the 5,000-byte message: an error that names the limit */
	CHECK_EQ(rdms_message_check("t", m5000, &e), WBEM_E_INVALID_PARAMETER);
	CHECK_STR(e.message, "Message is 5000 bytes long; the limit is 4096 bytes (UTF-8)");
	CHECK_EQ(rdms_message_check(NULL, "m", &e), WBEM_E_INVALID_PARAMETER);
	CHECK_STR(e.message, "Title is missing");
	CHECK_EQ(rdms_message_check("t", NULL, &e), WBEM_E_INVALID_PARAMETER);
	CHECK_STR(e.message, "Message is missing");
	CHECK_EQ(rdms_message_check("", "", &e), 0);
	free(t);
	free(m);
	free(t1);
	free(m1);
	free(m5000);
}

static void test_text(void)
{
	static const char *const good[] = {
		"\xc3\x84nderungen",                                      /* Änderungen */
		"Wartung \xe2\x80\x93 \xc3\xbcn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9", /* Wartung – ünïcødé */
		"\xe3\x83\xa1\xe3\x83\xb3\xe3\x83\x86\xe3\x83\x8a\xe3\x83\xb3\xe3\x82\xb9", /* メンテナンス */
		"\xf0\x9f\x98\x80",                                       /* U+1F600, 4 bytes */
		"\xf4\x8f\xbf\xbf",                                       /* U+10FFFF, the last */
		"\xc2\xa0",                                               /* U+00A0, after the C1 block */
	};
	static const struct { const char *text; const char *why; } bad[] = {
		{ "a\xc3", "not valid UTF-8 at byte 1" },                 /* cut short */
		{ "\xc0\xaf", "not valid UTF-8 at byte 0" },              /* overlong '/' */
		{ "\xe0\x80\xaf", "not valid UTF-8 at byte 0" },          /* overlong, 3 bytes */
		{ "ab\xed\xa0\x80", "not valid UTF-8 at byte 2" },        /* a surrogate */
		{ "\xf4\x90\x80\x80", "not valid UTF-8 at byte 0" },      /* above U+10FFFF */
		{ "\xff", "not valid UTF-8 at byte 0" },
		{ "x\x1b[2J", "control character at byte 1" },            /* ESC */
		{ "x\x7f", "control character at byte 1" },               /* DEL */
		{ "x\xc2\x85", "control character at byte 1" },           /* NEL (C1) */
		{ "x\xc2\x9b", "control character at byte 1" },           /* CSI (C1) */
	};
	rdms_error e = { 0 };

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		CHECK_EQ(rdms_message_check(good[i], good[i], &e), 0);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_EQ(rdms_message_check("t", bad[i].text, &e), WBEM_E_INVALID_PARAMETER);
		CHECK(strstr(e.message, bad[i].why) != NULL && strncmp(e.message, "Message", 7) == 0);
		CHECK_EQ(rdms_message_check(bad[i].text, "m", &e), WBEM_E_INVALID_PARAMETER);
		CHECK(strncmp(e.message, "Title", 5) == 0);
	}
	/* lines and tabs in a Message, not in a Title */
	CHECK_EQ(rdms_message_check("t", "two\nlines\tand a tab", &e), 0);
	CHECK_EQ(rdms_message_check("a\nb", "m", &e), WBEM_E_INVALID_PARAMETER);
	CHECK_STR(e.message, "Title has a control character at byte 1");
	CHECK_EQ(rdms_message_check("a\tb", "m", &e), WBEM_E_INVALID_PARAMETER);
	CHECK_EQ(rdms_message_check("t", "cr\r", &e), WBEM_E_INVALID_PARAMETER);
}

static void test_options(void)
{
	static const char *const bad_timeouts[] = {
		"0", "86401", "-1", "", " 5", "5 ", "1e3", "0x10", "99999999999999999999", "5s",
	};
	rdms_message_options o = { 0 };
	rdms_error e = { 0 };

	CHECK(!rdms_message_options_given(&o));
	CHECK(!rdms_message_options_given(NULL));
	CHECK_EQ(rdms_message_option(&o, "MessageTimeout", "30", &e), 0);
	CHECK_EQ(o.timeout_s, 30);
	CHECK(rdms_message_options_given(&o));
	CHECK_EQ(rdms_message_option(&o, "messagetimeout", "86400", &e), 0);
	CHECK_EQ(o.timeout_s, 86400);
	CHECK_EQ(rdms_message_option(&o, "MessageTimeout", "1", &e), 0);
	CHECK_EQ(o.timeout_s, 1);
	for (size_t i = 0; i < sizeof bad_timeouts / sizeof bad_timeouts[0]; i++) {
		CHECK_EQ(rdms_message_option(&o, "MessageTimeout", bad_timeouts[i], &e),
		         WBEM_E_INVALID_PARAMETER);
		CHECK(strstr(e.message, "not a number of seconds from 1 to 86400") != NULL);
		CHECK_EQ(o.timeout_s, 1);   /* a bad value changes nothing */
	}
	CHECK_EQ(rdms_message_option(&o, "MessageWait", "true", &e), 0);
	CHECK(o.wait);
	CHECK_EQ(rdms_message_option(&o, "MessageWait", "FALSE", &e), 0);
	CHECK(!o.wait);
	CHECK_EQ(rdms_message_option(&o, "MessageWait", "1", &e), 0);
	CHECK(o.wait);
	CHECK_EQ(rdms_message_option(&o, "MessageWait", "0", &e), 0);
	CHECK(!o.wait);
	CHECK_EQ(rdms_message_option(&o, "MessageWait", "yes", &e), WBEM_E_INVALID_PARAMETER);
	CHECK(strstr(e.message, "not true or false") != NULL);
	/* somebody else's option: not ours to judge */
	CHECK_EQ(rdms_message_option(&o, "__MI_CallbackRegistration", "0", &e), WBEM_E_NOT_FOUND);
}

/* The locale assignments for ENV (a NUL-separated environment of LEN bytes), joined by ' '. */
static const char *locale_of(const char *env, size_t len)
{
	static char joined[512];
	char vars[5][128];
	size_t n = rdms_message_locale(env, len, vars[0], sizeof vars[0], 5);

	joined[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(joined, " ");
		strcat(joined, vars[i]);
	}
	return joined;
}

#define ENV(s) s, sizeof s   /* a literal with its NULs, the last one included */

static void test_locale(void)
{
	/* a UTF-8 session: its own settings */
	CHECK_STR(locale_of(ENV("HOME=/h\0LANG=C.UTF-8\0LANGUAGE=de:en\0")),
	          "LANG=C.UTF-8 LANGUAGE=de:en");
	CHECK_STR(locale_of(ENV("LC_ALL=C.utf8\0LANG=POSIX\0LC_MESSAGES=C\0")),
	          "LC_ALL=C.utf8 LC_MESSAGES=C LANG=POSIX");
	/* not UTF-8, or not a locale of this host: C.UTF-8, the language kept */
	CHECK_STR(locale_of(ENV("LANG=C\0")), "LANG=C.UTF-8");
	CHECK_STR(locale_of(ENV("LC_ALL=POSIX\0LANG=C.UTF-8\0")),
	          "LANG=C.UTF-8 LC_MESSAGES=POSIX");
	CHECK_STR(locale_of(ENV("LANG=xx_YY.UTF-8\0LANGUAGE=xx\0")), "LANG=C.UTF-8 LANGUAGE=xx");
	CHECK_STR(locale_of(ENV("LANG=de_DE.ISO-8859-1\0LC_MESSAGES=de_DE\0")),
	          "LANG=C.UTF-8 LC_MESSAGES=de_DE");
	/* no locale at all (xrdp starts sessions so), or no environ to read */
	CHECK_STR(locale_of(ENV("HOME=/h\0DISPLAY=:10\0")), "LANG=C.UTF-8");
	CHECK_STR(locale_of("", 0), "LANG=C.UTF-8");
	/* an empty value is unset; a cut-off last variable is not read */
	CHECK_STR(locale_of(ENV("LC_ALL=\0LANG=C.UTF-8\0")), "LANG=C.UTF-8");
	CHECK_STR(locale_of("LANG=C\0LANG=C.UTF-8", 19), "LANG=C.UTF-8");
	CHECK_STR(locale_of("LANGUAGE=fr\0LANG=C.UT", 21), "LANG=C.UTF-8 LANGUAGE=fr");
}

int main(void)
{
	test_limits();
	test_text();
	test_options();
	test_locale();
	return check_summary("message");
}
