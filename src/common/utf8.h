/*
 * utf8.h -- the one check of a UTF-8 sequence, shared by the reply writers
 * (which must emit only what XML 1.0 can carry) and the message checks.
 */
#ifndef RDMS_UTF8_H
#define RDMS_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Length of the UTF-8 sequence at P (1..4; ASCII is 1), or 0 when it is not
 * a valid one: a stray or missing continuation byte, an overlong form, a
 * surrogate, a code point above U+10FFFF.  Reads no further than the first
 * byte that makes it invalid, so a NUL-terminated string is never overrun.
 */
size_t utf8_seq_len(const unsigned char *p);

/* The same, but 0 also for U+FFFE and U+FFFF, which are not XML characters. */
size_t utf8_xml_len(const unsigned char *p);

/*
 * Where to cut S, at least CUT bytes long, so that no UTF-8 character is
 * split: CUT, or the start of the last character when fewer than its bytes
 * come before CUT.  Only the bytes before CUT are read, so a buffer that
 * vsnprintf cut short can be trimmed after the fact; bytes that are no
 * UTF-8 are cut where CUT says.
 */
size_t utf8_cut(const char *s, size_t cut);

/*
 * True when the N bytes at S are all whole UTF-8 characters (a NUL among
 * them counts as one).  S must be terminated at or after N: a sequence cut
 * short by the end is read up to its first byte that does not fit.
 */
bool utf8_valid(const char *s, size_t n);

#endif
