// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sodp libibverbs provider: registration, device matching, device and
 * context lifetime, device/port queries.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sodp.h"

void sodp_err_at(const struct ibv_context *ibctx, const char *func, int line,
		 const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	fprintf(stderr, "%s: %s:%d: ", ibctx->device->name, func, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

/* ------------------------------------------------------------------------
 * Device matching
 * ------------------------------------------------------------------------
 */

enum sodp_attr_state {
	SODP_ATTR_ABSENT,	/* not a sodp device */
	SODP_ATTR_VALID,	/* *version holds the device's ABI version */
	SODP_ATTR_BROKEN,	/* present but unreadable or malformed */
};

/*
 * Read "<ibdev_path>/" SODP_SYSFS_ABI_ATTR: a decimal number and a newline.
 */
static enum sodp_attr_state sodp_read_abi_attr(const char *ibdev_path,
					       unsigned long *version)
{
	char path[IBV_SYSFS_PATH_MAX + sizeof("/" SODP_SYSFS_ABI_ATTR)];
	char buf[32];
	char *end;
	ssize_t len;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", ibdev_path,
		     SODP_SYSFS_ABI_ATTR) >= (int)sizeof(path))
		return SODP_ATTR_ABSENT;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? SODP_ATTR_ABSENT :
							      SODP_ATTR_BROKEN;
	do {
		len = read(fd, buf, sizeof(buf) - 1);
	} while (len < 0 && errno == EINTR);
	close(fd);
	if (len <= 0)
		return SODP_ATTR_BROKEN;
	buf[len] = '\0';

	if (buf[0] < '0' || buf[0] > '9')
		return SODP_ATTR_BROKEN;
	errno = 0;
	*version = strtoul(buf, &end, 10);
	if (errno || (*end != '\0' && strcmp(end, "\n") != 0))
		return SODP_ATTR_BROKEN;
	return SODP_ATTR_VALID;
}

/*
 * A device is ours if the kernel registered it without a driver id (sodp
 * is out of tree, so it has none) and it carries the sodp ABI attribute
 * with the version this provider was built for. The device name is never
 * looked at: devices can be renamed.
 */
static bool sodp_match_device(struct verbs_sysfs_dev *sysfs_dev)
{
	unsigned long version;

	if (sysfs_dev->driver_id != RDMA_DRIVER_UNKNOWN)
		return false;

	switch (sodp_read_abi_attr(sysfs_dev->ibdev_path, &version)) {
	case SODP_ATTR_ABSENT:
		return false;
	case SODP_ATTR_BROKEN:
		fprintf(stderr,
			"sodp: device %s has an unreadable %s/%s, ignoring it\n",
			sysfs_dev->ibdev_name, sysfs_dev->ibdev_path,
			SODP_SYSFS_ABI_ATTR);
		return false;
	case SODP_ATTR_VALID:
		break;
	}

	if (version != SODP_ABI_VERSION) {
		fprintf(stderr,
			"sodp: device %s speaks sodp ABI %lu, this provider speaks %u\n",
			sysfs_dev->ibdev_name, version, SODP_ABI_VERSION);
		return false;
	}
	return true;
}

/*
 * Empty match table: matching is done by sodp_match_device() alone. It
 * must not be NULL, see struct verbs_match_ent in ibverbs_private.h.
 */
static const struct verbs_match_ent sodp_match_table[] = {
	{ .kind = SODP_VERBS_MATCH_END },
};

/* ------------------------------------------------------------------------
 * Device
 * ------------------------------------------------------------------------
 */

static struct verbs_device *sodp_alloc_device(struct verbs_sysfs_dev *sysfs_dev)
{
	struct sodp_device *dev;

	(void)sysfs_dev;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	return &dev->vdev;
}

static void sodp_uninit_device(struct verbs_device *vdev)
{
	free(sodp_container_of(vdev, struct sodp_device, vdev));
}

/* ------------------------------------------------------------------------
 * Device and port queries
 * ------------------------------------------------------------------------
 */

static int sodp_query_device_ex(struct ibv_context *ibctx,
				const struct ibv_query_device_ex_input *input,
				struct ibv_device_attr_ex *attr,
				size_t attr_size)
{
	struct ib_uverbs_ex_query_device_resp resp;
	size_t resp_size = sizeof(resp);
	uint64_t fw;
	int ret;

	ret = ibv_cmd_query_device_any(ibctx, input, attr, attr_size, &resp,
				       &resp_size);
	if (ret)
		return ret;

	/* The kernel reports the firmware version as 16:16:16 bits. */
	fw = resp.base.fw_ver;
	snprintf(attr->orig_attr.fw_ver, sizeof(attr->orig_attr.fw_ver),
		 "%u.%u.%u", (unsigned int)((fw >> 32) & 0xffff),
		 (unsigned int)((fw >> 16) & 0xffff),
		 (unsigned int)(fw & 0xffff));
	return 0;
}

static int sodp_query_port(struct ibv_context *ibctx, uint8_t port_num,
			   struct ibv_port_attr *port_attr)
{
	struct ibv_query_port cmd;

	memset(&cmd, 0, sizeof(cmd));
	return ibv_cmd_query_port(ibctx, port_num, port_attr, &cmd,
				  sizeof(cmd));
}

/* ------------------------------------------------------------------------
 * Context
 * ------------------------------------------------------------------------
 */

static void sodp_free_context(struct ibv_context *ibctx)
{
	struct sodp_context *ctx = to_sodp_ctx(ibctx);

	verbs_uninit_context(&ctx->vctx);
	free(ctx);
}

static const struct verbs_context_ops sodp_context_ops = {
	.advise_mr = sodp_advise_mr,
	.alloc_pd = sodp_alloc_pd,
	.create_cq = sodp_create_cq,
	.create_cq_ex = sodp_create_cq_ex,
	.create_qp = sodp_create_qp,
	.create_qp_ex = sodp_create_qp_ex,
	.create_srq = sodp_create_srq,
	.create_srq_ex = sodp_create_srq_ex,
	.dealloc_pd = sodp_dealloc_pd,
	.dereg_mr = sodp_dereg_mr,
	.destroy_cq = sodp_destroy_cq,
	.destroy_qp = sodp_destroy_qp,
	.destroy_srq = sodp_destroy_srq,
	.free_context = sodp_free_context,
	.modify_qp = sodp_modify_qp,
	.modify_srq = sodp_modify_srq,
	.poll_cq = sodp_poll_cq,
	.post_recv = sodp_post_recv,
	.post_send = sodp_post_send,
	.post_srq_recv = sodp_post_srq_recv,
	.query_device_ex = sodp_query_device_ex,
	.query_port = sodp_query_port,
	.query_qp = sodp_query_qp,
	.query_srq = sodp_query_srq,
	.reg_mr = sodp_reg_mr,
	.req_notify_cq = sodp_req_notify_cq,
	.rereg_mr = sodp_rereg_mr,
	.resize_cq = sodp_resize_cq,
};

static struct verbs_context *sodp_alloc_context(struct ibv_device *ibdev,
						int cmd_fd, void *private_data)
{
	struct sodp_cmd_get_context cmd;
	struct sodp_cmd_get_context_resp resp;
	struct sodp_context *ctx;
	int ret;

	(void)private_data;
	/* On failure this has closed cmd_fd and set errno. */
	ctx = sodp_ibv_init_and_alloc_context(ibdev, cmd_fd, ctx, vctx,
					      RDMA_DRIVER_UNKNOWN);
	if (!ctx)
		return NULL;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	cmd.drv_payload.abi_version = SODP_ABI_VERSION;

	ret = ibv_cmd_get_context(&ctx->vctx, &cmd.ibv_cmd, sizeof(cmd),
				  SODP_IBV_RESP(struct ib_uverbs_get_context_resp,
						&resp),
				  sizeof(resp));
	if (ret)
		goto err;

	if (resp.drv_payload.abi_version != SODP_ABI_VERSION) {
		sodp_err(&ctx->vctx.context,
			 "kernel speaks sodp ABI %u, this provider speaks %u\n",
			 resp.drv_payload.abi_version, SODP_ABI_VERSION);
		ret = EPROTONOSUPPORT;
		goto err;
	}

	ctx->kernel_abi_version = resp.drv_payload.abi_version;
	ctx->caps = resp.drv_payload.caps;
	verbs_set_ops(&ctx->vctx, &sodp_context_ops);
	return &ctx->vctx;

err:
	/* Closes cmd_fd, which releases the kernel's ucontext if any. */
	verbs_uninit_context(&ctx->vctx);
	free(ctx);
	errno = ret;
	return NULL;
}

/* ------------------------------------------------------------------------
 * Registration
 * ------------------------------------------------------------------------
 */

static const struct verbs_device_ops sodp_device_ops = {
	.name = "sodp",
	/* The kernel reports SODP_ABI_VERSION as its uverbs ABI version. */
	.match_min_abi_version = SODP_ABI_VERSION,
	.match_max_abi_version = SODP_ABI_VERSION,
	.match_table = sodp_match_table,
	.match_device = sodp_match_device,
	.alloc_device = sodp_alloc_device,
	.uninit_device = sodp_uninit_device,
	.alloc_context = sodp_alloc_context,
};

/* libibverbs dlopen()s the provider; registering is all loading does. */
static void __attribute__((constructor)) sodp_register(void)
{
	verbs_register_driver_34(&sodp_device_ops);
}
