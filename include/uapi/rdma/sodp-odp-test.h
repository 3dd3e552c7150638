/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * /dev/sodp_odp_test: the ODP layer's test device (sodp_odp_test.ko).
 *
 * It makes the kernel read and write the calling process's memory through
 * an ODP region's translation entries, faulting as needed, exactly as the
 * data path does. Test and benchmark use only; not an ABI of the RDMA
 * device. Every struct has a fixed layout (naturally aligned 64-bit
 * fields, explicit padding that must be zero), the same for 32- and
 * 64-bit callers.
 *
 * Regions are named by a handle (> 0) private to the open file; closing the
 * file destroys its regions. A region belongs to the mm of the process that
 * created it: another process holding the same file (after fork, or a
 * passed descriptor) drives the device on that mm, not its own.
 *
 * Errors are those of include/kernel/sodp_odp.h, plus ENOENT for an
 * unknown handle and EFAULT for a bad pointer to the caller's buffer.
 */
#ifndef SODP_ODP_TEST_H
#define SODP_ODP_TEST_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define SODP_ODP_TEST_DEV	"/dev/sodp_odp_test"

/* CREATE access */
#define SODP_ODP_TEST_ACCESS_READ	(1U << 0)
#define SODP_ODP_TEST_ACCESS_WRITE	(1U << 1)

/* CREATE: addr 0, len ~0 (SIZE_MAX) makes an implicit region. */
struct sodp_odp_test_create {
	__aligned_u64 addr;
	__aligned_u64 len;
	__u32 access;
	__u32 handle;		/* out */
};

/* DESTROY, PREFETCH_WAIT */
struct sodp_odp_test_handle {
	__u32 handle;
	__u32 reserved;
};

/*
 * READ: region [addr, addr + len) -> buf. WRITE: buf -> region. The kernel
 * copies through the region's entries (a bounce buffer stands between them
 * and the user buffer, which is never touched under the region lock).
 * NOFAULT: fail with EAGAIN instead of faulting a missing page.
 */
#define SODP_ODP_TEST_RW_NOFAULT	(1U << 0)

struct sodp_odp_test_rw {
	__u32 handle;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
	__aligned_u64 buf;
};

/* FAULT: WRITE faults for write; SNAPSHOT faults nothing, records what is present. */
#define SODP_ODP_TEST_FAULT_WRITE	(1U << 0)
#define SODP_ODP_TEST_FAULT_SNAPSHOT	(1U << 1)

struct sodp_odp_test_fault {
	__u32 handle;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
};

/* PREFETCH modes and flags */
#define SODP_ODP_TEST_PREFETCH		0
#define SODP_ODP_TEST_PREFETCH_WRITE	1
#define SODP_ODP_TEST_PREFETCH_NO_FAULT	2
#define SODP_ODP_TEST_PREFETCH_ASYNC	(1U << 0)

struct sodp_odp_test_prefetch {
	__u32 handle;
	__u32 mode;
	__u32 flags;
	__u32 reserved;
	__aligned_u64 addr;
	__aligned_u64 len;
};

/* RESIDENCY: one byte per page from the page holding addr */
#define SODP_ODP_TEST_RES_PRESENT	(1U << 0)
#define SODP_ODP_TEST_RES_WRITE		(1U << 1)
#define SODP_ODP_TEST_RES_DIRTY		(1U << 2)
#define SODP_ODP_TEST_RES_HUGE		(1U << 3)

struct sodp_odp_test_residency {
	__u32 handle;
	__u32 reserved;
	__aligned_u64 addr;
	__aligned_u64 npages;
	__aligned_u64 buf;	/* __u8[npages] */
};

/* COUNTERS: see struct sodp_odp_counters in include/kernel/sodp_odp.h */
struct sodp_odp_test_counters {
	__u32 handle;
	__u32 reserved;
	__aligned_u64 page_faults;
	__aligned_u64 page_faults_handled;
	__aligned_u64 page_invalidations;
	__aligned_u64 page_invalidations_handled;
	__aligned_u64 page_prefetch;
	__aligned_u64 page_snapshot;
	__aligned_u64 fault_retries;
	__aligned_u64 invalidate_nonblock_busy;
	__aligned_u64 pages_present;
	__aligned_u64 children;
};

/* COPY: region dst [dst_addr, +len) <- region src [src_addr, +len), one copy */
struct sodp_odp_test_copy {
	__u32 dst;
	__u32 src;
	__aligned_u64 dst_addr;
	__aligned_u64 src_addr;
	__aligned_u64 len;
};

/*
 * INJECT: arm fault injection (global). fail_nth N > 0: the Nth allocation
 * of the ODP layer from now fails with ENOMEM. busy N: the next N HMM
 * attempts see EBUSY. timeout_ms: if not 0, the new fault timeout. The
 * values armed before the call (what is left of them) are written back.
 */
struct sodp_odp_test_inject {
	__u32 fail_nth;
	__u32 busy;
	__u32 timeout_ms;
	__u32 reserved;
};

/*
 * PIN (benchmark): pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM) the
 * page-aligned [addr, addr + len), then unpin it, timing both in the kernel.
 */
struct sodp_odp_test_pin {
	__aligned_u64 addr;
	__aligned_u64 len;
	__aligned_u64 pin_ns;		/* out */
	__aligned_u64 unpin_ns;		/* out */
};

#define SODP_ODP_TEST_IOC_MAGIC		0xBA

#define SODP_ODP_TEST_IOW(nr, type) _IOW(SODP_ODP_TEST_IOC_MAGIC, nr, struct type)
#define SODP_ODP_TEST_IOWR(nr, type) _IOWR(SODP_ODP_TEST_IOC_MAGIC, nr, struct type)

#define SODP_ODP_TEST_CREATE		SODP_ODP_TEST_IOWR(0x00, sodp_odp_test_create)
#define SODP_ODP_TEST_DESTROY		SODP_ODP_TEST_IOW(0x01, sodp_odp_test_handle)
#define SODP_ODP_TEST_READ		SODP_ODP_TEST_IOW(0x02, sodp_odp_test_rw)
#define SODP_ODP_TEST_WRITE		SODP_ODP_TEST_IOW(0x03, sodp_odp_test_rw)
#define SODP_ODP_TEST_FAULT		SODP_ODP_TEST_IOW(0x04, sodp_odp_test_fault)
#define SODP_ODP_TEST_PREFETCH_IOC	SODP_ODP_TEST_IOW(0x05, sodp_odp_test_prefetch)
#define SODP_ODP_TEST_PREFETCH_WAIT	SODP_ODP_TEST_IOW(0x06, sodp_odp_test_handle)
#define SODP_ODP_TEST_RESIDENCY		SODP_ODP_TEST_IOW(0x07, sodp_odp_test_residency)
#define SODP_ODP_TEST_COUNTERS		SODP_ODP_TEST_IOWR(0x08, sodp_odp_test_counters)
#define SODP_ODP_TEST_COPY		SODP_ODP_TEST_IOW(0x09, sodp_odp_test_copy)
#define SODP_ODP_TEST_INJECT		SODP_ODP_TEST_IOWR(0x0a, sodp_odp_test_inject)
#define SODP_ODP_TEST_PIN		SODP_ODP_TEST_IOWR(0x0b, sodp_odp_test_pin)

#endif /* SODP_ODP_TEST_H */
