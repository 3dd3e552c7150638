// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Drive the real libibverbs (public API only) against whatever devices it
 * finds, for the host tests:
 *
 *   probe list          one "device <name>" line per device, then
 *                       "provider <loaded|not-loaded>" (libsodp-rdmav34.so)
 *   probe open <name>   "open ok" (exit 0) or
 *                       "open failed: <errno name> (<n>)" (exit 1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include <infiniband/verbs.h>

static int find_provider(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (info->dlpi_name && strstr(info->dlpi_name, "libsodp-rdmav34.so"))
		*(int *)data = 1;
	return 0;
}

static const char *errno_name(int err)
{
	switch (err) {
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOSYS: return "ENOSYS";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case ENOMEM: return "ENOMEM";
	case 0: return "0";
	default: return "other";
	}
}

int main(int argc, char **argv)
{
	struct ibv_device **list;
	struct ibv_context *ctx;
	int loaded = 0;
	int i, n, err;

	if (argc < 2 || (strcmp(argv[1], "open") == 0 && argc != 3)) {
		fprintf(stderr, "usage: %s list | open NAME\n", argv[0]);
		return 2;
	}

	list = ibv_get_device_list(&n);
	if (!list) {
		printf("ibv_get_device_list failed: %s\n", strerror(errno));
		return 1;
	}

	if (strcmp(argv[1], "list") == 0) {
		for (i = 0; i < n; i++)
			printf("device %s\n", ibv_get_device_name(list[i]));
		dl_iterate_phdr(find_provider, &loaded);
		printf("provider %s\n", loaded ? "loaded" : "not-loaded");
		ibv_free_device_list(list);
		return 0;
	}

	for (i = 0; i < n; i++)
		if (strcmp(ibv_get_device_name(list[i]), argv[2]) == 0)
			break;
	if (i == n) {
		printf("no device %s\n", argv[2]);
		ibv_free_device_list(list);
		return 1;
	}
	errno = 0;
	ctx = ibv_open_device(list[i]);
	err = errno;
	ibv_free_device_list(list);
	if (!ctx) {
		printf("open failed: %s (%d)\n", errno_name(err), err);
		return 1;
	}
	printf("open ok\n");
	ibv_close_device(ctx);
	return 0;
}
