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

/* sodp_debugfs.c */
void sodp_debugfs_init(void);
void sodp_debugfs_exit(void);

#endif /* SODP_H */
