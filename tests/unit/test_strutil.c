/*
 * test_strutil.c -- strbuf growth (small, and past the size where a buffer
 * moves to huge-page-aligned memory), strbuf_expect, the fixed-layout
 * digit readers, str_join and write_all.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/cim/wbem.h"
#include "../../src/common/log.h"
#include "../../src/common/strbuf_raw.h"
#include "../../src/common/strutil.h"
#include "../../src/common/utf8.h"
#include "../../src/common/utf8.h"
#include "../../src/common/write_all.h"
#include "check.h"

#define MiB ((size_t)1 << 20)

/* Appends "0123456789" until B holds at least N bytes; false on failure. */
static bool fill(strbuf *b, size_t n)
{
	while (b->len < n && !b->failed)
		strbuf_append(b, "0123456789", 10);
	return !b->failed;
}

/* Every byte of B is the digit pattern fill() wrote. */
static bool pattern_intact(const strbuf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] != (char)('0' + i % 10))
			return false;
	return b->data[b->len] == '\0';
}

static void test_small_growth(void)
{
	strbuf b = { 0 };

	strbuf_puts(&b, "abc");
	strbuf_printf(&b, "-%d-", 42);
	CHECK_STR(b.data, "abc-42-");
	CHECK_EQ(b.len, 7);
	CHECK(b.cap >= 8 && b.cap < MiB);
	char *s = strbuf_take(&b);
	CHECK_STR(s, "abc-42-");
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
	free(s);
}

/* Growing across the big-buffer size keeps the text; the big buffer is in
 * whole, aligned huge pages, and free() takes it. */
static void test_big_growth(void)
{
	strbuf b = { 0 };

	CHECK(fill(&b, 5 * MiB + 7));
	CHECK(pattern_intact(&b));
	CHECK_EQ((uintptr_t)b.data % (2 * MiB), 0);
	CHECK_EQ(b.cap % (2 * MiB), 0);
	CHECK(b.cap > b.len);
	strbuf_free(&b);
	CHECK(b.data == NULL && !b.failed);
}

/* strbuf_expect reserves the whole expected reply at once; writes through
 * strbuf_room then need no growth, and the text before stays. */
static void test_expect(void)
{
	strbuf b = { 0 };

	CHECK(fill(&b, 1000));
	strbuf_expect(&b, 600, 10000, SIZE_MAX);
	CHECK(b.cap >= b.len + 600 * 10000);
	CHECK_EQ((uintptr_t)b.data % (2 * MiB), 0);
	CHECK(pattern_intact(&b));
	char *before = b.data;
	CHECK(fill(&b, 6 * MiB));
	CHECK(b.data == before);        /* no move: the room was there */
	CHECK(pattern_intact(&b));

	/* The LIMIT caps the hint. */
	strbuf c = { 0 };
	strbuf_puts(&c, "x");
	strbuf_expect(&c, 600, 10000, 4096);
	CHECK(c.cap < MiB);
	CHECK(c.cap >= 4096);
	strbuf_free(&c);

	/* A hint that would overflow is ignored, not a failure. */
	strbuf_expect(&b, SIZE_MAX / 2, 10, SIZE_MAX);
	CHECK(!b.failed);

	char *raw = strbuf_room(&b, 3);
	CHECK(raw != NULL);
	if (raw != NULL) {
		size_t len = b.len;
		*raw++ = '0' + len % 10;
		*raw++ = '0' + (len + 1) % 10;
		strbuf_done(&b, raw);
	}
	CHECK(pattern_intact(&b));
	char *s = strbuf_take(&b);
	CHECK(s != NULL);
	free(s);
}

/* A reservation doubling cannot reach fails the buffer, which stays failed. */
static void test_failure(void)
{
	strbuf b = { 0 };

	strbuf_puts(&b, "ok");
	CHECK(!strbuf_reserve(&b, SIZE_MAX - 4));
	CHECK(b.failed);
	strbuf_puts(&b, "more");
	CHECK_EQ(b.len, 2);
	CHECK(strbuf_take(&b) == NULL);
	CHECK(b.data == NULL && !b.failed);
}

/* An exact reservation is that size, not the next power of two; appends within it do not move it. */
static void test_reserve_exact(void)
{
	strbuf b = { 0 };
	const char *at;

	CHECK(strbuf_reserve_exact(&b, 1200));
	CHECK_EQ(b.cap, 1201);
	at = b.data;
	for (int i = 0; i < 100; i++)
		strbuf_puts(&b, "twelve bytes");
	CHECK_EQ(b.len, 1200);
	CHECK(b.data == at && b.cap == 1201);
	CHECK(strbuf_reserve_exact(&b, 0));          /* the room is there */
	CHECK(b.cap == 1201);
	strbuf_puts(&b, "x");                        /* past it: doubling again */
	CHECK(b.len == 1201 && b.cap > 1202);
	CHECK(!strbuf_reserve_exact(&b, SIZE_MAX - 4));
	CHECK(b.failed);
	strbuf_free(&b);
}

static void test_digits_and_join(void)
{
	const char *p = "2026-12-05x";
	int y = 0, m = 0, d = 0;
	char buf[8];

	CHECK(str_take_digits(&p, 4, &y) && str_take_char(&p, '-'));
	CHECK(str_take_digits(&p, 2, &m) && str_take_char(&p, '-'));
	CHECK(str_take_digits(&p, 2, &d));
	CHECK(y == 2026 && m == 12 && d == 5);
	CHECK(!str_take_char(&p, '-'));
	CHECK(!str_take_digits(&p, 1, &d));          /* 'x' */
	p = "12";
	CHECK(!str_take_digits(&p, 3, &d));          /* stops at the NUL */
	CHECK_STR(str_join(buf, sizeof buf, "key ", "Id"), "key Id");
	CHECK_STR(str_join(buf, sizeof buf, "key ", "SessionId"), "key Ses");
	CHECK(!str_copy(buf, sizeof buf, "longer than eight"));
	CHECK_STR(buf, "longer ");
	CHECK(str_ieq("SessionId", "SESSIONID"));
}

/* A header value: readable where it can be, percent-encoded where it must be. */
static void test_header_value(void)
{
	static const char *const cases[][2] = {
		{ "session 3 is not connected", "session 3 is not connected" },
		{ "Wartung \xE2\x80\x93 \xC3\xBCn", "Wartung %E2%80%93 %C3%BCn" },   /* UTF-8 */
		{ "100% sure", "100%25 sure" },
		{ "two\r\nlines\tand\x7F", "two%0D%0Alines%09and%7F" },
		{ " edges ", "%20edges%20" },
		{ " ", "%20" },
		{ "", "" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		strbuf b = { 0 };

		strbuf_puts(&b, "");
		strbuf_put_header_value(&b, cases[i][0]);
		CHECK_STR(b.data, cases[i][1]);
		strbuf_free(&b);
	}
}

/* key = value lines (x2go's sql file, xrdp's ini) */
static void test_after_key(void)
{
	char a[] = "  LogFile = /var/log/x.log", b[] = "logfile=y", c[] = "LogFileX = z",
	     d[] = "LogFile y", e[] = "# LogFile = z", f[] = "backend=  ";

	CHECK_STR(str_after_key(a, "LogFile"), "/var/log/x.log");
	CHECK_STR(str_after_key(b, "LogFile"), "y");
	CHECK(str_after_key(c, "LogFile") == NULL);
	CHECK(str_after_key(d, "LogFile") == NULL);
	CHECK(str_after_key(e, "LogFile") == NULL);
	CHECK_STR(str_after_key(f, "backend"), "");
}

static size_t seq(const char *s)
{
	return utf8_seq_len((const unsigned char *)s);
}

static size_t xml(const char *s)
{
	return utf8_xml_len((const unsigned char *)s);
}

/* The one UTF-8 check: every boundary of Unicode's table of well-formed sequences. */
static void test_utf8(void)
{
	char u32[12];

	CHECK(seq("a") == 1 && seq("\x7F") == 1);
	CHECK(seq("\xC2\x80") == 2 && seq("\xDF\xBF") == 2);
	CHECK(seq("\xC0\xAF") == 0 && seq("\xC1\xBF") == 0);          /* overlong */
	CHECK(seq("\xE0\xA0\x80") == 3 && seq("\xE0\x9F\xBF") == 0);  /* overlong */
	CHECK(seq("\xED\x9F\xBF") == 3 && seq("\xED\xA0\x80") == 0);  /* surrogate */
	CHECK(seq("\xF0\x90\x80\x80") == 4 && seq("\xF0\x8F\xBF\xBF") == 0);
	CHECK(seq("\xF4\x8F\xBF\xBF") == 4 && seq("\xF4\x90\x80\x80") == 0);
	CHECK(seq("\xF5\x80\x80\x80") == 0 && seq("\x80") == 0 && seq("\xFF") == 0);
	CHECK(seq("\xE2\x82") == 0 && seq("\xC3") == 0);                 /* cut short by the NUL */
	CHECK(seq("\xEF\xBF\xBF") == 3 && xml("\xEF\xBF\xBF") == 0 && xml("\xEF\xBF\xBE") == 0);
	CHECK(xml("\xEF\xBF\xBD") == 3 && xml("\xE2\x82\xAC") == 3);
	/* a run of bytes: every character whole, a NUL among them one of them */
	CHECK(utf8_valid("a\xC3\xA9\xE2\x82\xAC", 6) && utf8_valid("", 0));
	CHECK(utf8_valid("a\0b", 3));
	CHECK(!utf8_valid("a\xC3\xA9\xE2\x82\xAC", 5));             /* the € cut short by N */
	CHECK(!utf8_valid("a\xED\xA0\x80", 4) && !utf8_valid("\xC0\xAF", 2));
	*strbuf_raw_u32(u32, 0) = '\0';
	CHECK_STR(u32, "0");
	*strbuf_raw_u32(u32, 4294967295u) = '\0';
	CHECK_STR(u32, "4294967295");
	*strbuf_raw_u32(u32, 1000) = '\0';
	CHECK_STR(u32, "1000");
}

/* The reader of test_write_all: drains a pipe into a buffer. */
struct drain {
	int    fd;
	char  *buf;
	size_t size, got;
};

static void *drain_pipe(void *arg)
{
	struct drain *d = arg;

	while (d->got < d->size) {
		ssize_t r = read(d->fd, d->buf + d->got, d->size - d->got);

		if (r <= 0)
			break;
		d->got += (size_t)r;
	}
	return NULL;
}

/* write_all: a buffer larger than a pipe's room goes whole, in several writes. */
static void test_write_all(void)
{
	size_t n = 256 * 1024;                    /* four times a pipe's default room */
	char *out = malloc(n);
	struct drain d = { -1, malloc(n), n, 0 };
	int fds[2];
	pthread_t reader;

	if (out == NULL || d.buf == NULL || pipe(fds) != 0) {
		CHECK(!"memory and a pipe for test_write_all");
		free(out);
		free(d.buf);
		return;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(i * 7);
	d.fd = fds[0];
	if (pthread_create(&reader, NULL, drain_pipe, &d) != 0) {
		CHECK(!"a reader thread for test_write_all");   /* write_all would wait for ever */
		close(fds[0]);
		close(fds[1]);
		free(out);
		free(d.buf);
		return;
	}
	CHECK(write_all(fds[1], out, n));         /* blocks as the pipe fills */
	close(fds[1]);
	pthread_join(reader, NULL);
	close(fds[0]);
	CHECK(d.got == n && memcmp(d.buf, out, n) == 0);
	/* a failure says so, with errno: a closed pipe, a bad descriptor */
	CHECK(pipe(fds) == 0);
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	errno = 0;
	CHECK(!write_all(fds[1], out, 16) && errno == EPIPE);
	close(fds[1]);
	errno = 0;
	CHECK(!write_all(-1, out, 16) && errno == EBADF);
	CHECK(write_all(-1, out, 0));             /* nothing to write: nothing done */
	free(out);
	free(d.buf);
}

/* What log_warn("says: %s", ARG) writes to stderr, into OUT (SIZE bytes). */
static void logged(const char *arg, char *out, size_t size)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n = 0;

	out[0] = '\0';
	if (f == NULL || saved < 0) {
		CHECK(!"tmpfile or dup failed");
		if (f != NULL)
			fclose(f);
		return;
	}
	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	log_warn("says: %s", arg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
}

/* A message quoting what others sent stays one line: no forged line after a line break. */
static void test_log_one_line(void)
{
	static char big[6000], out[8192];
	char text[] = "a\tb\nc\x01\x7f\xc3\xa9";

	str_blank_controls(text);
	CHECK_STR(text, "a b c  \xc3\xa9");      /* UTF-8 past 0x7f stays */
	logged("out\nrdmsd: fleet: forged\r\x1b[2J\x7f!", out, sizeof out);
	CHECK_STR(out, "rdms: says: out rdmsd: fleet: forged  [2J !\n");
	memset(big, 'x', sizeof big - 1);
	logged(big, out, sizeof out);
	CHECK(strlen(out) < 4200 && strchr(out, '\n') == out + strlen(out) - 1);
	CHECK(strstr(out, "x [...]\n") != NULL);
	for (size_t i = 0; i + 2 < sizeof big; i += 2)      /* U+00E9 all along: cut between two */
		memcpy(big + i, "\xc3\xa9", 2);
	big[sizeof big - 1 - (sizeof big - 1) % 2] = '\0';
	logged(big, out, sizeof out);
	CHECK(strstr(out, "\xc3\xa9 [...]\n") != NULL);
}

static void test_copy_cut(void)
{
	char out[4];

	CHECK(!str_copy(out, sizeof out, "\xc3\xa9\xc3\xa9"));     /* "éé": 4 bytes into 3 */
	CHECK_STR(out, "\xc3\xa9");                                /* é, not é and half of one */
	CHECK(!str_copy(out, sizeof out, "ab\xe2\x82\xac"));       /* "ab€" */
	CHECK_STR(out, "ab");
	CHECK(!str_copy(out, sizeof out, "abcd"));
	CHECK_STR(out, "abc");
	CHECK(!str_copy(out, sizeof out, "\x80\x80\x80\x80\x80")); /* no UTF-8: cut where it falls */
	CHECK_EQ(strlen(out), 3);
	CHECK(str_copy(out, sizeof out, "\xe2\x82\xac"));          /* € fits */
	CHECK_STR(out, "\xe2\x82\xac");
	CHECK_EQ(utf8_cut("\xf0\x9f\x98\x80x", 2), 0);            /* inside a 4-byte one */
	CHECK_EQ(utf8_cut("\xf0\x9f\x98\x80x", 4), 4);
	/* formatted: the same cut */
	CHECK(!str_format(out, sizeof out, "%s%d", "\xc3\xa9", 42));   /* "é42": 4 bytes into 3 */
	CHECK_STR(out, "\xc3\xa9" "4");
	CHECK(!str_format(out, sizeof out, "a%s", "\xe2\x82\xac"));    /* "a€" */
	CHECK_STR(out, "a");
	CHECK(str_format(out, sizeof out, "%d", 123));
	CHECK_STR(out, "123");
	CHECK(!str_format(out, 0, "%d", 1));
}

/* An error message quoting a long name is cut between characters too. */
static void test_fail_cut(void)
{
	static char name[1200];
	rdms_error err = { 0 };
	size_t n;

	for (size_t i = 0; i + 2 < sizeof name; i += 2)
		memcpy(name + i, "\xc3\xa9", 2);
	CHECK_EQ(rdms_fail(&err, WBEM_E_NOT_FOUND, "no user %s", name), WBEM_E_NOT_FOUND);
	n = strlen(err.message);
	CHECK(n >= sizeof err.message - 2 && n < sizeof err.message);
	CHECK(utf8_seq_len((const unsigned char *)err.message + n - 2) == 2);   /* a whole é last */
	rdms_fail(&err, WBEM_E_FAILED, "short %d", 7);
	CHECK_STR(err.message, "short 7");
}

static void test_trim_space(void)
{
	char reason[] = "\r\n\t  out of sorts \t\n", blank[] = " \t\r\n", inner[] = "a \t\nb";
	char none[] = "";

	CHECK_STR(str_trim_space(reason), "out of sorts");      /* a fault's Text as sent */
	CHECK_STR(str_trim_space(blank), "");
	CHECK_STR(str_trim_space(inner), "a \t\nb");           /* only the ends */
	CHECK_STR(str_trim_space(none), "");
}

int main(void)
{
	test_small_growth();
	test_big_growth();
	test_expect();
	test_failure();
	test_reserve_exact();
	test_digits_and_join();
	test_header_value();
	test_after_key();
	test_utf8();
	test_write_all();
	test_log_one_line();
	test_trim_space();
	test_copy_cut();
	test_fail_cut();
	return check_summary("strutil");
}
