/*
 * utf8.c -- see utf8.h.
 */
#include "utf8.h"

size_t utf8_seq_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xBF;    /* the second byte's range (Unicode table 3-7) */
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xE0)
		lo = 0xA0;     /* overlong */
	else if (p[0] == 0xED)
		hi = 0x9F;     /* surrogates */
	else if (p[0] == 0xF0)
		lo = 0x90;     /* overlong */
	else if (p[0] == 0xF4)
		hi = 0x8F;     /* beyond U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

size_t utf8_cut(const char *s, size_t cut)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t k = cut, want;

	while (k > 0 && cut - k < 3 && (p[k - 1] & 0xC0) == 0x80)
		k--;                /* back over the continuation bytes before CUT */
	if (k-- == 0 || p[k] < 0xC0 || p[k] > 0xF4)
		return cut;         /* no first byte of a character before them */
	want = p[k] >= 0xF0 ? 4 : p[k] >= 0xE0 ? 3 : 2;
	return cut - k < want ? k : cut;
}

size_t utf8_xml_len(const unsigned char *p)
{
	size_t n = utf8_seq_len(p);

	if (n == 3 && p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF))
		return 0;
	return n;
}

bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0, k; i < n; i += k)
		if ((k = utf8_seq_len(p + i)) == 0 || k > n - i)
			return false;
	return true;
}
