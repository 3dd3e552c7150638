/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sodp: a software RoCEv2 ib_device whose memory registration supports
 * On-Demand Paging.
 *
 * This header is internal to sodp.ko. The kernel/user ABI lives in
 * include/uapi/rdma/sodp-abi.h, kernel-version differences in
 * include/kernel/sodp_compat.h.
 *
 * Lock order (outermost first):
 *
 *   sodp_link_mutex	serialises device creation (newlink); held across
 *			ib_register_device(), which may take RTNL and the
 *			ib_core locks.
 *   RTNL		held by the netdev notifier when it calls us.
 *   sodp_dev_lock	protects sodp_dev_list; a leaf: nothing is called
 *			with it held except list manipulation and
 *			ib_device_try_get()/get_device().
 *
 * Memory regions (sodp_mr.c), outermost first:
 *
 *   the MR's uobject lock (ib_uverbs) serialises rereg and dereg of one
 *			MR: each runs with it held exclusively, so they never
 *			race each other. Lookups by key (advise_mr, restrack,
 *			later the data path) do not take it.
 *   the mmap_lock and the ODP layer's locks (see sodp_odp.h), taken by
 *			pinning and by the ODP layer while no MR lock below
 *			is held.
 *   sodp_mr.lock	(spinlock) protects an MR's translation: PD, access,
 *			addresses and the backing (pinned pages or ODP
 *			region). A leaf: held only to read or swap them and
 *			to take a reference on the backing (kref_get(),
 *			sodp_odp_region_get()); nothing sleeps under it.
 *   sodp_dev.mr_xa's lock: the xarray's own, a leaf. Lookups are
 *			lockless (RCU); an MR is freed with kfree_rcu().
 */
#ifndef SODP_H
#define SODP_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/refcount.h>
#include <linux/workqueue.h>
#include <rdma/ib_verbs.h>

#include "sodp_odp.h"

#include <rdma/sodp-abi.h>
#include "sodp_compat.h"

#define SODP_DRV_NAME		"sodp"
#define SODP_DRV_VERSION	"0.1.0"
/* The same version as ib_device_attr.fw_ver wants it: 16:16:16 bits. */
#define SODP_FW_VER		(((u64)0 << 32) | (1 << 16) | 0)

#define SODP_PORT		1
#define SODP_GID_TBL_LEN	256
#define SODP_PKEY_TBL_LEN	1
#define SODP_MAX_PD		BIT(16)
#define SODP_MAX_QP		BIT(16)	/* QPNs 2..SODP_MAX_QP + 1 */
#define SODP_MAX_CQ		BIT(16)
#define SODP_MAX_SRQ		BIT(16)
#define SODP_MAX_RD_ATOMIC	16	/* max_qp_rd_atom, max_qp_init_rd_atom */
#define SODP_MAX_MSG_SZ		0x80000000U	/* 2 GiB, as rxe */

/* 0xffffff: no IEEE OUI, as rxe and siw report. */
#define SODP_VENDOR_ID		0xffffff
#define SODP_VENDOR_PART_ID	0x50d9

struct sodp_dev {
	struct ib_device ibdev;

	/* Entry in sodp_dev_list, under sodp_dev_lock. */
	struct list_head list;

	/*
	 * The netdev this device was created on, held (ndev_tracker) from
	 * creation until sodp_dealloc_driver(), so it is always safe to read.
	 * When the netdev is unregistered, its unregistration waits for this
	 * reference, which goes when the notifier's queued unregistration of
	 * the device has run.
	 */
	struct net_device *ndev;
	netdevice_tracker ndev_tracker;

	/*
	 * The port state last reported through a port event. Written by the
	 * netdev notifier under RTNL, and at creation before registration.
	 */
	enum ib_port_state port_state;

	/* PD numbers, 1..SODP_MAX_PD. The IDA has its own lock. */
	struct ida pd_ida;

	/*
	 * Memory regions by key index (key >> SODP_MR_KEY_SHIFT), indexes
	 * 1..max_mr, allocated cyclically (mr_next, under the xarray's
	 * lock). An index is reserved (NULL) while its MR is set up and
	 * holds the MR once it is complete; readers look up under RCU.
	 * mr_variant makes the low byte of each new key differ from the
	 * last key that used the same index.
	 */
	struct xarray mr_xa;
	u32 mr_next;
	u32 max_mr;
	atomic_t mr_variant;

	/*
	 * QPs by number (2..SODP_MAX_QP, allocated cyclically; 0 and 1 are
	 * the special QPs, which sodp does not have), CQ and SRQ numbers.
	 * Lookups of QPs are under RCU and take qp->ref.
	 */
	struct xarray qp_xa;
	u32 qp_next;
	struct ida cq_ida;
	struct ida srq_ida;
};

struct sodp_ucontext {
	struct ib_ucontext ibuc;
};

struct sodp_pd {
	struct ib_pd ibpd;
	u32 pdn;
};

static inline struct sodp_dev *to_sdev(struct ib_device *ibdev)
{
	return container_of(ibdev, struct sodp_dev, ibdev);
}

static inline struct sodp_pd *to_spd(struct ib_pd *ibpd)
{
	return container_of(ibpd, struct sodp_pd, ibpd);
}

/*
 * Live object counters, for leak checks (debugfs "objects") and the module
 * exit check. Incremented when an object is fully set up, decremented when
 * it is torn down.
 */
struct sodp_obj_counts {
	atomic_t devices;
	atomic_t ucontexts;
	atomic_t pds;
	atomic_t mrs;
	atomic64_t mr_pinned_pages;
	atomic_t cqs;
	atomic_t srqs;
	atomic_t qps;
};

extern struct sodp_obj_counts sodp_objs;

/* sodp_main.c */
struct sodp_dev *sodp_dev_get_by_netdev(struct net_device *ndev);
struct sodp_dev *sodp_dev_get_by_gid(const union ib_gid *gid);

/* sodp_net.c */
enum ib_port_state sodp_netdev_port_state(struct net_device *ndev);
void sodp_port_event(struct sodp_dev *sdev, enum ib_port_state state);
int sodp_net_init(void);
void sodp_net_exit(void);

/* sodp_verbs.c */
int sodp_register_device(struct sodp_dev *sdev, const char *ibdev_name);
void sodp_dealloc_driver(struct ib_device *ibdev);

/*
 * Memory regions (sodp_mr.c).
 *
 * lkey == rkey == index << SODP_MR_KEY_SHIFT | variant byte. Index 0 is
 * never used, so no key is 0 (the device's local_dma_lkey).
 */
#define SODP_MR_KEY_SHIFT	8
#define SODP_MR_INDEX_MAX	(BIT(32 - SODP_MR_KEY_SHIFT) - 1)
#define SODP_MAX_MR_DEFAULT	BIT(20)

struct sodp_mr_pin;
struct sodp_odp_region;

struct sodp_mr {
	struct ib_mr ibmr;
	u32 key;			/* lkey and rkey; fixed for life */
	struct rcu_head rcu;

	/* Protects everything below; see the lock order above. */
	spinlock_t lock;
	bool dead;			/* deregistered: lookups fail */
	struct ib_pd *pd;		/* compared, never dereferenced */
	int access;			/* IB_ACCESS_*, optional bits cleared */
	u64 va;				/* user address of iova */
	u64 iova;
	u64 length;			/* U64_MAX for an implicit ODP MR */
	bool implicit;
	struct sodp_mr_pin *pin;	/* pinned MR: its pages */
	struct sodp_odp_region *odp;	/* ODP MR: its region */
};

/*
 * What an MR was at lookup time, with references on its backing: valid
 * even if the MR is reregistered or deregistered meanwhile (an ODP region
 * then fails every operation with -ENOENT; pinned pages stay pinned until
 * the view is put).
 */
struct sodp_mr_view {
	struct ib_pd *pd;
	int access;
	u64 va;
	u64 iova;
	u64 length;
	bool implicit;
	struct sodp_mr_pin *pin;
	struct sodp_odp_region *odp;
};

static inline struct sodp_mr *to_smr(struct ib_mr *ibmr)
{
	return container_of(ibmr, struct sodp_mr, ibmr);
}

void sodp_mr_dev_init(struct sodp_dev *sdev);
void sodp_mr_dev_fini(struct sodp_dev *sdev);
int sodp_mr_lookup(struct sodp_dev *sdev, u32 key, struct sodp_mr_view *v);
void sodp_mr_view_put(struct sodp_mr_view *v);
/* sodp_reg_user_mr() is declared in sodp_compat.h, next to its wrapper. */
struct ib_mr *sodp_rereg_user_mr(struct ib_mr *ibmr, int flags, u64 start,
				 u64 length, u64 virt_addr, int access,
				 struct ib_pd *ibpd, struct ib_udata *udata);
int sodp_dereg_mr(struct ib_mr *ibmr, struct ib_udata *udata);
int sodp_advise_mr(struct ib_pd *ibpd, enum ib_uverbs_advise_mr_advice advice,
		   u32 flags, struct ib_sge *sg_list, u32 num_sge,
		   struct uverbs_attr_bundle *attrs);
int sodp_fill_res_mr_entry(struct sk_buff *msg, struct ib_mr *ibmr);
int sodp_fill_stat_mr_entry(struct sk_buff *msg, struct ib_mr *ibmr);

/*
 * ---------------------------------------------------------------------------
 * The data path: rings, CQs, SRQs, QPs and the engine.
 *
 * Only user-space consumers: sodp implements neither poll_cq nor
 * get_dma_mr, so ib_core never offers the device to kernel ULPs
 * (kverbs_provider is false) and every CQ, QP and SRQ has a udata and
 * shared rings (layout in sodp-abi.h).
 *
 * Lock order for the data path (outermost first):
 *
 *   qp->sq_mutex	(mutex) whoever executes the QP's send queue holds
 *			it: the send worker, or the doorbell executing it
 *			inline in the poster's system call
 *			(sodp_qp_doorbell()), and the SQ discard of
 *			modify_qp(RESET). Held across everything below.
 *   qp->state_lock	(mutex) modify_qp, query_qp, destroy_qp of one QP:
 *			the state and the connection attributes.
 *   qp->resp_lock	(mutex) the QP's responder side: taken by whoever
 *			executes an incoming request for this QP (another
 *			QP's send worker in loopback), by RQ flushes and by
 *			destroy. May be held across ODP faults (the mmap lock
 *			and region locks nest inside it). Never held while
 *			taking another QP's resp_lock: a worker holds at most
 *			one, the peer's.
 *   mmap_lock, the ODP region locks (sodp_odp.h), sodp_mr.lock
 *   srq->lock		(spinlock) SRQ consumer index and limit; a leaf.
 *   cq->lock		(spinlock, irqsave) CQ producer side, notify state,
 *			the ring pointer (resize_cq); a leaf. Completion
 *			handlers (comp_handler, event_handler) are called
 *			after dropping it.
 *   sodp_atomic_lock	(spinlock) serialises RDMA atomics device-wide;
 *			taken inside an ODP chunk callback, a leaf.
 *   sodp_dev.qp_xa, cq/srq xarrays: their own locks, leaves.
 *
 * A QP's send queue is executed by its send worker (qp->sq_work on
 * sodp_wq, an unbound workqueue: a work item never runs on two CPUs at
 * once, so the SQ consumer needs no lock). The worker sleeps freely: ODP
 * faults, RNR waits (it requeues itself with a delay). Faults on one QP
 * block only that QP's worker.
 */

/* One mmap-able shared ring (sodp_queue.c). */
struct sodp_ring {
	struct sodp_ring_hdr *hdr;	/* vmap() of charged pages */
	void *slots;			/* (void *)hdr + SODP_RING_ENTRIES_OFFSET */
	u32 entries;			/* power of two */
	u32 stride;			/* power of two, bytes */
	size_t size;			/* bytes, a multiple of PAGE_SIZE */
	struct sodp_mmap_entry *mentry;	/* NULL once removed */
	u64 mmap_offset;
};

/*
 * A ring's memory and its rdma_user_mmap_entry (sodp_queue.c). sodp_mmap()
 * holds the entry only while it inserts the pages into the VMA; the
 * entry (and the kernel mapping of the pages) goes when the queue is
 * destroyed, even if userspace still maps the ring: the pages themselves
 * live on, referenced by the user's page tables, until unmapped.
 */
struct sodp_mmap_entry {
	struct rdma_user_mmap_entry rdma_entry;
	void *address;			/* vmap() of @pages, VM_USERMAP */
	struct page **pages;		/* charged to the creator's memcg */
	unsigned int npages;
};

int sodp_ring_create(struct sodp_ring *ring, struct ib_ucontext *uctx,
		     u32 entries, u32 stride);
/* The user context of a verb's udata (NULL for a kernel caller). */
static inline struct ib_ucontext *sodp_udata_to_uctx(struct ib_udata *udata)
{
	struct sodp_ucontext *uc = rdma_udata_to_drv_context(udata,
						struct sodp_ucontext, ibuc);

	return uc ? &uc->ibuc : NULL;
}

void sodp_ring_destroy(struct sodp_ring *ring);
static inline void *sodp_ring_slot(struct sodp_ring *ring, u32 idx)
{
	return ring->slots + (size_t)(idx & (ring->entries - 1)) * ring->stride;
}

int sodp_mmap(struct ib_ucontext *uctx, struct vm_area_struct *vma);
void sodp_mmap_free(struct rdma_user_mmap_entry *rdma_entry);
/*
 * hdr->flags is written by the kernel only, but by more than one thread
 * (the send worker sets and clears IDLE, modify_qp and the error paths set
 * ERROR): always through these atomic read-modify-writes.
 */
void sodp_ring_set_flags(struct sodp_ring *ring, u32 set, u32 clear);
/*
 * sodp_ring_take_recv - copy the receive WQE at index @cons out of @ring
 * (an RQ or SRQ; the caller checked that it is posted) into @wqe, reading
 * each field once. Validates num_sge <= @max_sge and that the WQE fits
 * the stride. Return: 0 or -EIO.
 */
struct sodp_recv;
int sodp_ring_take_recv(struct sodp_ring *ring, u32 cons, u32 max_sge,
			struct sodp_recv *wqe);

struct sodp_cq {
	struct ib_cq ibcq;
	u32 cqn;
	spinlock_t lock;		/* see the data path lock order */
	struct sodp_ring ring;		/* under lock (resize swaps it) */
	u32 prod;			/* kernel's copy of ring->hdr->prod */
	u8 notify;			/* 0, IB_CQ_SOLICITED or IB_CQ_NEXT_COMP */
	bool overflow;			/* IB_EVENT_CQ_ERR was raised */
};

static inline struct sodp_cq *to_scq(struct ib_cq *ibcq)
{
	return container_of(ibcq, struct sodp_cq, ibcq);
}

/*
 * sodp_cq_post - add one completion and notify as armed
 * @solicited: the completion is for a solicited message (or is an error)
 *
 * Return: 0, or -ENOSPC if the CQ was full: the completion is lost, the
 * CQ's owner got IB_EVENT_CQ_ERR and the caller puts its QP in ERR.
 */
int sodp_cq_post(struct sodp_cq *cq, const struct sodp_cqe *cqe,
		 bool solicited);

struct sodp_srq {
	struct ib_srq ibsrq;
	u32 srqn;
	spinlock_t lock;		/* see the data path lock order */
	struct sodp_ring ring;
	u32 cons;			/* kernel's copy of ring->hdr->cons */
	u32 max_sge;
	u32 limit;			/* 0: not armed */
};

static inline struct sodp_srq *to_ssrq(struct ib_srq *ibsrq)
{
	return container_of(ibsrq, struct sodp_srq, ibsrq);
}

/*
 * A receive WQE copied out of a ring and validated: num_sge <= max_sge.
 */
struct sodp_recv {
	u64 wr_id;
	u32 num_sge;
	struct sodp_sge sge[SODP_MAX_SGE];
};

/*
 * sodp_srq_take - consume the next SRQ WQE into @wqe. Raises
 * IB_EVENT_SRQ_LIMIT_REACHED (and disarms) when what is left drops below
 * the armed limit. Return: 0, -EAGAIN if empty, -EIO if the ring is
 * corrupt.
 */
int sodp_srq_take(struct sodp_srq *srq, struct sodp_recv *wqe);

struct sodp_qp {
	struct ib_qp ibqp;
	struct sodp_dev *sdev;
	u32 qpn;

	/*
	 * Engine references: the peer's send worker holds one while it
	 * executes a request on this QP (sodp_qp_get_by_qpn()). destroy
	 * drops the initial one and waits for free_done.
	 */
	refcount_t ref;
	struct completion free_done;

	struct mutex state_lock;	/* see the data path lock order */
	/*
	 * Written under state_lock (and resp_lock, to order with the
	 * responder); read locklessly by the engine with READ_ONCE().
	 */
	enum ib_qp_state state;
	struct ib_qp_attr attr;		/* last values set, under state_lock */
	bool sq_draining;		/* SQD entered, SQ_DRAINED not yet sent */

	/* Send side: consumed only under sq_mutex. */
	struct mutex sq_mutex;		/* see the data path lock order */
	struct sodp_ring sq;
	u32 sq_cons;			/* kernel's copy of sq.hdr->cons */
	u32 max_send_sge;
	u32 max_inline;
	bool sq_sig_all;
	struct delayed_work sq_work;
	unsigned int rnr_tries;		/* RNR retries spent on the head WQE */
	unsigned int retry_tries;	/* transport retries spent on it */

	/* Receive side, under resp_lock. */
	struct mutex resp_lock;		/* see the data path lock order */
	struct sodp_ring rq;		/* unused (entries 0) with an SRQ */
	u32 rq_cons;
	u32 max_recv_sge;
	struct sodp_srq *srq;

	struct sodp_cq *scq;
	struct sodp_cq *rcq;
};

static inline struct sodp_qp *to_sqp(struct ib_qp *ibqp)
{
	return container_of(ibqp, struct sodp_qp, ibqp);
}

extern struct workqueue_struct *sodp_wq;

/* sodp_cq.c */
int sodp_create_cq(struct ib_cq *ibcq, const struct ib_cq_init_attr *attr,
		   struct uverbs_attr_bundle *attrs);
int sodp_destroy_cq(struct ib_cq *ibcq, struct ib_udata *udata);
int sodp_resize_cq(struct ib_cq *ibcq, int cqe, struct ib_udata *udata);
int sodp_req_notify_cq(struct ib_cq *ibcq, enum ib_cq_notify_flags flags);

/* sodp_srq.c */
int sodp_create_srq(struct ib_srq *ibsrq, struct ib_srq_init_attr *init,
		    struct ib_udata *udata);
int sodp_modify_srq(struct ib_srq *ibsrq, struct ib_srq_attr *attr,
		    enum ib_srq_attr_mask mask, struct ib_udata *udata);
int sodp_query_srq(struct ib_srq *ibsrq, struct ib_srq_attr *attr);
int sodp_destroy_srq(struct ib_srq *ibsrq, struct ib_udata *udata);
int sodp_post_srq_recv(struct ib_srq *ibsrq, const struct ib_recv_wr *wr,
		       const struct ib_recv_wr **bad_wr);

/* sodp_qp.c */
int sodp_create_qp(struct ib_qp *ibqp, struct ib_qp_init_attr *init,
		   struct ib_udata *udata);
int sodp_modify_qp(struct ib_qp *ibqp, struct ib_qp_attr *attr, int mask,
		   struct ib_udata *udata);
int sodp_query_qp(struct ib_qp *ibqp, struct ib_qp_attr *attr, int mask,
		  struct ib_qp_init_attr *init);
int sodp_destroy_qp(struct ib_qp *ibqp, struct ib_udata *udata);
int sodp_post_send(struct ib_qp *ibqp, const struct ib_send_wr *wr,
		   const struct ib_send_wr **bad_wr);
int sodp_post_recv(struct ib_qp *ibqp, const struct ib_recv_wr *wr,
		   const struct ib_recv_wr **bad_wr);
struct sodp_qp *sodp_qp_get_by_qpn(struct sodp_dev *sdev, u32 qpn);
void sodp_qp_put(struct sodp_qp *qp);
/*
 * sodp_qp_to_error - move @qp to ERR from the engine (a completion error),
 * raise @event (an affiliated async event, or -1 for none), flush its RQ
 * and kick its send worker to flush the SQ. Takes state_lock and
 * resp_lock: the caller holds neither, and no other QP's resp_lock
 * either (state_lock is outside every resp_lock in the lock order: a
 * worker drops the peer's resp_lock before it moves either QP to ERR).
 * Does nothing if @qp is already in ERR or was reset meanwhile.
 */
void sodp_qp_to_error(struct sodp_qp *qp, int event);
/*
 * Flush the RQ (not the SRQ): WR_FLUSH_ERR for each posted WQE. Takes
 * qp->resp_lock.
 */
void sodp_qp_flush_rq(struct sodp_qp *qp);
/*
 * sodp_qp_take_recv - the next receive WQE of @qp (its RQ or its SRQ),
 * copied out and validated. Caller holds qp->resp_lock.
 * Return: 0, -EAGAIN if none is posted (RNR), -EIO if the ring is corrupt.
 */
int sodp_qp_take_recv(struct sodp_qp *qp, struct sodp_recv *wqe);

/* sodp_engine.c */
int sodp_engine_init(void);
void sodp_engine_exit(void);
void sodp_qp_sq_work(struct work_struct *work);	/* qp->sq_work's function */
/* Wake the send worker now (state change). */
void sodp_qp_kick(struct sodp_qp *qp);
/* The doorbell: execute the SQ in the caller's context if it is free. */
void sodp_qp_doorbell(struct sodp_qp *qp);

/*
 * Moving data through MR views (sodp_mr.c). @iova ranges are checked
 * against the view's bounds (-ERANGE, -EOVERFLOW); access rights are the
 * caller's business. Pinned and ODP memory alike; ODP pages are faulted
 * in as needed (the caller may sleep and holds no region lock).
 */
int sodp_mr_access(struct sodp_mr_view *v, u64 iova, u64 len, bool write,
		   sodp_odp_chunk_fn fn, void *priv);
int sodp_mr_copy(struct sodp_mr_view *dst, u64 dst_iova,
		 struct sodp_mr_view *src, u64 src_iova, u64 len);

/* sodp_debugfs.c */
void sodp_debugfs_init(void);
void sodp_debugfs_exit(void);

#endif /* SODP_H */
