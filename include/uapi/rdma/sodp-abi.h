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

#endif /* SODP_ABI_USER_H */
