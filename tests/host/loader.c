// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dlopen() a libibverbs provider the way libibverbs does (RTLD_NOW) and
 * report the outcome: "dlopen ok" (exit 0) or "dlopen failed: <dlerror>"
 * (exit 1). Deliberately not linked against libibverbs: the provider's own
 * DT_NEEDED decides which libibverbs.so.1 gets loaded (LD_LIBRARY_PATH).
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	void *handle;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PROVIDER.so\n", argv[0]);
		return 2;
	}
	handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		printf("dlopen failed: %s\n", dlerror());
		return 1;
	}
	printf("dlopen ok\n");
	return 0;
}
