/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sodp ODP memory layer: device-side translation of one process's virtual
 * memory, faulted on demand with HMM, kept coherent by an
 * mmu_interval_notifier. Nothing is pinned.
 *
 * A region covers [addr, addr + len) of one mm. Its translation entries
 * (one per base page, plus one bit per 2 MiB block mapped huge by the CPU)
 * are what the data path reads: the page, whether the device may write it,
 * and whether the device wrote it. The data path only touches a page while
 * it holds the region lock and sees a valid entry; the notifier clears
 * entries under that same lock before the kernel can free or move a page.
 *
 * Two kinds of regions:
 *
 *   explicit  [addr, addr + len), one notifier, entries for every page,
 *             in one table per 2 MiB block allocated when the block first
 *             gets a valid entry (never for what is not mapped); creation
 *             records (snapshot, no fault) whatever the process has
 *             already mapped.
 *   implicit  addr 0, len SIZE_MAX: the whole address space. It has no
 *             entries itself; children of SODP_ODP_CHILD_SIZE (2 MiB,
 *             naturally aligned) are created on first use, each an
 *             explicit-like leaf with its own notifier and its own lock,
 *             and reclaimed when an invalidation (or a failed fault)
 *             leaves them empty.
 *
 * Lock order (outermost first), in the style of mm/mmu_notifier.c:
 *
 *   mmap_lock of the region's mm (read, for hmm_range_fault)
 *     the mm's invalidation, which may run under mmap_lock, under the
 *     page table locks' callers, and from direct reclaim (fs_reclaim):
 *       fs_reclaim
 *         region->lock (a mutex; the leaf's, see below)
 *           at most one more region->lock, only inside sodp_odp_copy(),
 *           the two leaves taken in ascending order of their struct
 *           sodp_odp_region pointers (any fixed total order would do)
 *             kmap_local_page() of entry pages, the chunk callbacks
 *   implicit parent's children xarray lock (a spinlock): a leaf; never
 *   held together with a region lock or across anything that sleeps.
 *   a leaf's tables xarray lock (a spinlock): a leaf, taken only to
 *   insert a table, with no region lock held (lookups are RCU).
 *
 * Consequences, and the rules every caller (the QP engine included)
 * follows:
 *
 *   - Nothing that may enter reclaim (GFP_KERNEL allocations), fault user
 *     memory (copy_{to,from}_user, get_user_pages) or take an mmap lock
 *     runs under a region lock: reclaim or a fault can invalidate the very
 *     region and wait for its lock. lockdep is told at lock
 *     initialisation that the region lock nests inside fs_reclaim.
 *   - mmu_interval_read_begin() and mmu_interval_notifier_remove() may wait
 *     for an invalidation in progress, which may wait for a region lock:
 *     both are only called with no region lock held.
 *   - hmm_range_fault() runs with no region lock held; its result is
 *     committed under the lock only if mmu_interval_read_retry() says no
 *     invalidation intervened (the usual seq-retry protocol).
 *   - A caller holds no region lock when it calls any sodp_odp_* function;
 *     the functions never return with a region lock held.
 *   - Two regions at once (a copy from one MR to another) go through
 *     sodp_odp_copy(), which faults each side with no lock held, then holds
 *     both leaves' locks (ascending pointer order; the same leaf once)
 *     while it copies page to page, and drops both before faulting again.
 *     Nobody else ever holds two region locks, so there is no ABBA.
 *
 * Lifetime: a region is reference counted. sodp_odp_region_create() returns
 * the creator's reference; sodp_odp_region_destroy() revokes the region
 * (every later or concurrent operation fails with -ENOENT, every entry is
 * cleared and the pages the device wrote are marked dirty) and drops that
 * reference. Anyone else using the region (the engine, a queued
 * asynchronous prefetch) holds a reference from sodp_odp_region_get(). The
 * notifier is removed and the memory freed when the last reference goes.
 * When the mm exits first, the notifier's release clears everything, and
 * every later fault fails with -EFAULT (mmget_not_zero() fails).
 *
 * Errors (all operations):
 *   -EINVAL     bad flags, mode or access, zero length at creation.
 *   -EOVERFLOW  addr + len wraps around.
 *   -ERANGE     [addr, addr + len) is not inside the region (an explicit
 *               region's registered bytes; an implicit region's user
 *               address space, below the mm's task_size).
 *   -EPERM      write intent on a region created without
 *               SODP_ODP_ACCESS_WRITE, or on memory the CPU may not write
 *               (mprotect(PROT_READ), a read-only file mapping):
 *               hmm_range_fault() refuses it at once, nothing loops.
 *   -EFAULT     nothing is mapped there, or it cannot be (PROT_NONE,
 *               VM_IO/VM_PFNMAP, SIGBUS-backed), or the mm has exited.
 *   -EBUSY      invalidations kept colliding with a fault for longer than
 *               the fault timeout (module parameter odp_fault_timeout_ms,
 *               1000 ms by default, as HMM_RANGE_DEFAULT_TIMEOUT) and for
 *               at least 8 attempts.
 *   -EAGAIN     SODP_ODP_NOFAULT access found a page not present.
 *   -ENOENT     the region was destroyed.
 *   -ENOMEM     allocation failed. Everything the layer allocates for a
 *               region (the region, its tables, implicit children, queued
 *               prefetch work) is charged to the memory cgroup of the
 *               region's mm (the owner's), whoever runs the allocation.
 *   -EINTR      a fatal signal arrived while waiting for the mmap lock, or
 *               during a long operation (every loop over a caller-sized
 *               range checks for one and reschedules).
 *
 * -ESTALE is internal (a reclaimed implicit child, looked up again) and
 * never returned.
 */
#ifndef SODP_ODP_H
#define SODP_ODP_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

/* Region access rights (sodp_odp_region_create). Read is always allowed. */
#define SODP_ODP_ACCESS_READ	BIT(0)
#define SODP_ODP_ACCESS_WRITE	BIT(1)

/* Intent flags of sodp_odp_fault() and sodp_odp_access(). */
#define SODP_ODP_WRITE		BIT(0)	/* make writable; access: device writes */
#define SODP_ODP_NOFAULT	BIT(1)	/* fault nothing: snapshot / -EAGAIN */

enum sodp_odp_prefetch_mode {
	SODP_ODP_PREFETCH,		/* fault for read */
	SODP_ODP_PREFETCH_WRITE,	/* fault for write */
	SODP_ODP_PREFETCH_NO_FAULT,	/* record what is present only */
};

/* sodp_odp_prefetch() flags */
#define SODP_ODP_PREFETCH_ASYNC	BIT(0)

/*
 * At most this many asynchronous prefetches are queued or running per
 * region; more are dropped (a prefetch is a hint: the pages are faulted
 * when used).
 */
#define SODP_ODP_PREFETCH_MAX_QUEUED	64

/* sodp_odp_residency(): one byte per page */
#define SODP_ODP_RES_PRESENT	BIT(0)	/* valid entry */
#define SODP_ODP_RES_WRITE	BIT(1)	/* the device may write it */
#define SODP_ODP_RES_DIRTY	BIT(2)	/* the device wrote it */
#define SODP_ODP_RES_HUGE	BIT(3)	/* part of a 2 MiB block entry */

/* Implicit regions: the parent's children each cover one naturally
 * aligned 2 MiB chunk (see sodp_odp.c for why this size).
 */
#define SODP_ODP_CHILD_SHIFT	21
#define SODP_ODP_CHILD_SIZE	BIT(SODP_ODP_CHILD_SHIFT)

/* The huge-entry granularity: the CPU's PMD, 2 MiB on x86-64. */
#define SODP_ODP_BLOCK_SHIFT	PMD_SHIFT
#define SODP_ODP_BLOCK_SIZE	BIT(SODP_ODP_BLOCK_SHIFT)

/* Hot loops fault and snapshot at most this many pages per HMM call. */
#define SODP_ODP_BATCH_PAGES	512

/*
 * Counters of a region (an implicit region's include all its children).
 * The names are mlx5's where mlx5 has one; the meaning is exact:
 *
 * page_faults                 fault requests that had to call
 *                             hmm_range_fault() asking for faults (from
 *                             sodp_odp_fault() or an access or copy that
 *                             found a page missing); a request whose pages
 *                             were all already valid is not counted.
 * page_faults_handled         pages whose entry such requests made valid or
 *                             made writable.
 * page_invalidations          invalidation callbacks received (the notifier
 *                             only calls a region whose interval overlaps
 *                             the invalidated range; the mm's release and
 *                             non-blockable attempts that gave up count).
 * page_invalidations_handled  valid entries those callbacks cleared.
 * page_prefetch               pages whose entry a prefetch (any mode, sync
 *                             or async) made valid or made writable.
 * page_snapshot               pages recorded by the snapshot taken at
 *                             region (or implicit child) creation.
 * fault_retries               HMM attempts repeated because an invalidation
 *                             collided (-EBUSY or a failed read_retry).
 * invalidate_nonblock_busy    non-blockable invalidations refused (the
 *                             region lock was held: the caller retries).
 * pages_present               valid entries now.
 * children                    implicit: children alive now.
 */
struct sodp_odp_counters {
	u64 page_faults;
	u64 page_faults_handled;
	u64 page_invalidations;
	u64 page_invalidations_handled;
	u64 page_prefetch;
	u64 page_snapshot;
	u64 fault_retries;
	u64 invalidate_nonblock_busy;
	u64 pages_present;
	u64 children;
};

/* The live counts behind struct sodp_odp_counters (atomic: the notifier
 * and the fault paths update them concurrently).
 */
struct sodp_odp_stats {
	atomic64_t page_faults;
	atomic64_t page_faults_handled;
	atomic64_t page_invalidations;
	atomic64_t page_invalidations_handled;
	atomic64_t page_prefetch;
	atomic64_t page_snapshot;
	atomic64_t fault_retries;
	atomic64_t invalidate_nonblock_busy;
	atomic64_t pages_present;
	atomic_t children;
};

enum sodp_odp_type {
	SODP_ODP_EXPLICIT,
	SODP_ODP_IMPLICIT,
	SODP_ODP_CHILD,
};

/*
 * struct sodp_odp_region - one ODP region. Private to the layer: callers
 * use the functions below; the layout is here so that the data path can be
 * inlined later without another indirection.
 *
 * Translation entries: one unsigned long per base page of [@start, @end),
 * kept in @tables (one table per 2 MiB block): the page frame number
 * shifted by PAGE_SHIFT, ORed with SODP_ODP_E_* flags, 0 when invalid.
 * @huge has one bit per 2 MiB block (counted from ALIGN_DOWN(@start,
 * 2 MiB), as the tables) that lies entirely inside the
 * region and is mapped by the CPU with a PMD-or-larger mapping (THP,
 * hugetlbfs): the block was installed as a unit from one HMM result, its
 * 512 entries are all valid with consecutive pfns, and any invalidation
 * touching the block clears it whole. Keeping the per-page entries as well
 * makes the data path uniform (always index by page).
 */
struct sodp_odp_region {
	struct kref ref;
	enum sodp_odp_type type;
	unsigned int access;		/* SODP_ODP_ACCESS_* */
	/* mmgrab()ed from creation to release; mmget_not_zero() to fault. */
	struct mm_struct *mm;
	u64 addr;			/* as registered */
	u64 len;
	unsigned long start;		/* page-aligned span of the entries */
	unsigned long end;
	/* &own_stats, or the implicit parent's for a child */
	struct sodp_odp_stats *stats;
	struct sodp_odp_stats own_stats;

	/* ---- leaves (explicit regions and implicit children) ---- */
	struct mmu_interval_notifier notifier;
	bool notifier_live;		/* inserted, not yet removed */
	/*
	 * The region lock. Protects the entries in @tables, @huge, @nvalid,
	 * @dead, @mm_gone, @reclaim_pending and @unpublished; held by the
	 * invalidate callback
	 * around mmu_interval_set_seq() and by whoever commits an HMM
	 * result (mmu_interval_read_retry()) or reads entries to touch the
	 * pages. Nests inside fs_reclaim (see the lock order above).
	 */
	struct mutex lock;
	/*
	 * Translation tables: index sodp_odp_block() -> an array of
	 * SODP_ODP_BLOCK_PAGES entries for that 2 MiB block. A table is
	 * allocated (with no region lock held, before an HMM result that
	 * has a page in the block is committed) and inserted once, and
	 * freed only with the region, so a table pointer stays valid while
	 * a reference is held. A block without a table has no valid entry.
	 * The xarray's own spinlock serialises insertions only.
	 */
	struct xarray tables;
	unsigned long *huge;
	unsigned long nvalid;		/* valid entries */
	bool dead;			/* destroyed, or child reclaimed */
	bool mm_gone;			/* the notifier's release ran */

	/* ---- implicit children ---- */
	struct sodp_odp_region *parent;	/* a reference held */
	struct work_struct reclaim_work;
	bool reclaim_pending;		/* @reclaim_work queued, ref held */
	/*
	 * Not yet in the parent's xarray: never reclaimed (an invalidation
	 * during the creation snapshot must not kill it), cleared under
	 * the lock once published.
	 */
	bool unpublished;

	/* ---- implicit parent ---- */
	/*
	 * Children by (address >> SODP_ODP_CHILD_SHIFT). The xarray holds
	 * one reference on each child; whoever removes a child from it
	 * (xa_cmpxchg) owns that reference. Its spinlock also protects
	 * @parent_dead, so no child is added after destruction began.
	 */
	struct xarray children;
	bool parent_dead;

	/* ---- asynchronous prefetch ---- */
	atomic_t prefetch_inflight;
	wait_queue_head_t prefetch_wq;
};

/* Entry flags (low bits of an entry; the pfn is above PAGE_SHIFT). */
#define SODP_ODP_E_VALID	BIT(0)
#define SODP_ODP_E_WRITE	BIT(1)
#define SODP_ODP_E_DIRTY	BIT(2)
#define SODP_ODP_E_FLAGS	(SODP_ODP_E_VALID | SODP_ODP_E_WRITE | \
				 SODP_ODP_E_DIRTY)

/**
 * typedef sodp_odp_chunk_fn - consumer of one kernel-mapped chunk
 * @priv: the caller's cookie
 * @kaddr: kernel address of the bytes, valid only during the call
 * @len: number of bytes (never crosses a page boundary)
 *
 * Called under the region lock, in process context: it may not sleep on
 * anything reclaim or an invalidation could wait for (no GFP_KERNEL
 * allocation, no user memory access, no other region lock, no sodp_odp_*
 * call). A write access expects it to store into @kaddr.
 *
 * Return: 0 to go on, or a negative errno that ends the access and is
 * returned by sodp_odp_access().
 */
typedef int (*sodp_odp_chunk_fn)(void *priv, void *kaddr, size_t len);

/* Life cycle of the layer; called from sodp_init()/sodp_exit(). */
int sodp_odp_init(void);
void sodp_odp_exit(void);

struct sodp_odp_region *sodp_odp_region_create(struct mm_struct *mm,
					       u64 addr, u64 len,
					       unsigned int access);
void sodp_odp_region_destroy(struct sodp_odp_region *r);
void sodp_odp_region_get(struct sodp_odp_region *r);
void sodp_odp_region_put(struct sodp_odp_region *r);

int sodp_odp_fault(struct sodp_odp_region *r, u64 addr, u64 len,
		   unsigned int flags);
int sodp_odp_prefetch(struct sodp_odp_region *r, u64 addr, u64 len,
		      enum sodp_odp_prefetch_mode mode, unsigned int flags);
void sodp_odp_prefetch_wait(struct sodp_odp_region *r);

int sodp_odp_access(struct sodp_odp_region *r, u64 addr, u64 len,
		    unsigned int flags, sodp_odp_chunk_fn fn, void *priv);
int sodp_odp_copy(struct sodp_odp_region *dst, u64 dst_addr,
		  struct sodp_odp_region *src, u64 src_addr, u64 len);

int sodp_odp_residency(struct sodp_odp_region *r, u64 addr, u64 npages,
		       u8 *res);
void sodp_odp_read_counters(struct sodp_odp_region *r,
			    struct sodp_odp_counters *c);

/*
 * Fault injection (tests): @fail_nth > 0 makes the fail_nth-th allocation
 * the layer attempts from now fail with -ENOMEM (notifier insertion counts
 * as one); @busy > 0 makes that many HMM attempts report -EBUSY, as if an
 * invalidation had collided; @timeout_ms, if not 0, replaces the fault
 * timeout. sodp_odp_inject_get() reads what is still armed.
 */
struct sodp_odp_inject {
	unsigned int fail_nth;
	unsigned int busy;
	unsigned int timeout_ms;
};

void sodp_odp_inject_set(const struct sodp_odp_inject *inj);
void sodp_odp_inject_get(struct sodp_odp_inject *inj);

#endif /* SODP_ODP_H */
