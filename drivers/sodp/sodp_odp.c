// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The ODP memory layer: regions over a process's virtual memory whose
 * device-side translation entries are filled on demand by hmm_range_fault()
 * and cleared by an mmu_interval_notifier. The API, the lock order and the
 * lifetime rules are documented in include/kernel/sodp_odp.h; this file
 * says how.
 *
 * Faulting (sodp_odp_leaf_map): for at most SODP_ODP_BATCH_PAGES pages at a
 * time, with no region lock held: mmu_interval_read_begin(), the mmap read
 * lock (taken from any context: the caller may be a worker, so the mm is
 * pinned with mmget_not_zero(), never current->mm), hmm_range_fault(),
 * unlock; then the region lock, mmu_interval_read_retry(), and the result is
 * committed to the entries only if no invalidation intervened. -EBUSY and
 * failed retries go round again until odp_fault_timeout_ms has passed.
 * Without HMM_PFN_REQ_FAULT the same walk is a snapshot: it records what the
 * CPU has mapped and faults nothing.
 *
 * Invalidation (sodp_odp_invalidate): the region lock (or, when the caller
 * cannot block, a trylock that refuses), mmu_interval_set_seq(), then the
 * entries of the range are cleared, a 2 MiB block entry as a whole, and the
 * pages the device wrote are marked dirty with folio_mark_dirty(). The folio
 * lock is never taken: truncation calls the notifier with the folio locked,
 * so locking it here could deadlock; the folio cannot be truncated or freed
 * under us because that has to pass through this very callback first, which
 * holds the region lock (the same reasoning as ib_umem_odp's).
 *
 * Implicit regions: children of 2 MiB. mlx5 uses 1 GiB children because its
 * hardware indirection table wants few, big entries; we have no such limit,
 * and 2 MiB makes a child's entry table exactly one page (512 entries of 8
 * bytes, one kmalloc, never vmalloc), makes one child correspond to one PMD
 * (a THP or a 2 MiB slice of a hugetlbfs page is one block entry of one
 * child), and makes a sparse address space cost 4 KiB per touched 2 MiB
 * rather than 2 MiB of table per touched 1 GiB. The price: more notifiers in
 * the mm's interval tree (lookups are O(log n)) and one callback per child
 * when a large range is invalidated.
 *
 * A child's life: created by the first fault (or snapshot prefetch) that
 * needs it, inserted in the parent's xarray (which holds a reference), with
 * its own notifier and a snapshot of its 2 MiB. When an invalidation (or a
 * failed fault) leaves it without valid entries, reclaim work is queued
 * (holding a reference). The work marks it dead under its lock if it is
 * still empty, then removes it from the xarray with xa_cmpxchg() and drops
 * the xarray's reference; the last reference removes the notifier and frees
 * it. Race with a fault: a fault holding a reference to the child finds it
 * dead when it takes the lock to commit (or to read entries), drops it
 * (-ESTALE internally) and looks the chunk up again; it then finds the dead
 * child still in the xarray (it replaces it with a new one by xa_cmpxchg)
 * or already gone (it inserts a new one). Whoever's xa_cmpxchg takes the
 * dead child out owns the xarray's reference, so it is dropped exactly
 * once. A dead child never gets valid entries again, so the old and new
 * child may briefly both have notifiers on the same range without harm.
 */

#include <linux/debugfs.h>
#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "sodp.h"
#include "sodp_odp.h"

#define SODP_ODP_BLOCK_PAGES	(SODP_ODP_BLOCK_SIZE >> PAGE_SHIFT)

/*
 * A fault gives up with -EBUSY only after the timeout AND this many
 * attempts: on a starved CPU (an overloaded host, TCG) wall time alone says
 * little about how often the fault really tried.
 */
#define SODP_ODP_MIN_TRIES	8

/* Internal results of a copy step: which side lacks a usable entry. */
#define SODP_ODP_MISS_SRC	1
#define SODP_ODP_MISS_DST	2

enum sodp_odp_why {
	SODP_ODP_WHY_FAULT,
	SODP_ODP_WHY_PREFETCH,
	SODP_ODP_WHY_SNAPSHOT,
};

static unsigned int odp_fault_timeout_ms = 1000;
module_param(odp_fault_timeout_ms, uint, 0644);
MODULE_PARM_DESC(odp_fault_timeout_ms,
		 "ODP: give up a fault when invalidations kept colliding with it for this long (ms)");

/* Child reclaim and asynchronous prefetch. */
static struct workqueue_struct *sodp_odp_wq;
static struct dentry *sodp_odp_debugfs;

/* Live objects, for leak checks (debugfs sodp/odp and the unload check). */
static struct {
	atomic_t regions;	/* explicit */
	atomic_t implicit;
	atomic_t children;
	atomic_t prefetch;	/* queued or running prefetch work */
} sodp_odp_objs;

/* Fault injection, see sodp_odp_inject_set(). */
static atomic_t sodp_odp_fail_nth;
static atomic_t sodp_odp_busy;

/* Decrements *@v unless it is 0; returns the value before. */
static int sodp_odp_dec_unless_zero(atomic_t *v)
{
	int old = atomic_read(v);

	do {
		if (old <= 0)
			return 0;
	} while (!atomic_try_cmpxchg(v, &old, old - 1));
	return old;
}

/* True if this allocation must fail (fault injection). */
static bool sodp_odp_fail_alloc(void)
{
	return sodp_odp_dec_unless_zero(&sodp_odp_fail_nth) == 1;
}

/* True if this HMM attempt must report -EBUSY (fault injection). */
static bool sodp_odp_fake_busy(void)
{
	return sodp_odp_dec_unless_zero(&sodp_odp_busy) > 0;
}

void sodp_odp_inject_set(const struct sodp_odp_inject *inj)
{
	atomic_set(&sodp_odp_fail_nth, min_t(unsigned int, inj->fail_nth, INT_MAX));
	atomic_set(&sodp_odp_busy, min_t(unsigned int, inj->busy, INT_MAX));
	if (inj->timeout_ms)
		WRITE_ONCE(odp_fault_timeout_ms, inj->timeout_ms);
}
EXPORT_SYMBOL_GPL(sodp_odp_inject_set);

void sodp_odp_inject_get(struct sodp_odp_inject *inj)
{
	inj->fail_nth = atomic_read(&sodp_odp_fail_nth);
	inj->busy = atomic_read(&sodp_odp_busy);
	inj->timeout_ms = READ_ONCE(odp_fault_timeout_ms);
}
EXPORT_SYMBOL_GPL(sodp_odp_inject_get);

static unsigned long sodp_odp_deadline(void)
{
	return jiffies + msecs_to_jiffies(READ_ONCE(odp_fault_timeout_ms));
}

/* ---- entries ---------------------------------------------------------- */

static inline unsigned long sodp_odp_mkentry(unsigned long pfn,
					     unsigned long flags)
{
	return (pfn << PAGE_SHIFT) | flags;
}

static inline unsigned long sodp_odp_entry_pfn(unsigned long e)
{
	return e >> PAGE_SHIFT;
}

static inline struct page *sodp_odp_entry_page(unsigned long e)
{
	return pfn_to_page(sodp_odp_entry_pfn(e));
}

static inline unsigned long sodp_odp_block(const struct sodp_odp_region *r,
					   unsigned long va)
{
	return (va >> SODP_ODP_BLOCK_SHIFT) -
	       (r->start >> SODP_ODP_BLOCK_SHIFT);
}

/* The first address of block @b of @r (see sodp_odp_block()). */
static inline unsigned long sodp_odp_block_va(const struct sodp_odp_region *r,
					      unsigned long b)
{
	return ALIGN_DOWN(r->start, SODP_ODP_BLOCK_SIZE) +
	       (b << SODP_ODP_BLOCK_SHIFT);
}

/*
 * The entry of the page at @va in leaf @r, or NULL when its block has no
 * table yet (no valid entry). Tables are freed only with the region.
 */
static inline unsigned long *sodp_odp_entry(struct sodp_odp_region *r,
					    unsigned long va)
{
	unsigned long *t = xa_load(&r->tables, sodp_odp_block(r, va));

	if (!t)
		return NULL;
	return t + ((va >> PAGE_SHIFT) & (SODP_ODP_BLOCK_PAGES - 1));
}

/* The value of that entry, 0 (invalid) without a table. */
static inline unsigned long sodp_odp_entry_val(struct sodp_odp_region *r,
					       unsigned long va)
{
	unsigned long *e = sodp_odp_entry(r, va);

	return e ? *e : 0;
}

/*
 * Charge what the layer allocates for a region to the memory cgroup of
 * the region's mm (its owner), whoever runs the allocation: a worker, the
 * engine's kworker, another process's system call. Allocations use
 * GFP_KERNEL_ACCOUNT inside.
 */
struct sodp_odp_memcg {
	struct mem_cgroup *memcg;
	struct mem_cgroup *old;
};

static void sodp_odp_memcg_enter(struct mm_struct *mm, struct sodp_odp_memcg *m)
{
	m->memcg = get_mem_cgroup_from_mm(mm);
	m->old = set_active_memcg(m->memcg);
}

static void sodp_odp_memcg_exit(struct sodp_odp_memcg *m)
{
	set_active_memcg(m->old);
	mem_cgroup_put(m->memcg);
}

static int sodp_odp_dead_err(const struct sodp_odp_region *r)
{
	/* A dead child is looked up again; a dead region is gone. */
	return r->type == SODP_ODP_CHILD ? -ESTALE : -ENOENT;
}

/*
 * Clear the entries of [start, end) (clipped to the region; widened to
 * whole 2 MiB block entries) and mark dirty the pages the device wrote.
 * Returns the number of valid entries cleared.
 */
static unsigned long sodp_odp_clear(struct sodp_odp_region *r,
				    unsigned long start, unsigned long end)
{
	struct folio *last = NULL;
	unsigned long b, blast, idx, va, bva, bend, n = 0;
	unsigned long *t;

	lockdep_assert_held(&r->lock);

	start = max(start, r->start);
	end = min(end, r->end);
	if (start >= end || !r->nvalid)
		return 0;

	b = sodp_odp_block(r, start);
	blast = sodp_odp_block(r, end - 1);
	if (test_bit(b, r->huge))
		start = ALIGN_DOWN(start, SODP_ODP_BLOCK_SIZE);
	if (test_bit(blast, r->huge))
		end = ALIGN(end, SODP_ODP_BLOCK_SIZE);
	bitmap_clear(r->huge, b, blast - b + 1);

	/*
	 * Only blocks that have a table can have valid entries, and the
	 * scan stops once every valid entry is cleared: the cost follows
	 * what is mapped, not the size of the range (which may be 1 TiB).
	 */
	xa_for_each_range(&r->tables, idx, t, b, blast) {
		bva = sodp_odp_block_va(r, idx);
		bend = min(end, bva + SODP_ODP_BLOCK_SIZE);
		for (va = max(start, bva); va < bend; va += PAGE_SIZE) {
			unsigned long *ep = t + ((va >> PAGE_SHIFT) &
						 (SODP_ODP_BLOCK_PAGES - 1));
			unsigned long e = *ep;

			if (!(e & SODP_ODP_E_VALID))
				continue;
			if (e & SODP_ODP_E_DIRTY) {
				struct folio *folio =
					page_folio(sodp_odp_entry_page(e));

				/* One call per folio: a huge block is one. */
				if (folio != last) {
					folio_mark_dirty(folio);
					last = folio;
				}
			}
			*ep = 0;
			n++;
		}
		if (n == r->nvalid)
			break;
	}
	r->nvalid -= n;
	atomic64_sub(n, &r->stats->pages_present);
	return n;
}

/*
 * Set entry @i to @pfn with @flags, keeping the device-dirty bit of the same
 * page. Returns 1 if the entry became valid or became writable.
 */
static unsigned int sodp_odp_set(struct sodp_odp_region *r, unsigned long *ep,
				 unsigned long pfn, unsigned long flags)
{
	unsigned long old = *ep;

	if (!(old & SODP_ODP_E_VALID)) {
		*ep = sodp_odp_mkentry(pfn, flags);
		r->nvalid++;
		atomic64_inc(&r->stats->pages_present);
		return 1;
	}
	if (sodp_odp_entry_pfn(old) == pfn) {
		*ep = sodp_odp_mkentry(pfn, flags | (old & SODP_ODP_E_DIRTY));
		return (flags & SODP_ODP_E_WRITE) && !(old & SODP_ODP_E_WRITE);
	}
	/*
	 * Another page without an invalidation in between cannot happen
	 * while the sequence is valid; stay correct anyway.
	 */
	if (old & SODP_ODP_E_DIRTY)
		folio_mark_dirty(page_folio(sodp_odp_entry_page(old)));
	*ep = sodp_odp_mkentry(pfn, flags);
	return 1;
}

/*
 * Commit an HMM result for [start, end) of @r: called with the region lock
 * held, after mmu_interval_read_retry() said it is still current. A page the
 * CPU maps with a PMD or larger mapping, in a 2 MiB block entirely inside
 * the region, installs the whole block: HMM guarantees the mapping starts
 * at the order-aligned address, has the same flags throughout and maps
 * consecutive pfns, and the sequence guarantees it is still mapped so.
 * The tables were allocated by sodp_odp_tables_prepare(). Returns the
 * number of entries made valid or writable.
 */
static unsigned long sodp_odp_install(struct sodp_odp_region *r,
				      unsigned long start, unsigned long end,
				      const unsigned long *hmm_pfns,
				      bool fault, int *err)
{
	unsigned long npages = (end - start) >> PAGE_SHIFT;
	unsigned long i = 0, n = 0;

	lockdep_assert_held(&r->lock);

	while (i < npages) {
		unsigned long hp = hmm_pfns[i];
		unsigned long va = start + (i << PAGE_SHIFT);
		unsigned long flags = SODP_ODP_E_VALID;
		unsigned long pfn, bva, base, j, *t, *ep;

		if (!(hp & HMM_PFN_VALID) || (hp & HMM_PFN_ERROR)) {
			if (fault) {
				/* hmm_range_fault() said it faulted all. */
				*err = -EFAULT;
				break;
			}
			i++;
			continue;
		}
		if ((hp & HMM_PFN_WRITE) && (r->access & SODP_ODP_ACCESS_WRITE))
			flags |= SODP_ODP_E_WRITE;
		pfn = page_to_pfn(hmm_pfn_to_page(hp));

		bva = ALIGN_DOWN(va, SODP_ODP_BLOCK_SIZE);
		t = xa_load(&r->tables, sodp_odp_block(r, va));
		if (WARN_ON_ONCE(!t)) {
			/* Cannot happen: prepared. Leave it invalid. */
			i++;
			continue;
		}
		if (hmm_pfn_to_map_order(hp) >= SODP_ODP_BLOCK_SHIFT - PAGE_SHIFT &&
		    bva >= r->start && bva + SODP_ODP_BLOCK_SIZE <= r->end) {
			base = pfn - ((va - bva) >> PAGE_SHIFT);
			for (j = 0; j < SODP_ODP_BLOCK_PAGES; j++)
				n += sodp_odp_set(r, &t[j], base + j, flags);
			__set_bit(sodp_odp_block(r, bva), r->huge);
			i = (bva + SODP_ODP_BLOCK_SIZE - start) >> PAGE_SHIFT;
			continue;
		}
		/* A base page: its block, if any, is no longer one entry. */
		__clear_bit(sodp_odp_block(r, va), r->huge);
		ep = t + ((va >> PAGE_SHIFT) & (SODP_ODP_BLOCK_PAGES - 1));
		n += sodp_odp_set(r, ep, pfn, flags);
		i++;
	}
	return n;
}

/* ---- the notifier -------------------------------------------------------- */

static void sodp_odp_child_queue_reclaim(struct sodp_odp_region *c);

static bool sodp_odp_invalidate(struct mmu_interval_notifier *mni,
				const struct mmu_notifier_range *range,
				unsigned long cur_seq)
{
	struct sodp_odp_region *r =
		container_of(mni, struct sodp_odp_region, notifier);
	unsigned long n;

	if (mmu_notifier_range_blockable(range)) {
		mutex_lock(&r->lock);
	} else if (!mutex_trylock(&r->lock)) {
		atomic64_inc(&r->stats->invalidate_nonblock_busy);
		return false;
	}

	mmu_interval_set_seq(mni, cur_seq);
	if (range->event == MMU_NOTIFY_RELEASE)
		r->mm_gone = true;
	n = sodp_odp_clear(r, range->start, range->end);
	atomic64_inc(&r->stats->page_invalidations);
	atomic64_add(n, &r->stats->page_invalidations_handled);
	if (r->type == SODP_ODP_CHILD)
		sodp_odp_child_queue_reclaim(r);
	mutex_unlock(&r->lock);
	return true;
}

static const struct mmu_interval_notifier_ops sodp_odp_mn_ops = {
	.invalidate = sodp_odp_invalidate,
};

/* ---- faulting ----------------------------------------------------------- */

/*
 * Give leaf @r a table for every block of [start, end) in which the HMM
 * result @hmm_pfns has a page, before it is committed. No region lock held
 * (it allocates); charged to the owner of @r's mm. A snapshot of nothing
 * allocates nothing.
 */
static int sodp_odp_tables_prepare(struct sodp_odp_region *r,
				   unsigned long start, unsigned long end,
				   const unsigned long *hmm_pfns)
{
	struct sodp_odp_memcg m;
	unsigned long va, next, i;
	unsigned long *t, *old;
	int ret = 0;

	lockdep_assert_not_held(&r->lock);

	sodp_odp_memcg_enter(r->mm, &m);
	for (va = start; va < end; va = next) {
		bool any = false;

		next = min(end, ALIGN(va + 1, SODP_ODP_BLOCK_SIZE));
		for (i = (va - start) >> PAGE_SHIFT;
		     i < (next - start) >> PAGE_SHIFT; i++) {
			if (hmm_pfns[i] & HMM_PFN_VALID) {
				any = true;
				break;
			}
		}
		if (!any || xa_load(&r->tables, sodp_odp_block(r, va)))
			continue;
		if (sodp_odp_fail_alloc()) {
			ret = -ENOMEM;
			break;
		}
		t = kcalloc(SODP_ODP_BLOCK_PAGES, sizeof(*t),
			    GFP_KERNEL_ACCOUNT);
		if (!t) {
			ret = -ENOMEM;
			break;
		}
		old = xa_cmpxchg(&r->tables, sodp_odp_block(r, va), NULL, t,
				 GFP_KERNEL_ACCOUNT);
		if (old) {
			/* Someone else's table is there, or no memory. */
			kfree(t);
			if (xa_is_err(old)) {
				ret = xa_err(old);
				break;
			}
		}
	}
	sodp_odp_memcg_exit(&m);
	return ret;
}

/*
 * One HMM batch [start, end) of leaf @r (at most SODP_ODP_BATCH_PAGES pages,
 * @hmm_pfns big enough). The caller holds an mm_users reference. On success
 * the result is committed and, if @keep_locked, the region lock is held on
 * return; on error it is not.
 */
static int sodp_odp_map_batch(struct sodp_odp_region *r, unsigned long start,
			      unsigned long end, unsigned long *hmm_pfns,
			      unsigned int flags, bool keep_locked,
			      unsigned long *handled)
{
	unsigned long npages = (end - start) >> PAGE_SHIFT;
	bool fault = !(flags & SODP_ODP_NOFAULT);
	struct hmm_range range = {
		.notifier = &r->notifier,
		.start = start,
		.end = end,
		.hmm_pfns = hmm_pfns,
		.pfn_flags_mask = 0,
	};
	unsigned long deadline = sodp_odp_deadline();
	unsigned int tries = 0;
	int ret = 0;

	lockdep_assert_not_held(&r->lock);

	if (fault) {
		range.default_flags = HMM_PFN_REQ_FAULT;
		if (flags & SODP_ODP_WRITE)
			range.default_flags |= HMM_PFN_REQ_WRITE;
	}

	for (;;) {
		sodp_hmm_pfns_reset(hmm_pfns, npages);
		range.notifier_seq = mmu_interval_read_begin(&r->notifier);
		if (sodp_odp_fake_busy()) {
			ret = -EBUSY;
		} else {
			ret = mmap_read_lock_killable(r->mm);
			if (!ret) {
				ret = hmm_range_fault(&range);
				mmap_read_unlock(r->mm);
			}
		}
		if (!ret)
			ret = sodp_odp_tables_prepare(r, start, end, hmm_pfns);
		if (!ret) {
			mutex_lock(&r->lock);
			if (r->dead) {
				mutex_unlock(&r->lock);
				return sodp_odp_dead_err(r);
			}
			if (!mmu_interval_read_retry(&r->notifier,
						     range.notifier_seq))
				break;
			mutex_unlock(&r->lock);
			ret = -EBUSY;
		}
		if (ret != -EBUSY)
			return ret;
		atomic64_inc(&r->stats->fault_retries);
		if (++tries >= SODP_ODP_MIN_TRIES && time_after(jiffies, deadline))
			return -EBUSY;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}

	*handled += sodp_odp_install(r, start, end, hmm_pfns, fault, &ret);
	if (ret || !keep_locked)
		mutex_unlock(&r->lock);
	return ret;
}

/*
 * Fault (or, with SODP_ODP_NOFAULT, snapshot) the page-aligned
 * [start, end) of leaf @r, in batches. With @keep_locked the region lock is
 * held on successful return; the last batch's entries are then valid (and
 * writable for SODP_ODP_WRITE) until the caller unlocks.
 */
static int sodp_odp_leaf_map(struct sodp_odp_region *r, unsigned long start,
			     unsigned long end, unsigned int flags,
			     enum sodp_odp_why why, bool keep_locked)
{
	unsigned long npages = (end - start) >> PAGE_SHIFT;
	unsigned long batch = min_t(unsigned long, npages, SODP_ODP_BATCH_PAGES);
	unsigned long cur, next, handled = 0;
	unsigned long *hmm_pfns;
	int ret = 0;

	if (why == SODP_ODP_WHY_FAULT && !(flags & SODP_ODP_NOFAULT))
		atomic64_inc(&r->stats->page_faults);
	/* A hint (set under the lock): mmget_not_zero() decides. */
	if (READ_ONCE(r->mm_gone))
		return -EFAULT;

	if (sodp_odp_fail_alloc())
		return -ENOMEM;
	hmm_pfns = kmalloc_array(batch, sizeof(*hmm_pfns), GFP_KERNEL);
	if (!hmm_pfns)
		return -ENOMEM;

	if (!mmget_not_zero(r->mm)) {
		ret = -EFAULT;
		goto out_free;
	}
	for (cur = start; cur < end; cur = next) {
		next = min(end, cur + (batch << PAGE_SHIFT));
		/* A 1 TiB snapshot is 524288 batches: killable. */
		if (cur != start) {
			if (fatal_signal_pending(current)) {
				ret = -EINTR;
				break;
			}
			cond_resched();
		}
		ret = sodp_odp_map_batch(r, cur, next, hmm_pfns, flags,
					 keep_locked && next == end, &handled);
		if (ret)
			break;
	}
	/* May be the last user; never run exit_mmap() here. */
	mmput_async(r->mm);

	switch (why) {
	case SODP_ODP_WHY_FAULT:
		atomic64_add(handled, (flags & SODP_ODP_NOFAULT) ?
				      &r->stats->page_snapshot :
				      &r->stats->page_faults_handled);
		break;
	case SODP_ODP_WHY_PREFETCH:
		atomic64_add(handled, &r->stats->page_prefetch);
		break;
	case SODP_ODP_WHY_SNAPSHOT:
		atomic64_add(handled, &r->stats->page_snapshot);
		break;
	}
out_free:
	kfree(hmm_pfns);
	return ret;
}

/*
 * The first page of [start, end) of leaf @r whose entry does not satisfy
 * @flags (valid; writable for SODP_ODP_WRITE), or @end. A hint (entries
 * may change as soon as it returns), so the lock is dropped to reschedule
 * on a long scan. A block without a table is missing at once.
 */
static unsigned long sodp_odp_first_missing(struct sodp_odp_region *r,
					    unsigned long start,
					    unsigned long end,
					    unsigned int flags)
{
	unsigned long need = SODP_ODP_E_VALID;
	unsigned long va;

	if (flags & SODP_ODP_WRITE)
		need |= SODP_ODP_E_WRITE;
	mutex_lock(&r->lock);
	for (va = start; va < end; va += PAGE_SIZE) {
		if ((sodp_odp_entry_val(r, va) & need) != need)
			break;
		if (need_resched()) {
			mutex_unlock(&r->lock);
			cond_resched();
			mutex_lock(&r->lock);
		}
	}
	mutex_unlock(&r->lock);
	return va;
}

/* ---- regions ------------------------------------------------------------ */

static void sodp_odp_child_reclaim_work(struct work_struct *work);

static void sodp_odp_objs_add(enum sodp_odp_type type, int d)
{
	switch (type) {
	case SODP_ODP_EXPLICIT:
		atomic_add(d, &sodp_odp_objs.regions);
		break;
	case SODP_ODP_IMPLICIT:
		atomic_add(d, &sodp_odp_objs.implicit);
		break;
	case SODP_ODP_CHILD:
		atomic_add(d, &sodp_odp_objs.children);
		break;
	}
}

static void sodp_odp_free(struct sodp_odp_region *r)
{
	unsigned long idx;
	unsigned long *t;

	xa_for_each(&r->tables, idx, t)
		kfree(t);
	xa_destroy(&r->tables);
	bitmap_free(r->huge);
	mmdrop(r->mm);
	sodp_odp_objs_add(r->type, -1);
	kfree(r);
}

/*
 * A new region of @type over the page-aligned [start, end) of @mm, with
 * its huge-block bitmap (leaves; the entry tables come with the first
 * valid entry of each block) or children xarray (implicit), charged to the
 * memory cgroup of @mm's owner. Not yet visible to the notifier.
 */
static struct sodp_odp_region *
sodp_odp_alloc(enum sodp_odp_type type, struct mm_struct *mm, u64 addr,
	       u64 len, unsigned long start, unsigned long end,
	       unsigned int access)
{
	struct sodp_odp_memcg m;
	struct sodp_odp_region *r;

	if (sodp_odp_fail_alloc())
		return ERR_PTR(-ENOMEM);
	sodp_odp_memcg_enter(mm, &m);
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r) {
		sodp_odp_memcg_exit(&m);
		return ERR_PTR(-ENOMEM);
	}

	kref_init(&r->ref);
	r->type = type;
	r->access = access;
	r->addr = addr;
	r->len = len;
	r->start = start;
	r->end = end;
	r->stats = &r->own_stats;
	mutex_init(&r->lock);
	/*
	 * Tell lockdep that reclaim can take the region lock (the notifier
	 * runs under reclaim), so that an allocation that may reclaim under
	 * the lock is reported, not just deadlocking one day.
	 */
	fs_reclaim_acquire(GFP_KERNEL);
	might_lock(&r->lock);
	fs_reclaim_release(GFP_KERNEL);
	init_waitqueue_head(&r->prefetch_wq);
	xa_init(&r->children);
	xa_init(&r->tables);
	if (type == SODP_ODP_CHILD)
		INIT_WORK(&r->reclaim_work, sodp_odp_child_reclaim_work);
	mmgrab(mm);
	r->mm = mm;
	sodp_odp_objs_add(type, 1);

	if (type != SODP_ODP_IMPLICIT) {
		unsigned long nblocks = sodp_odp_block(r, end - 1) + 1;

		/*
		 * One bit per 2 MiB asked for by userspace (8 MiB for the
		 * whole 128 TiB address space), charged; the entry tables
		 * follow what gets mapped (sodp_odp_tables_prepare()).
		 */
		if (sodp_odp_fail_alloc())
			goto err;
		r->huge = bitmap_zalloc(nblocks,
					GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!r->huge)
			goto err;
	}
	sodp_odp_memcg_exit(&m);
	return r;

err:
	sodp_odp_memcg_exit(&m);
	sodp_odp_free(r);
	return ERR_PTR(-ENOMEM);
}

/* The caller holds an mm_users reference on r->mm. */
static int sodp_odp_notifier_insert(struct sodp_odp_region *r)
{
	int ret;

	if (sodp_odp_fail_alloc())
		return -ENOMEM;
	ret = mmu_interval_notifier_insert(&r->notifier, r->mm, r->start,
					   r->end - r->start, &sodp_odp_mn_ops);
	if (!ret)
		r->notifier_live = true;
	return ret;
}

static void sodp_odp_release(struct kref *kref)
{
	struct sodp_odp_region *r = container_of(kref, struct sodp_odp_region,
						 ref);

	if (r->notifier_live) {
		/*
		 * Entries go before the notifier: once it is removed,
		 * nothing stops the kernel from freeing their pages.
		 */
		mutex_lock(&r->lock);
		r->dead = true;
		sodp_odp_clear(r, r->start, r->end);
		mutex_unlock(&r->lock);
		mmu_interval_notifier_remove(&r->notifier);
	}
	if (r->type == SODP_ODP_IMPLICIT) {
		WARN_ON(!xa_empty(&r->children));
		xa_destroy(&r->children);
	}
	if (r->parent) {
		atomic_dec(&r->parent->own_stats.children);
		sodp_odp_region_put(r->parent);
	}
	sodp_odp_free(r);
}

void sodp_odp_region_get(struct sodp_odp_region *r)
{
	kref_get(&r->ref);
}
EXPORT_SYMBOL_GPL(sodp_odp_region_get);

/*
 * May remove a notifier (and wait for an invalidation in progress): never
 * called with a region lock held, nor from the invalidate callback.
 */
void sodp_odp_region_put(struct sodp_odp_region *r)
{
	might_sleep();
	kref_put(&r->ref, sodp_odp_release);
}
EXPORT_SYMBOL_GPL(sodp_odp_region_put);

static struct sodp_odp_region *sodp_odp_explicit_create(struct mm_struct *mm,
							u64 addr, u64 len,
							unsigned int access)
{
	struct sodp_odp_region *r;
	unsigned long start, end;
	u64 last;
	int ret;

	if (!len)
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(addr, len, &last))
		return ERR_PTR(-EOVERFLOW);
	if (last > mm->task_size)
		return ERR_PTR(-ERANGE);
	start = ALIGN_DOWN(addr, PAGE_SIZE);
	end = PAGE_ALIGN(last);

	/* mmu_interval_notifier_insert() wants mm_users held. */
	if (!mmget_not_zero(mm))
		return ERR_PTR(-EFAULT);
	r = sodp_odp_alloc(SODP_ODP_EXPLICIT, mm, addr, len, start, end,
			   access);
	if (IS_ERR(r)) {
		ret = PTR_ERR(r);
		goto out_mmput;
	}
	ret = sodp_odp_notifier_insert(r);
	if (ret)
		goto out_free;
	/* What the process has touched needs no fault later. */
	ret = sodp_odp_leaf_map(r, start, end, SODP_ODP_NOFAULT,
				SODP_ODP_WHY_SNAPSHOT, false);
	if (ret)
		goto out_put;
	mmput_async(mm);
	return r;

out_put:
	mmput_async(mm);
	sodp_odp_region_put(r);
	return ERR_PTR(ret);
out_free:
	sodp_odp_free(r);
out_mmput:
	mmput_async(mm);
	return ERR_PTR(ret);
}

/**
 * sodp_odp_region_create - register an ODP region
 * @mm: the mm whose virtual memory the region covers; its users must not
 *	have dropped to zero (normally current->mm)
 * @addr: start address; 0 with @len SIZE_MAX makes an implicit region
 * @len: length in bytes
 * @access: SODP_ODP_ACCESS_* (read is implied)
 *
 * Pins nothing. An explicit region inserts its notifier and records
 * (snapshot, no fault) what is already mapped in its range.
 *
 * Return: the region with the creator's reference, or an ERR_PTR: -EINVAL,
 * -EOVERFLOW, -ERANGE (beyond the mm's task_size), -EFAULT (the mm is
 * exiting), -ENOMEM, -EBUSY, -EINTR.
 */
struct sodp_odp_region *sodp_odp_region_create(struct mm_struct *mm,
					       u64 addr, u64 len,
					       unsigned int access)
{
	if (access & ~(SODP_ODP_ACCESS_READ | SODP_ODP_ACCESS_WRITE))
		return ERR_PTR(-EINVAL);
	access |= SODP_ODP_ACCESS_READ;

	if (addr == 0 && len == SIZE_MAX)
		return sodp_odp_alloc(SODP_ODP_IMPLICIT, mm, addr, len, 0,
				      mm->task_size, access);
	return sodp_odp_explicit_create(mm, addr, len, access);
}
EXPORT_SYMBOL_GPL(sodp_odp_region_create);

/* ---- implicit children -------------------------------------------------- */

/* Queue reclaim of child @c if it is empty. Region lock held. */
static void sodp_odp_child_queue_reclaim(struct sodp_odp_region *c)
{
	lockdep_assert_held(&c->lock);

	if (c->nvalid || c->dead || c->reclaim_pending || c->unpublished)
		return;
	/* Zero: being released right now, nothing to do. */
	if (!kref_get_unless_zero(&c->ref))
		return;
	c->reclaim_pending = true;
	queue_work(sodp_odp_wq, &c->reclaim_work);
}

static void sodp_odp_child_reclaim_work(struct work_struct *work)
{
	struct sodp_odp_region *c =
		container_of(work, struct sodp_odp_region, reclaim_work);
	struct sodp_odp_region *p = c->parent;
	bool reclaim;

	mutex_lock(&c->lock);
	c->reclaim_pending = false;
	reclaim = !c->dead && !c->nvalid;
	if (reclaim)
		c->dead = true;
	mutex_unlock(&c->lock);

	if (reclaim && xa_cmpxchg(&p->children,
				  c->start >> SODP_ODP_CHILD_SHIFT, c, NULL,
				  0) == c)
		sodp_odp_region_put(c);		/* the xarray's */
	sodp_odp_region_put(c);			/* the work's */
}

/* Kill child @c, already out of the xarray. */
static void sodp_odp_child_kill(struct sodp_odp_region *c)
{
	mutex_lock(&c->lock);
	c->dead = true;
	sodp_odp_clear(c, c->start, c->end);
	mutex_unlock(&c->lock);
}

/*
 * A new child of @p for chunk @idx, with the caller's reference, not yet
 * in the xarray (@unpublished: no reclaim until sodp_odp_leaf_get()
 * publishes it). Fully initialised (parent, stats) before its notifier
 * goes live: an invalidation may call it from then on.
 */
static struct sodp_odp_region *sodp_odp_child_create(struct sodp_odp_region *p,
						     unsigned long idx)
{
	unsigned long start = idx << SODP_ODP_CHILD_SHIFT;
	struct sodp_odp_region *c;
	int ret;

	if (!mmget_not_zero(p->mm))
		return ERR_PTR(-EFAULT);
	c = sodp_odp_alloc(SODP_ODP_CHILD, p->mm, start, SODP_ODP_CHILD_SIZE,
			   start, start + SODP_ODP_CHILD_SIZE, p->access);
	if (IS_ERR(c)) {
		ret = PTR_ERR(c);
		goto out_mmput;
	}
	c->unpublished = true;
	c->stats = &p->own_stats;
	c->parent = p;
	sodp_odp_region_get(p);
	atomic_inc(&p->own_stats.children);

	ret = sodp_odp_notifier_insert(c);
	if (ret)
		goto out_put;	/* the release drops the parent's reference */
	mmput_async(p->mm);

	ret = sodp_odp_leaf_map(c, c->start, c->end, SODP_ODP_NOFAULT,
				SODP_ODP_WHY_SNAPSHOT, false);
	if (ret) {
		sodp_odp_region_put(c);
		return ERR_PTR(ret);
	}
	return c;

out_put:
	sodp_odp_region_put(c);
out_mmput:
	mmput_async(p->mm);
	return ERR_PTR(ret);
}

/* Child @c is in the xarray now: it may be reclaimed from now on. */
static void sodp_odp_child_publish(struct sodp_odp_region *c)
{
	mutex_lock(&c->lock);
	c->unpublished = false;
	mutex_unlock(&c->lock);
}

/*
 * The leaf of @r that holds @addr: @r itself, or the implicit child, with
 * a reference (created if @create and missing). NULL if !@create and there
 * is no child. Drop with sodp_odp_leaf_put().
 */
static struct sodp_odp_region *sodp_odp_leaf_get(struct sodp_odp_region *r,
						 u64 addr, bool create)
{
	unsigned long idx = addr >> SODP_ODP_CHILD_SHIFT;
	struct sodp_odp_region *c, *cur, *old, *put;
	struct sodp_odp_memcg m;

	if (r->type != SODP_ODP_IMPLICIT)
		return r;

again:
	put = NULL;
	xa_lock(&r->children);
	if (r->parent_dead) {
		xa_unlock(&r->children);
		return ERR_PTR(-ENOENT);
	}
	c = xa_load(&r->children, idx);
	if (c && !READ_ONCE(c->dead)) {
		sodp_odp_region_get(c);
		xa_unlock(&r->children);
		return c;
	}
	xa_unlock(&r->children);
	if (!create)
		return NULL;

	c = sodp_odp_child_create(r, idx);
	if (IS_ERR(c)) {
		/*
		 * Not expected (an unpublished child is never reclaimed),
		 * but -ESTALE never leaves the layer: look up again.
		 */
		if (PTR_ERR(c) == -ESTALE) {
			if (fatal_signal_pending(current))
				return ERR_PTR(-EINTR);
			cond_resched();
			goto again;
		}
		return c;
	}

	/* The xarray's nodes are charged to the owner, as the child. */
	sodp_odp_memcg_enter(r->mm, &m);
	xa_lock(&r->children);
	for (;;) {
		if (r->parent_dead) {
			old = ERR_PTR(-ENOENT);
			break;
		}
		cur = xa_load(&r->children, idx);
		if (cur && !READ_ONCE(cur->dead)) {
			/* Someone else was faster: use theirs. */
			sodp_odp_region_get(cur);
			old = cur;
			break;
		}
		/* May drop the lock to allocate, hence the loop. */
		old = __xa_cmpxchg(&r->children, idx, cur, c,
				   GFP_KERNEL_ACCOUNT);
		if (xa_is_err(old)) {
			old = ERR_PTR(xa_err(old));
			break;
		}
		if (old != cur)
			continue;
		/* Stored with the lock held since: nobody saw ours yet. */
		put = cur;	/* a dead child we replaced: ours to put */
		if (r->parent_dead) {
			/* Destruction began while the lock was dropped. */
			__xa_erase(&r->children, idx);
			old = ERR_PTR(-ENOENT);
			break;
		}
		sodp_odp_region_get(c);	/* the caller's; the xarray has one */
		old = c;
		c = NULL;
		break;
	}
	xa_unlock(&r->children);
	sodp_odp_memcg_exit(&m);

	if (!c && !IS_ERR(old))
		sodp_odp_child_publish(old);
	if (put)
		sodp_odp_region_put(put);
	if (c)
		sodp_odp_region_put(c);
	return old;
}

/*
 * The start of the first child of implicit @p above the chunk of @addr and
 * below @end, or @end: what a walk that creates no child visits next.
 */
static u64 sodp_odp_next_child(struct sodp_odp_region *p, u64 addr, u64 end)
{
	unsigned long idx = (addr >> SODP_ODP_CHILD_SHIFT) + 1;
	unsigned long last = (end - 1) >> SODP_ODP_CHILD_SHIFT;

	if (idx > last || !xa_find(&p->children, &idx, last, XA_PRESENT))
		return end;
	return max_t(u64, addr, (u64)idx << SODP_ODP_CHILD_SHIFT);
}

static void sodp_odp_leaf_put(struct sodp_odp_region *r,
			      struct sodp_odp_region *leaf)
{
	if (leaf == r)
		return;
	/* A child left empty (a failed fault, a snapshot of nothing) goes. */
	if (!READ_ONCE(leaf->nvalid)) {
		mutex_lock(&leaf->lock);
		sodp_odp_child_queue_reclaim(leaf);
		mutex_unlock(&leaf->lock);
	}
	sodp_odp_region_put(leaf);
}

static void sodp_odp_implicit_kill(struct sodp_odp_region *p)
{
	struct sodp_odp_region *c;
	unsigned long idx;

	xa_lock(&p->children);
	p->parent_dead = true;
	xa_unlock(&p->children);

	/* No child is added from now on; take out every one there is. */
	xa_for_each(&p->children, idx, c) {
		if (xa_cmpxchg(&p->children, idx, c, NULL, 0) != c)
			continue;
		sodp_odp_child_kill(c);
		sodp_odp_region_put(c);
	}
}

/**
 * sodp_odp_region_destroy - revoke a region and drop the creator's reference
 * @r: the region
 *
 * Every entry is cleared (pages the device wrote are marked dirty), every
 * later or concurrent operation fails with -ENOENT, implicit children are
 * taken down. The memory goes with the last reference (a queued prefetch,
 * the engine).
 */
void sodp_odp_region_destroy(struct sodp_odp_region *r)
{
	if (r->type == SODP_ODP_IMPLICIT) {
		sodp_odp_implicit_kill(r);
	} else {
		mutex_lock(&r->lock);
		r->dead = true;
		sodp_odp_clear(r, r->start, r->end);
		mutex_unlock(&r->lock);
	}
	sodp_odp_region_put(r);
}
EXPORT_SYMBOL_GPL(sodp_odp_region_destroy);

/* ---- operations --------------------------------------------------------- */

static int sodp_odp_check(struct sodp_odp_region *r, u64 addr, u64 len,
			  unsigned int flags)
{
	u64 end;

	if (check_add_overflow(addr, len, &end))
		return -EOVERFLOW;
	if (r->type == SODP_ODP_IMPLICIT) {
		if (end > r->end)
			return -ERANGE;
	} else if (addr < r->addr || end > r->addr + r->len) {
		return -ERANGE;
	}
	if ((flags & SODP_ODP_WRITE) && !(r->access & SODP_ODP_ACCESS_WRITE))
		return -EPERM;
	return 0;
}

/*
 * Make [addr, addr + len) of @r valid per @flags, leaf by leaf, faulting
 * only from the first page that is not already. Checked by the caller.
 * A snapshot (SODP_ODP_NOFAULT) of an implicit region only records into
 * the children there are: it creates none. Killable, rescheduling: the
 * range may be the whole address space.
 */
static int sodp_odp_map_range(struct sodp_odp_region *r, u64 addr, u64 len,
			      unsigned int flags, enum sodp_odp_why why)
{
	unsigned long deadline = sodp_odp_deadline();
	bool create = !(flags & SODP_ODP_NOFAULT);
	u64 end = addr + len;
	int ret = 0;

	while (addr < end) {
		struct sodp_odp_region *leaf;
		unsigned long start, lend, first;

		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
		leaf = sodp_odp_leaf_get(r, addr, create);
		if (!leaf) {
			/* No child there and none to create: the next one. */
			addr = sodp_odp_next_child(r, addr, end);
			continue;
		}
		if (IS_ERR(leaf))
			return PTR_ERR(leaf);
		lend = min_t(u64, end, leaf->end);
		start = ALIGN_DOWN(addr, PAGE_SIZE);
		first = sodp_odp_first_missing(leaf, start, PAGE_ALIGN(lend),
					       flags);
		if (first < PAGE_ALIGN(lend))
			ret = sodp_odp_leaf_map(leaf, first, PAGE_ALIGN(lend),
						flags, why, false);
		sodp_odp_leaf_put(r, leaf);
		if (ret == -ESTALE && !time_after(jiffies, deadline)) {
			ret = 0;
			continue;
		}
		if (ret)
			return ret == -ESTALE ? -EBUSY : ret;
		addr = lend;
	}
	return 0;
}

/**
 * sodp_odp_fault - fault a range of a region into its entries
 * @r: the region (a reference held by the caller)
 * @addr: start of the range, inside the region
 * @len: length in bytes
 * @flags: SODP_ODP_WRITE for write intent; SODP_ODP_NOFAULT for a snapshot
 *
 * Pages whose entries are already valid (and writable, for write intent)
 * are not faulted again.
 *
 * Return: 0 or a negative errno (see sodp_odp.h).
 */
int sodp_odp_fault(struct sodp_odp_region *r, u64 addr, u64 len,
		   unsigned int flags)
{
	int ret;

	if (flags & ~(SODP_ODP_WRITE | SODP_ODP_NOFAULT))
		return -EINVAL;
	ret = sodp_odp_check(r, addr, len, flags);
	if (ret || !len)
		return ret;
	return sodp_odp_map_range(r, addr, len, flags, SODP_ODP_WHY_FAULT);
}
EXPORT_SYMBOL_GPL(sodp_odp_fault);

/*
 * Access [*pos, end) of leaf @r, all inside it: hand each page's piece to
 * @fn under the region lock, faulting what is missing. *@pos advances.
 */
static int sodp_odp_leaf_access(struct sodp_odp_region *r, u64 *pos, u64 end,
				unsigned int flags, sodp_odp_chunk_fn fn,
				void *priv)
{
	unsigned long need = SODP_ODP_E_VALID;
	u64 addr = *pos, faulted = U64_MAX;
	int ret = 0;

	if (flags & SODP_ODP_WRITE)
		need |= SODP_ODP_E_WRITE;

	mutex_lock(&r->lock);
	while (addr < end) {
		unsigned long e, off, *ep;
		void *kaddr;
		size_t n;

		if (unlikely(r->dead)) {
			ret = sodp_odp_dead_err(r);
			break;
		}
		ep = sodp_odp_entry(r, addr);
		e = ep ? *ep : 0;
		if (unlikely((e & need) != need)) {
			unsigned long fstart = ALIGN_DOWN(addr, PAGE_SIZE);
			unsigned long fend = min_t(u64, PAGE_ALIGN(end),
						   fstart + (SODP_ODP_BATCH_PAGES << PAGE_SHIFT));

			if (flags & SODP_ODP_NOFAULT) {
				ret = -EAGAIN;
				break;
			}
			/*
			 * The lock was kept since the fault committed this
			 * very entry: unusable now means HMM answered
			 * something we cannot use. Fail, never loop.
			 */
			if (faulted == addr) {
				ret = -EFAULT;
				break;
			}
			mutex_unlock(&r->lock);
			*pos = addr;
			/* Returns with the lock held and the batch valid. */
			ret = sodp_odp_leaf_map(r, fstart, fend, flags,
						SODP_ODP_WHY_FAULT, true);
			if (ret)
				return ret;
			faulted = addr;
			continue;
		}

		off = addr & ~PAGE_MASK;
		n = min_t(u64, PAGE_SIZE - off, end - addr);
		if (flags & SODP_ODP_WRITE)
			*ep = e | SODP_ODP_E_DIRTY;
		kaddr = kmap_local_page(sodp_odp_entry_page(e));
		ret = fn(priv, kaddr + off, n);
		kunmap_local(kaddr);
		if (ret)
			break;
		addr += n;
		if (need_resched()) {
			/* Entries may change meanwhile: re-checked above. */
			mutex_unlock(&r->lock);
			cond_resched();
			mutex_lock(&r->lock);
		}
	}
	mutex_unlock(&r->lock);
	*pos = addr;
	return ret;
}

/**
 * sodp_odp_access - access a range of a region through its entries
 * @r: the region (a reference held by the caller)
 * @addr: start of the range, inside the region
 * @len: length in bytes
 * @flags: SODP_ODP_WRITE if @fn stores (the entries must be writable, the
 *	   pages are marked device-dirty); SODP_ODP_NOFAULT to fail with
 *	   -EAGAIN instead of faulting
 * @fn: called for each piece, in address order, never across a page
 *	boundary, under the region lock (see sodp_odp_chunk_fn)
 * @priv: passed to @fn
 *
 * A missing page is faulted inline together with up to
 * SODP_ODP_BATCH_PAGES - 1 following pages of the range, and the lock is
 * kept from the commit of the fault to the use of the entries, so every
 * fault makes progress. No allocation unless a fault is needed.
 *
 * Return: 0, @fn's error, or a negative errno (see sodp_odp.h). On error
 * some leading part of the range may have been accessed.
 */
int sodp_odp_access(struct sodp_odp_region *r, u64 addr, u64 len,
		    unsigned int flags, sodp_odp_chunk_fn fn, void *priv)
{
	unsigned long deadline = sodp_odp_deadline();
	u64 end;
	int ret;

	if (flags & ~(SODP_ODP_WRITE | SODP_ODP_NOFAULT))
		return -EINVAL;
	ret = sodp_odp_check(r, addr, len, flags);
	if (ret)
		return ret;
	end = addr + len;

	while (addr < end) {
		struct sodp_odp_region *leaf =
			sodp_odp_leaf_get(r, addr, !(flags & SODP_ODP_NOFAULT));

		if (!leaf)
			return -EAGAIN;
		if (IS_ERR(leaf))
			return PTR_ERR(leaf);
		ret = sodp_odp_leaf_access(leaf, &addr,
					   min_t(u64, end, leaf->end), flags,
					   fn, priv);
		sodp_odp_leaf_put(r, leaf);
		if (ret == -ESTALE && !time_after(jiffies, deadline))
			continue;
		if (ret)
			return ret == -ESTALE ? -EBUSY : ret;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(sodp_odp_access);

/*
 * Two leaves' locks, in ascending order of their struct pointers (a total
 * order; sodp_odp.h); one lock if the same.
 */
static void sodp_odp_lock_two(struct sodp_odp_region *a,
			      struct sodp_odp_region *b)
{
	if (a == b) {
		mutex_lock(&a->lock);
		return;
	}
	if (a > b)
		swap(a, b);
	mutex_lock(&a->lock);
	mutex_lock_nested(&b->lock, SINGLE_DEPTH_NESTING);
}

static void sodp_odp_unlock_two(struct sodp_odp_region *a,
				struct sodp_odp_region *b)
{
	if (a != b)
		mutex_unlock(&b->lock);
	mutex_unlock(&a->lock);
}

/*
 * Copy @n bytes from leaf @s at @saddr to leaf @d at @daddr while both
 * sides have usable entries, holding both locks. *@done counts the bytes
 * copied. Returns 0 when all are, SODP_ODP_MISS_* when a side must be
 * faulted first, or a negative errno.
 */
static int sodp_odp_leaf_copy(struct sodp_odp_region *d, u64 daddr,
			      struct sodp_odp_region *s, u64 saddr, u64 n,
			      u64 *done)
{
	const unsigned long dneed = SODP_ODP_E_VALID | SODP_ODP_E_WRITE;
	int ret = 0;

	sodp_odp_lock_two(d, s);
	while (*done < n) {
		u64 da = daddr + *done, sa = saddr + *done;
		unsigned long de, se, doff, soff, *dep;
		void *sk, *dk;
		size_t c;

		if (unlikely(d->dead || s->dead)) {
			ret = sodp_odp_dead_err(d->dead ? d : s);
			break;
		}
		se = sodp_odp_entry_val(s, sa);
		if (!(se & SODP_ODP_E_VALID)) {
			ret = SODP_ODP_MISS_SRC;
			break;
		}
		dep = sodp_odp_entry(d, da);
		de = dep ? *dep : 0;
		if ((de & dneed) != dneed) {
			ret = SODP_ODP_MISS_DST;
			break;
		}
		doff = da & ~PAGE_MASK;
		soff = sa & ~PAGE_MASK;
		c = min3((u64)(PAGE_SIZE - doff), (u64)(PAGE_SIZE - soff),
			 n - *done);
		*dep = de | SODP_ODP_E_DIRTY;
		sk = kmap_local_page(sodp_odp_entry_page(se));
		dk = kmap_local_page(sodp_odp_entry_page(de));
		/*
		 * The same page on both sides is possible: memmove() then.
		 * Otherwise memcpy(), which is much faster where it matters
		 * (x86's rep movsb; under TCG a loop of moves is ~10x slower).
		 */
		if (unlikely(sodp_odp_entry_page(se) == sodp_odp_entry_page(de)))
			memmove(dk + doff, sk + soff, c);
		else
			memcpy(dk + doff, sk + soff, c);
		kunmap_local(dk);
		kunmap_local(sk);
		*done += c;
		if (need_resched()) {
			sodp_odp_unlock_two(d, s);
			cond_resched();
			sodp_odp_lock_two(d, s);
		}
	}
	sodp_odp_unlock_two(d, s);
	return ret;
}

/* Fault one batch of leaf @r from @addr for a copy, unlocked. */
static int sodp_odp_copy_fault(struct sodp_odp_region *r, u64 addr, u64 end,
			       unsigned int flags)
{
	unsigned long start = ALIGN_DOWN(addr, PAGE_SIZE);
	unsigned long fend = min_t(u64, PAGE_ALIGN(end),
				   start + (SODP_ODP_BATCH_PAGES << PAGE_SHIFT));

	return sodp_odp_leaf_map(r, start, fend, flags, SODP_ODP_WHY_FAULT,
				 false);
}

/**
 * sodp_odp_copy - copy between two regions, page to page, one copy
 * @dst: the destination region (write access needed)
 * @dst_addr: destination address, inside @dst
 * @src: the source region (may be @dst)
 * @src_addr: source address, inside @src
 * @len: length in bytes
 *
 * Faults each side with no lock held, then copies while holding both
 * leaves' locks (ascending pointer order, see sodp_odp.h), and drops them
 * before faulting again. Overlap within one region is handled as memmove
 * within a page only; RDMA leaves overlapping copies undefined.
 *
 * Return: 0 or a negative errno; -EBUSY if invalidations kept undoing the
 * faults without progress for longer than the fault timeout.
 */
int sodp_odp_copy(struct sodp_odp_region *dst, u64 dst_addr,
		  struct sodp_odp_region *src, u64 src_addr, u64 len)
{
	unsigned long deadline = sodp_odp_deadline();
	int ret;

	ret = sodp_odp_check(dst, dst_addr, len, SODP_ODP_WRITE);
	if (ret)
		return ret;
	ret = sodp_odp_check(src, src_addr, len, 0);
	if (ret)
		return ret;

	while (len) {
		struct sodp_odp_region *dl, *sl;
		u64 n, done = 0;

		dl = sodp_odp_leaf_get(dst, dst_addr, true);
		if (IS_ERR(dl))
			return PTR_ERR(dl);
		sl = sodp_odp_leaf_get(src, src_addr, true);
		if (IS_ERR(sl)) {
			sodp_odp_leaf_put(dst, dl);
			return PTR_ERR(sl);
		}
		n = min3(len, (u64)dl->end - dst_addr, (u64)sl->end - src_addr);
		ret = sodp_odp_leaf_copy(dl, dst_addr, sl, src_addr, n, &done);
		if (ret == SODP_ODP_MISS_DST)
			ret = sodp_odp_copy_fault(dl, dst_addr + done,
						  dst_addr + n, SODP_ODP_WRITE);
		else if (ret == SODP_ODP_MISS_SRC)
			ret = sodp_odp_copy_fault(sl, src_addr + done,
						  src_addr + n, 0);
		sodp_odp_leaf_put(src, sl);
		sodp_odp_leaf_put(dst, dl);

		dst_addr += done;
		src_addr += done;
		len -= done;
		if (done)
			deadline = sodp_odp_deadline();
		if (ret == -ESTALE)
			ret = 0;
		if (ret)
			return ret;
		if (!done && time_after(jiffies, deadline))
			return -EBUSY;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(sodp_odp_copy);

/* ---- prefetch ----------------------------------------------------------- */

struct sodp_odp_prefetch_work {
	struct work_struct work;
	struct sodp_odp_region *r;
	u64 addr;
	u64 len;
	unsigned int flags;
};

static void sodp_odp_prefetch_work_fn(struct work_struct *work)
{
	struct sodp_odp_prefetch_work *w =
		container_of(work, struct sodp_odp_prefetch_work, work);
	struct sodp_odp_region *r = w->r;

	/* Best effort, as a NIC's prefetch: errors only show as misses. */
	sodp_odp_map_range(r, w->addr, w->len, w->flags,
			   SODP_ODP_WHY_PREFETCH);
	kfree(w);
	atomic_dec(&sodp_odp_objs.prefetch);
	/* The waiter holds its own reference: wake before our put. */
	if (atomic_dec_and_test(&r->prefetch_inflight))
		wake_up_all(&r->prefetch_wq);
	sodp_odp_region_put(r);
}

/**
 * sodp_odp_prefetch - make a range present ahead of use
 * @r: the region (a reference held by the caller)
 * @addr: start of the range, inside the region
 * @len: length in bytes
 * @mode: SODP_ODP_PREFETCH (read), SODP_ODP_PREFETCH_WRITE, or
 *	  SODP_ODP_PREFETCH_NO_FAULT (record what is present, fault nothing)
 * @flags: SODP_ODP_PREFETCH_ASYNC: queue it on the layer's workqueue, with
 *	   a reference on @r until it has run, and return at once; with
 *	   SODP_ODP_PREFETCH_MAX_QUEUED already queued for @r it is dropped
 *
 * SODP_ODP_PREFETCH_NO_FAULT on an implicit region records into existing
 * children only (it creates none).
 *
 * Return: 0, or a negative errno: the synchronous prefetch's, or the
 * argument checks' and -ENOMEM for an asynchronous one (whose own errors
 * are not reported).
 */
int sodp_odp_prefetch(struct sodp_odp_region *r, u64 addr, u64 len,
		      enum sodp_odp_prefetch_mode mode, unsigned int flags)
{
	struct sodp_odp_prefetch_work *w;
	unsigned int mflags;
	int ret;

	if (flags & ~SODP_ODP_PREFETCH_ASYNC)
		return -EINVAL;
	switch (mode) {
	case SODP_ODP_PREFETCH:
		mflags = 0;
		break;
	case SODP_ODP_PREFETCH_WRITE:
		mflags = SODP_ODP_WRITE;
		break;
	case SODP_ODP_PREFETCH_NO_FAULT:
		mflags = SODP_ODP_NOFAULT;
		break;
	default:
		return -EINVAL;
	}
	ret = sodp_odp_check(r, addr, len, mflags);
	if (ret || !len)
		return ret;
	if (!(flags & SODP_ODP_PREFETCH_ASYNC))
		return sodp_odp_map_range(r, addr, len, mflags,
					  SODP_ODP_WHY_PREFETCH);

	if (READ_ONCE(r->dead) || READ_ONCE(r->parent_dead))
		return -ENOENT;
	/* Bounded: beyond it the hint is dropped, as a busy NIC would. */
	if (atomic_read(&r->prefetch_inflight) >= SODP_ODP_PREFETCH_MAX_QUEUED)
		return 0;
	if (sodp_odp_fail_alloc())
		return -ENOMEM;
	/* The caller's memory cgroup: it asked for the work. */
	w = kmalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w)
		return -ENOMEM;
	INIT_WORK(&w->work, sodp_odp_prefetch_work_fn);
	w->r = r;
	w->addr = addr;
	w->len = len;
	w->flags = mflags;
	sodp_odp_region_get(r);
	atomic_inc(&r->prefetch_inflight);
	atomic_inc(&sodp_odp_objs.prefetch);
	queue_work(sodp_odp_wq, &w->work);
	return 0;
}
EXPORT_SYMBOL_GPL(sodp_odp_prefetch);

/**
 * sodp_odp_prefetch_wait - wait until @r has no asynchronous prefetch queued
 * or running
 * @r: the region (a reference held by the caller)
 */
void sodp_odp_prefetch_wait(struct sodp_odp_region *r)
{
	wait_event(r->prefetch_wq, !atomic_read(&r->prefetch_inflight));
}
EXPORT_SYMBOL_GPL(sodp_odp_prefetch_wait);

/* ---- introspection ------------------------------------------------------ */

/**
 * sodp_odp_residency - what the entries say, page by page
 * @r: the region
 * @addr: any address in the first page to report
 * @npages: number of pages
 * @res: @npages bytes of SODP_ODP_RES_* bits
 *
 * Faults nothing and creates no implicit child.
 *
 * Return: 0, -EOVERFLOW, -ERANGE (outside the region's page span) or
 * -ENOENT (an implicit region being destroyed).
 */
int sodp_odp_residency(struct sodp_odp_region *r, u64 addr, u64 npages,
		       u8 *res)
{
	u64 start = ALIGN_DOWN(addr, PAGE_SIZE), len, end, va;

	if (check_mul_overflow(npages, (u64)PAGE_SIZE, &len) ||
	    check_add_overflow(start, len, &end))
		return -EOVERFLOW;
	if (start < r->start || end > r->end)
		return -ERANGE;

	va = start;
	while (va < end) {
		struct sodp_odp_region *leaf = sodp_odp_leaf_get(r, va, false);
		u64 lend;

		if (IS_ERR(leaf))
			return PTR_ERR(leaf);
		if (!leaf) {
			lend = min_t(u64, end, ALIGN(va + 1, SODP_ODP_CHILD_SIZE));
			memset(res, 0, (lend - va) >> PAGE_SHIFT);
			res += (lend - va) >> PAGE_SHIFT;
			va = lend;
			continue;
		}
		lend = min_t(u64, end, leaf->end);
		mutex_lock(&leaf->lock);
		for (; va < lend; va += PAGE_SIZE) {
			unsigned long e = sodp_odp_entry_val(leaf, va);
			u8 b = 0;

			if (e & SODP_ODP_E_VALID)
				b |= SODP_ODP_RES_PRESENT;
			if (e & SODP_ODP_E_WRITE)
				b |= SODP_ODP_RES_WRITE;
			if (e & SODP_ODP_E_DIRTY)
				b |= SODP_ODP_RES_DIRTY;
			if (test_bit(sodp_odp_block(leaf, va), leaf->huge))
				b |= SODP_ODP_RES_HUGE;
			*res++ = b;
		}
		mutex_unlock(&leaf->lock);
		sodp_odp_leaf_put(r, leaf);
	}
	return 0;
}
EXPORT_SYMBOL_GPL(sodp_odp_residency);

void sodp_odp_read_counters(struct sodp_odp_region *r,
			    struct sodp_odp_counters *c)
{
	struct sodp_odp_stats *s = &r->own_stats;

	c->page_faults = atomic64_read(&s->page_faults);
	c->page_faults_handled = atomic64_read(&s->page_faults_handled);
	c->page_invalidations = atomic64_read(&s->page_invalidations);
	c->page_invalidations_handled =
		atomic64_read(&s->page_invalidations_handled);
	c->page_prefetch = atomic64_read(&s->page_prefetch);
	c->page_snapshot = atomic64_read(&s->page_snapshot);
	c->fault_retries = atomic64_read(&s->fault_retries);
	c->invalidate_nonblock_busy =
		atomic64_read(&s->invalidate_nonblock_busy);
	c->pages_present = atomic64_read(&s->pages_present);
	c->children = atomic_read(&s->children);
}
EXPORT_SYMBOL_GPL(sodp_odp_read_counters);

static int sodp_odp_objects_show(struct seq_file *s, void *unused)
{
	seq_printf(s, "odp_regions %d\n", atomic_read(&sodp_odp_objs.regions));
	seq_printf(s, "odp_implicit %d\n",
		   atomic_read(&sodp_odp_objs.implicit));
	seq_printf(s, "odp_children %d\n",
		   atomic_read(&sodp_odp_objs.children));
	seq_printf(s, "odp_prefetch_work %d\n",
		   atomic_read(&sodp_odp_objs.prefetch));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sodp_odp_objects);

/* ---- life cycle ---------------------------------------------------------- */

/*
 * Call after sodp_debugfs_init(): the live counts go in
 * /sys/kernel/debug/sodp/odp, next to "objects".
 */
int sodp_odp_init(void)
{
	struct dentry *dir;

	sodp_odp_wq = alloc_workqueue("sodp_odp", WQ_UNBOUND, 0);
	if (!sodp_odp_wq)
		return -ENOMEM;

	/* debugfs failures are not errors: the layer works without it. */
	dir = debugfs_lookup(SODP_DRV_NAME, NULL);
	if (!IS_ERR_OR_NULL(dir)) {
		sodp_odp_debugfs = debugfs_create_file("odp", 0444, dir, NULL,
						       &sodp_odp_objects_fops);
		dput(dir);
	}
	return 0;
}

/* Call before sodp_debugfs_exit(), once no region can be left. */
void sodp_odp_exit(void)
{
	int regions, implicit, children, prefetch;

	debugfs_remove(sodp_odp_debugfs);
	sodp_odp_debugfs = NULL;
	/* Runs what is queued (child reclaim, prefetch) to completion. */
	destroy_workqueue(sodp_odp_wq);

	regions = atomic_read(&sodp_odp_objs.regions);
	implicit = atomic_read(&sodp_odp_objs.implicit);
	children = atomic_read(&sodp_odp_objs.children);
	prefetch = atomic_read(&sodp_odp_objs.prefetch);
	if (regions || implicit || children || prefetch)
		pr_err("%s: leaked ODP objects at unload: %d regions, %d implicit, %d children, %d prefetch\n",
		       SODP_DRV_NAME, regions, implicit, children, prefetch);
}
