/*
 * fuzz.h -- what every libFuzzer target in fuzz/ shares.
 *
 * Each fuzz_NAME.c feeds the bytes libFuzzer gives it to one parser and
 * checks the parser's contract (clean failure with a message, or a result
 * that holds together), then frees everything: leak detection is on, so a
 * target must end each input with nothing allocated but the parser's own
 * long-lived globals.  FUZZ_CHECK aborts, which libFuzzer reports as a
 * crash with the input saved, the same as an ASan finding.
 */
#ifndef RDMS_FUZZ_H
#define RDMS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libFuzzer's entry points (it declares none; -Wmissing-prototypes wants them). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* DATA as a C string (malloc'd): an embedded NUL ends it, as it would in C. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/*
 * An exact copy of DATA with no terminator, so that a parser given
 * (pointer, length) which reads one byte too far trips ASan.
 */
static inline char *fuzz_exact(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);

	if (s != NULL && size > 0)
		memcpy(s, data, size);
	return s;
}

/* True when the error record says what went wrong (the parsers' contract). */
static inline int fuzz_error_set(uint32_t rc, uint32_t code, const char *message)
{
	return rc != 0 && code == rc && message[0] != '\0' &&
	       memchr(message, '\0', 512) != NULL;
}

#endif
