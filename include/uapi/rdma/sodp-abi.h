/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * sodp kernel <-> userspace ABI.
 *
 * This header is the only contract between sodp.ko and the libibverbs
 * provider libsodp-rdmav34.so. Both sides compile against this very file.
 * Every structure here has a fixed layout: explicit padding, 64-bit fields
 * naturally aligned, no pointers. Any incompatible change bumps
 * SODP_ABI_VERSION; the kernel reports it as the uverbs ABI version and in
 * the sysfs attribute SODP_SYSFS_ABI_ATTR, and the provider refuses a device
 * whose version it does not know.
 */
#ifndef SODP_ABI_USER_H
#define SODP_ABI_USER_H

#include <linux/types.h>

#define SODP_ABI_VERSION	1

/*
 * Name of the attribute in /sys/class/infiniband/<ibdev>/ that marks a
 * device as a sodp device. It holds SODP_ABI_VERSION in decimal followed by
 * a newline. The provider matches devices on this attribute (and on
 * driver_id RDMA_DRIVER_UNKNOWN), never on the device name, so that
 * "rdma dev set sodp0 name foo" keeps working.
 */
#define SODP_SYSFS_ABI_ATTR	"sodp_abi_version"

/* Driver data appended to IB_USER_VERBS_CMD_GET_CONTEXT. */
struct sodp_alloc_ucontext_req {
	__u32 abi_version;	/* SODP_ABI_VERSION the provider was built with */
	__u32 reserved;		/* must be zero */
};

struct sodp_alloc_ucontext_resp {
	__u32 abi_version;	/* SODP_ABI_VERSION of the kernel */
	__u32 reserved;
	__aligned_u64 caps;	/* SODP_UCTX_CAP_*; none defined yet */
};

/* Driver data returned by IB_USER_VERBS_CMD_ALLOC_PD. */
struct sodp_alloc_pd_resp {
	__u32 pdn;		/* device-wide PD number, never 0 */
	__u32 reserved;
};

/*
 * ---------------------------------------------------------------------------
 * Shared rings (completion queues, send queues, receive queues, SRQs).
 *
 * Each queue is one ring the kernel allocates and the provider maps with
 * mmap(cmd_fd, offset) at the offset the create command returned. A ring
 * is a struct sodp_ring_hdr at offset 0, then 'entries' slots of 'stride'
 * bytes each at SODP_RING_ENTRIES_OFFSET; entries and stride are powers of
 * two, and the mapping is the whole thing rounded up to pages.
 *
 * Indexes are free-running 32-bit counters: slot = index & (entries - 1),
 * the ring is empty when prod == cons and full when prod - cons == entries.
 * The producer writes a slot, then stores prod with release semantics; the
 * consumer loads prod with acquire semantics, reads the slot, then stores
 * cons with release semantics.
 *
 *   queue         producer (writes prod)   consumer (writes cons)
 *   CQ            kernel                   provider
 *   SQ, RQ, SRQ   provider                 kernel
 *
 * The slots from cons to prod belong to the consumer, the others to the
 * producer: the producer writes a slot only while it lies outside cons..
 * prod and never reads one back (a CQ's RESIZE_CQ copies them, while the
 * provider holds off its pollers); the consumer may read the slots it owns
 * and also rewrite them. That is how a CQ loses the completions of a QP
 * that is reset or destroyed (as mlx5 does): once the kernel has done the
 * RESET or the destroy, it produces nothing more for that QP, and the
 * provider, excluding its other pollers, reads prod (acquire), moves the
 * CQEs of other QPs up towards prod (from the newest down, keeping their
 * order), and stores cons past the holes this leaves at the bottom
 * (release), which hands exactly those slots back to the kernel. The
 * kernel may add CQEs meanwhile: they lie at or past the prod read, and
 * are neither moved nor lost.
 *
 * Userspace owns this memory and may scribble on it at any time. The
 * kernel never trusts it: it reads each index once, rejects one that is
 * impossible (more than 'entries' ahead), copies a WQE out of its slot
 * before it validates or uses any field, and never reads a field twice.
 * A corrupt ring makes that queue's QP go to the error state; nothing
 * else.
 *
 * Doorbell: the kernel engine drains a send queue and, when it finds it
 * empty, sets SODP_RING_F_IDLE in flags before it stops (and looks once
 * more after setting it). A provider that posts and then sees IDLE rings
 * the doorbell: IB_USER_VERBS_CMD_POST_SEND with wr_count 0 for the QP.
 * While the engine is busy the provider posts without a system call.
 * Receive queues need no doorbell, except when the QP is in the error
 * state (SODP_RING_F_ERROR on its SQ ring): then post_recv rings
 * IB_USER_VERBS_CMD_POST_RECV (wr_count 0) so that the new WQEs are
 * flushed with IBV_WC_WR_FLUSH_ERR.
 */

#define SODP_RING_ENTRIES_OFFSET	256

/* sodp_ring_hdr.flags, written by the kernel only. */
#define SODP_RING_F_IDLE	(1U << 0)	/* SQ: the engine sleeps */
#define SODP_RING_F_ERROR	(1U << 1)	/* SQ: the QP is in ERR */

struct sodp_ring_hdr {
	__u32 prod;		/* producer index */
	__u32 reserved0[15];	/* prod, cons and flags: own cache lines */
	__u32 cons;		/* consumer index */
	__u32 reserved1[15];
	__u32 flags;		/* SODP_RING_F_* */
	__u32 reserved2[15];
};

/*
 * Opcodes and statuses carry libibverbs' values (enum ibv_wr_opcode,
 * ibv_wc_opcode, ibv_wc_status), which are also the kernel's
 * IB_UVERBS_WR_* / IB_WC_* values.
 */
#define SODP_WR_RDMA_WRITE		0
#define SODP_WR_RDMA_WRITE_WITH_IMM	1
#define SODP_WR_SEND			2
#define SODP_WR_SEND_WITH_IMM		3
#define SODP_WR_RDMA_READ		4
#define SODP_WR_ATOMIC_CMP_AND_SWP	5
#define SODP_WR_ATOMIC_FETCH_AND_ADD	6
#define SODP_WR_LOCAL_INV		7
#define SODP_WR_SEND_WITH_INV		9

#define SODP_WC_SEND			0
#define SODP_WC_RDMA_WRITE		1
#define SODP_WC_RDMA_READ		2
#define SODP_WC_COMP_SWAP		3
#define SODP_WC_FETCH_ADD		4
#define SODP_WC_LOCAL_INV		6
#define SODP_WC_RECV			128
#define SODP_WC_RECV_RDMA_WITH_IMM	129

/* sodp_cqe.wc_flags: libibverbs' IBV_WC_WITH_IMM and IBV_WC_WITH_INV. */
#define SODP_WC_F_WITH_IMM		(1U << 1)
#define SODP_WC_F_WITH_INV		(1U << 3)

struct sodp_sge {
	__aligned_u64 addr;
	__u32 length;
	__u32 lkey;
};

/* sodp_send_wqe.flags */
#define SODP_SEND_F_SIGNALED	(1U << 0)
#define SODP_SEND_F_SOLICITED	(1U << 1)
#define SODP_SEND_F_INLINE	(1U << 2)
#define SODP_SEND_F_FENCE	(1U << 3)

/*
 * A send queue slot: this header, then num_sge struct sodp_sge or, with
 * SODP_SEND_F_INLINE, inline_len bytes of data. The slot is the QP's
 * sq_stride bytes; both tails must fit in it.
 */
struct sodp_send_wqe {
	__aligned_u64 wr_id;
	__u8 opcode;		/* SODP_WR_* */
	__u8 flags;		/* SODP_SEND_F_* */
	__u8 num_sge;
	__u8 reserved0;
	__u32 inline_len;
	/* immediate (network order), or the rkey SEND_WITH_INV / LOCAL_INV invalidates */
	__u32 imm_data;
	__u32 rkey;		/* RDMA and atomic operations */
	__aligned_u64 remote_addr;
	__aligned_u64 compare_add;	/* CMP_AND_SWP: compare; FETCH_AND_ADD: add */
	__aligned_u64 swap;
	__u32 reserved1[4];
};

/* A receive queue or SRQ slot: this header, then num_sge struct sodp_sge. */
struct sodp_recv_wqe {
	__aligned_u64 wr_id;
	__u32 num_sge;
	__u32 reserved;
};

/* A completion queue slot (stride sizeof(struct sodp_cqe)). */
struct sodp_cqe {
	__aligned_u64 wr_id;
	__u8 status;		/* enum ibv_wc_status */
	__u8 opcode;		/* SODP_WC_* */
	__u8 wc_flags;		/* SODP_WC_F_* */
	__u8 reserved0;
	__u32 vendor_err;
	__u32 byte_len;
	__u32 imm_data;		/* network order; the rkey for WITH_INV */
	__u32 qp_num;
	__u32 src_qp;
	__u32 reserved1[8];
};

/* Limits the kernel enforces at creation (query_device reports them). */
#define SODP_MAX_QP_WR		16384	/* per send or receive queue */
#define SODP_MAX_SGE		32
#define SODP_MAX_INLINE		512
#define SODP_MAX_CQE		65535	/* ring holds cqe + 1, a power of two */
#define SODP_MAX_SRQ_WR		16384

/*
 * Driver data returned by IB_USER_VERBS_CMD_CREATE_CQ and RESIZE_CQ.
 * RESIZE_CQ returns a new ring, which continues the old one's indexes: the
 * unconsumed CQEs keep their indexes and the new header holds the old prod
 * and cons. The provider maps the new ring, goes on polling at its own
 * consumer index there, and unmaps the old ring (the kernel no longer
 * writes to it).
 */
struct sodp_create_cq_resp {
	__aligned_u64 mmap_offset;
	__aligned_u64 mmap_size;
	__u32 entries;		/* ring slots; at least cqe + 1 */
	__u32 cqn;
};

/*
 * Driver data returned by IB_USER_VERBS_CMD_CREATE_QP (and _EX).
 * Modifying a QP to RESET discards every posted SQ and RQ WQE: the kernel
 * sets each ring's cons to the prod it reads then (indexes keep running,
 * nothing restarts at 0), clears SODP_RING_F_ERROR and sets
 * SODP_RING_F_IDLE; the provider keeps its prod and treats both queues as
 * empty. After a RESET or a destroy the provider removes the QP's CQEs
 * from its send and receive CQs (see the ring ownership above).
 */
struct sodp_create_qp_resp {
	__aligned_u64 sq_mmap_offset;
	__aligned_u64 sq_mmap_size;
	__aligned_u64 rq_mmap_offset;	/* 0 and size 0 with an SRQ */
	__aligned_u64 rq_mmap_size;
	__u32 sq_entries;
	__u32 sq_stride;
	__u32 rq_entries;
	__u32 rq_stride;
	__u32 qpn;
	__u32 reserved;
};

/* Driver data returned by IB_USER_VERBS_CMD_CREATE_SRQ (and _XSRQ). */
struct sodp_create_srq_resp {
	__aligned_u64 mmap_offset;
	__aligned_u64 mmap_size;
	__u32 entries;
	__u32 stride;
	__u32 srqn;
	__u32 reserved;
};

#endif /* SODP_ABI_USER_H */
