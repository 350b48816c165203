/*
 * caps.h -- whether the calling process holds no capability at all
 * (effective, permitted or inheritable): what net (drop.c) and rdmsd-ntlm
 * check after giving theirs up.
 */
#ifndef RDMS_PRIVSEP_CAPS_H
#define RDMS_PRIVSEP_CAPS_H

#include <stdbool.h>

bool caps_none_left(void);

#endif
