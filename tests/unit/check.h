/*
 * check.h -- the project's minimal unit-test helpers.
 *
 * CHECK(cond) records a failure with file:line and goes on; a test program's
 * main() ends with `return check_summary("name");`, which prints
 * "name: N passed, M failed" and returns non-zero when anything failed.
 */
#ifndef RDMS_TEST_CHECK_H
#define RDMS_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond) do { \
	if (cond) { check_passed++; } \
	else { check_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *check_a_ = (a), *check_b_ = (b); \
	if (check_a_ != NULL && check_b_ != NULL && strcmp(check_a_, check_b_) == 0) { check_passed++; } \
	else { check_failed++; fprintf(stderr, "%s:%d: CHECK_STR failed: %s == \"%s\", expected \"%s\"\n", \
	       __FILE__, __LINE__, #a, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)"); } \
} while (0)

#define CHECK_EQ(a, b) do { \
	long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
	if (check_a_ == check_b_) { check_passed++; } \
	else { check_failed++; fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld (0x%llx), expected %lld (0x%llx)\n", \
	       __FILE__, __LINE__, #a, check_a_, check_a_, check_b_, check_b_); } \
} while (0)

static inline int check_summary(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
	return check_failed == 0 && check_passed > 0 ? 0 : 1;
}

#endif
