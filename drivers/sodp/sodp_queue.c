// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Shared rings: the memory of every CQ, SQ, RQ and SRQ, mapped by the
 * provider (layout in sodp-abi.h).
 *
 * A ring is zeroed pages (so the header starts with prod == cons == 0 and
 * no flags), allocated with GFP_KERNEL_ACCOUNT (charged to the memory
 * cgroup of the process that creates the queue: userspace chooses the
 * size, up to tens of MiB per QP) and mapped into the kernel with
 * vmap(VM_USERMAP), offered to the ucontext's mmap through an
 * rdma_user_mmap_entry.
 *
 * Lifetime: sodp_mmap() holds the entry only while remap_vmalloc_range()
 * inserts the pages into the VMA (vm_insert_page(): each page gets a
 * reference held by the user's page tables); no vm_ops keep the entry.
 * sodp_ring_destroy() removes the entry, and ib_core calls
 * sodp_mmap_free() as soon as no sodp_mmap() holds it (at once, normally),
 * which unmaps the kernel mapping and drops the kernel's page
 * references. A process that keeps a ring mapped after destroying its
 * queue (or never unmaps an old CQ ring after a resize) keeps the pages,
 * which nothing in the kernel uses any more, until it unmaps them. That
 * is memory-safe only because the pages are inserted with page
 * references: never map them with remap_pfn_range().
 */

#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "sodp.h"

static struct sodp_mmap_entry *to_smentry(struct rdma_user_mmap_entry *e)
{
	return container_of(e, struct sodp_mmap_entry, rdma_entry);
}

static void sodp_ring_free(struct sodp_mmap_entry *mentry)
{
	unsigned int i;

	if (mentry->address)
		vunmap(mentry->address);
	for (i = 0; i < mentry->npages; i++)
		put_page(mentry->pages[i]);
	kvfree(mentry->pages);
}

/*
 * @npages zeroed pages charged to the caller's memory cgroup, mapped
 * contiguously with VM_USERMAP (remap_vmalloc_range() wants it).
 */
static int sodp_ring_alloc(struct sodp_mmap_entry *mentry,
			   unsigned int npages)
{
	mentry->pages = kvcalloc(npages, sizeof(*mentry->pages),
				 GFP_KERNEL_ACCOUNT);
	if (!mentry->pages)
		return -ENOMEM;
	for (mentry->npages = 0; mentry->npages < npages; mentry->npages++) {
		struct page *page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

		if (!page)
			goto err;
		mentry->pages[mentry->npages] = page;
		if (fatal_signal_pending(current))
			goto err;
		cond_resched();
	}
	mentry->address = vmap(mentry->pages, npages, VM_MAP | VM_USERMAP,
			       PAGE_KERNEL);
	if (!mentry->address)
		goto err;
	return 0;

err:
	sodp_ring_free(mentry);
	return -ENOMEM;
}

/**
 * sodp_ring_create - allocate a ring and make it mappable
 * @ring: the ring to set up
 * @uctx: the user context whose file maps it
 * @entries: number of slots, a power of two
 * @stride: slot size in bytes, a power of two
 *
 * Return: 0, -EINVAL for a bad geometry, -ENOMEM.
 */
int sodp_ring_create(struct sodp_ring *ring, struct ib_ucontext *uctx,
		     u32 entries, u32 stride)
{
	struct sodp_mmap_entry *mentry;
	size_t size;
	void *mem;
	int err;

	memset(ring, 0, sizeof(*ring));
	if (!entries || !is_power_of_2(entries) ||
	    !stride || !is_power_of_2(stride))
		return -EINVAL;
	if (check_mul_overflow((size_t)entries, (size_t)stride, &size) ||
	    check_add_overflow(size, (size_t)SODP_RING_ENTRIES_OFFSET, &size) ||
	    size > SIZE_MAX - PAGE_SIZE)
		return -EINVAL;
	size = PAGE_ALIGN(size);
	if (size >> PAGE_SHIFT > UINT_MAX)
		return -EINVAL;

	mentry = kzalloc(sizeof(*mentry), GFP_KERNEL_ACCOUNT);
	if (!mentry)
		return -ENOMEM;
	err = sodp_ring_alloc(mentry, size >> PAGE_SHIFT);
	if (err)
		goto err_free_entry;
	mem = mentry->address;
	err = rdma_user_mmap_entry_insert(uctx, &mentry->rdma_entry, size);
	if (err)
		goto err_free_mem;

	/* From here on the entry owns mem: sodp_mmap_free() frees both. */
	ring->hdr = mem;
	ring->slots = mem + SODP_RING_ENTRIES_OFFSET;
	ring->entries = entries;
	ring->stride = stride;
	ring->size = size;
	ring->mentry = mentry;
	ring->mmap_offset = rdma_user_mmap_get_offset(&mentry->rdma_entry);
	return 0;

err_free_mem:
	sodp_ring_free(mentry);
err_free_entry:
	kfree(mentry);
	return err;
}

/**
 * sodp_ring_destroy - stop offering a ring to mmap
 * @ring: a ring set up by sodp_ring_create(), or zeroed
 *
 * Frees the kernel's side of the ring (through sodp_mmap_free()); pages
 * still mapped by userspace stay until it unmaps them. The caller must
 * not touch the ring after this.
 */
void sodp_ring_destroy(struct sodp_ring *ring)
{
	if (ring->mentry)
		rdma_user_mmap_entry_remove(&ring->mentry->rdma_entry);
	ring->mentry = NULL;
	ring->hdr = NULL;
	ring->slots = NULL;
}

void sodp_ring_set_flags(struct sodp_ring *ring, u32 set, u32 clear)
{
	u32 *flags = &ring->hdr->flags;
	u32 old = READ_ONCE(*flags);
	int tries;

	/*
	 * Userspace may write the word too: it only hurts itself, but it
	 * must not keep the kernel in this loop. After a few lost races
	 * the kernel's bits are stored without regard for the user's.
	 */
	for (tries = 0; tries < 16; tries++)
		if (try_cmpxchg(flags, &old, (old & ~clear) | set))
			return;
	WRITE_ONCE(*flags, (READ_ONCE(*flags) & ~clear) | set);
}

int sodp_ring_take_recv(struct sodp_ring *ring, u32 cons, u32 max_sge,
			struct sodp_recv *wqe)
{
	const struct sodp_recv_wqe *slot = sodp_ring_slot(ring, cons);
	u32 num_sge;

	num_sge = READ_ONCE(slot->num_sge);
	if (num_sge > max_sge || num_sge > SODP_MAX_SGE ||
	    sizeof(*slot) + (size_t)num_sge * sizeof(struct sodp_sge) >
	    ring->stride)
		return -EIO;
	wqe->wr_id = READ_ONCE(slot->wr_id);
	wqe->num_sge = num_sge;
	memcpy(wqe->sge, slot + 1, num_sge * sizeof(struct sodp_sge));
	return 0;
}

int sodp_mmap(struct ib_ucontext *uctx, struct vm_area_struct *vma)
{
	struct rdma_user_mmap_entry *rdma_entry;
	int err;

	/* Finds the entry by offset; fails unless the size matches too. */
	rdma_entry = rdma_user_mmap_entry_get(uctx, vma);
	if (!rdma_entry)
		return -EINVAL;

	err = remap_vmalloc_range(vma, to_smentry(rdma_entry)->address, 0);
	rdma_user_mmap_entry_put(rdma_entry);
	return err;
}

void sodp_mmap_free(struct rdma_user_mmap_entry *rdma_entry)
{
	struct sodp_mmap_entry *mentry = to_smentry(rdma_entry);

	sodp_ring_free(mentry);
	kfree(mentry);
}
