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
#include <rdma/ib_verbs.h>

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
};

extern struct sodp_obj_counts sodp_objs;

/* sodp_main.c */
struct sodp_dev *sodp_dev_get_by_netdev(struct net_device *ndev);

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

/* sodp_debugfs.c */
void sodp_debugfs_init(void);
void sodp_debugfs_exit(void);

#endif /* SODP_H */
