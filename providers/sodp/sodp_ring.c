// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sodp libibverbs provider: the shared rings of CQs, QPs and SRQs
 * (layout and protocol in <rdma/sodp-abi.h>) and the doorbells.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sodp.h"

static bool sodp_is_pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

/*
 * Map the ring the kernel created at @offset of cmd_fd and check that the
 * geometry it reported (@entries slots of @stride bytes, at least
 * @min_stride) lies inside the @size bytes mapped. Returns 0 or an errno
 * value; on failure nothing stays mapped.
 */
int sodp_ring_map(struct ibv_context *ibctx, struct sodp_ring *ring,
		  uint64_t offset, uint64_t size, uint32_t entries,
		  uint32_t stride, size_t min_stride)
{
	uint64_t need;
	void *map;

	ring->map = MAP_FAILED;
	ring->map_size = 0;

	if (!sodp_is_pow2(entries) || !sodp_is_pow2(stride) ||
	    stride < min_stride) {
		sodp_err(ibctx, "kernel returned a bad ring: %u entries of %u bytes\n",
			 entries, stride);
		return EPROTO;
	}
	/* entries and stride are below 2^32: the product fits in 64 bits. */
	need = SODP_RING_ENTRIES_OFFSET + (uint64_t)entries * stride;
	if (size < need || size > SIZE_MAX || offset > (uint64_t)INT64_MAX) {
		sodp_err(ibctx, "kernel returned a bad ring mapping: %llu bytes for %llu\n",
			 (unsigned long long)size, (unsigned long long)need);
		return EPROTO;
	}

	map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   ibctx->cmd_fd, (off_t)offset);
	if (map == MAP_FAILED)
		return errno;

	ring->map = map;
	ring->map_size = (size_t)size;
	ring->hdr = map;
	ring->slots = (uint8_t *)map + SODP_RING_ENTRIES_OFFSET;
	ring->entries = entries;
	ring->stride = stride;
	return 0;
}

void sodp_ring_unmap(struct sodp_ring *ring)
{
	if (ring->map != MAP_FAILED)
		munmap(ring->map, ring->map_size);
	ring->map = MAP_FAILED;
	ring->map_size = 0;
}

/*
 * Ring a QP's doorbell: IB_USER_VERBS_CMD_POST_SEND (or POST_RECV) with
 * no work requests. The kernel only looks at the QP handle; wqe_size must
 * still be a valid size for the command. Returns 0 or an errno value.
 */
int sodp_doorbell(struct ibv_qp *ibqp, uint32_t command)
{
	struct ib_uverbs_post_send_resp resp;
	struct sodp_cmd_doorbell cmd;
	ssize_t ret;

	static_assert(sizeof(struct ib_uverbs_post_send_resp) ==
			      sizeof(struct ib_uverbs_post_recv_resp),
		      "POST_SEND and POST_RECV responses");

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	cmd.hdr.command = command;
	cmd.hdr.in_words = sizeof(cmd) / 4;
	cmd.hdr.out_words = sizeof(resp) / 4;
	cmd.response = (uintptr_t)&resp;
	cmd.qp_handle = ibqp->handle;
	cmd.wr_count = 0;
	cmd.sge_count = 0;
	cmd.wqe_size = command == IB_USER_VERBS_CMD_POST_SEND ?
			       sizeof(struct ib_uverbs_send_wr) :
			       sizeof(struct ib_uverbs_recv_wr);

	do {
		ret = write(ibqp->context->cmd_fd, &cmd, sizeof(cmd));
	} while (ret < 0 && errno == EINTR);
	if (ret != (ssize_t)sizeof(cmd))
		return ret < 0 ? errno : EIO;
	return 0;
}
