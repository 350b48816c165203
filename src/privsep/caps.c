/*
 * caps.c -- no capability left (caps.h).
 */
#include "caps.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

bool caps_none_left(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	/* zeroed: valgrind does not know capget fills it */
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

	if (syscall(SYS_capget, &h, d) != 0)
		return false;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (d[i].effective != 0 || d[i].permitted != 0 || d[i].inheritable != 0)
			return false;
	return true;
}
