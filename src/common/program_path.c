/*
 * program_path.c -- where one of rdms's own programs is (program_path.h).
 */
#include "program_path.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "strutil.h"

bool program_path(char *out, size_t size, const char *name, const char *installed)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash != NULL) {
			slash[1] = '\0';
			if ((size_t)snprintf(out, size, "%s%s", self, name) < size &&
			    access(out, X_OK) == 0)
				return true;
		}
	}
	return str_copy(out, size, installed) && access(out, X_OK) == 0;
}
