/*
 * strutil.h -- small string helpers shared by every layer.
 */
#ifndef RDMS_STRUTIL_H
#define RDMS_STRUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Copies SRC into DST of SIZE bytes, always terminated; false when truncated
 * (then cut between UTF-8 characters, not inside one).
 */
bool str_copy(char *dst, size_t size, const char *src);
/*
 * FMT formatted into DST of SIZE bytes, always terminated; false when cut
 * short (then between UTF-8 characters, as str_copy).
 */
bool str_vformat(char *dst, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
bool str_format(char *dst, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* ASCII case-insensitive equality. */
bool str_ieq(const char *a, const char *b);
/* Trims blanks (and a trailing CR) in place at both ends of S; returns the new start. */
char *str_trim(char *s);
/* Trims XML's white space (space, tab, CR, LF) in place at both ends of S; returns the new start. */
char *str_trim_space(char *s);
/*
 * Each control character of S (below 0x20, and DEL) made a space, in
 * place: a text quoted from elsewhere that must stay on one line and must
 * not reach a terminal as escapes.
 */
void str_blank_controls(char *s);
/*
 * True when the media type of CONTENT_TYPE (an HTTP Content-Type value,
 * NULL when absent) is one of TYPES (NULL-terminated, lower case), in any
 * case; its parameters (charset) are not looked at.
 */
bool str_media_type_in(const char *content_type, const char *const *types);

enum str_param { STR_PARAM_NONE, STR_PARAM_FOUND, STR_PARAM_BAD };
/*
 * The value of parameter NAME (any case) in a "type;name=value;..." list S
 * -- a Content-Type when SKIP_TYPE (its type is skipped), else parameters
 * only -- into OUT (SIZE bytes): a token or a quoted string without
 * escapes.  STR_PARAM_BAD for a list that does not read so, or a value too
 * long for OUT.
 */
enum str_param str_media_param(const char *s, bool skip_type, const char *name, char *out,
                               size_t size);
/*
 * S made safe for one log line into OUT (SIZE bytes, cut to fit): bytes
 * outside printable ASCII, backslash and quote as \xHH.
 */
void str_printable(const char *s, char *out, size_t size);
/*
 * For the key = value lines of ini-like files: when LINE, after leading
 * blanks, is KEY (any case), blanks, '=' and blanks, the text after them;
 * otherwise NULL.  The caller decides where the value ends.
 */
char *str_after_key(char *line, const char *key);
/*
 * Cursor reading of fixed-layout text (time stamps): exactly N decimal
 * digits at *P into *OUT, or the character C at *P; each advances *P past
 * what it read and returns false (leaving *P) when the text is otherwise.
 */
bool str_take_digits(const char **p, int n, int *out);
bool str_take_char(const char **p, char c);

/* A then B into DST (SIZE bytes), cut to fit; DST.  For labels such as
 * "key SessionId" built on every request: snprintf costs ten times more. */
char *str_join(char *dst, size_t size, const char *a, const char *b);

/* A growable, always-terminated byte buffer. */
typedef struct strbuf {
	char  *data;
	size_t len;
	size_t cap;
	bool   failed;   /* an allocation failed; further appends are ignored */
} strbuf;

/* Room for EXTRA more bytes and the terminator (growing by doubling); false once B failed. */
bool strbuf_reserve(strbuf *b, size_t extra);
/*
 * The same, to the byte (no doubling), for a size known ahead -- a
 * declared body, a reply's piece -- where doubling's slack would be held
 * as long as the buffer lives.
 */
bool strbuf_reserve_exact(strbuf *b, size_t extra);
/*
 * A hint after the first of many items: room at once for LEFT more of
 * about ITEM bytes each (+1/8, as names differ in length; at most LIMIT)
 * and 512 for what closes the reply, so a reply of megabytes is not grown
 * by doubling, copying it at each step.  Failure is left to the appends.
 */
void strbuf_expect(strbuf *b, size_t item, size_t left, size_t limit);
void strbuf_append(strbuf *b, const char *s, size_t n);
void strbuf_puts(strbuf *b, const char *s);
void strbuf_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * S as the value of an HTTP header: each byte outside printable ASCII, each
 * '%', and a space at either end as %XX (RFC 3986's percent-encoding, so
 * that any URL decoder gives S's UTF-8 back); the rest as it is, readable.
 */
void strbuf_put_header_value(strbuf *b, const char *s);
/* Hands over the text (caller frees); NULL when an allocation failed. */
char *strbuf_take(strbuf *b);
void strbuf_free(strbuf *b);

#endif
