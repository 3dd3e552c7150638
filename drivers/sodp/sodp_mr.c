// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Memory regions: ibv_reg_mr, ibv_rereg_mr, ibv_dereg_mr, ibv_advise_mr,
 * and the per-MR entries of "rdma resource show mr" and "rdma statistic
 * show mr".
 *
 * An MR is backed either by pages pinned here (pin_user_pages_fast() with
 * FOLL_LONGTERM, charged to the process's RLIMIT_MEMLOCK through
 * mm->pinned_vm, as ib_umem does; ib_umem itself is not used: there is no
 * DMA) or, with IBV_ACCESS_ON_DEMAND, by a region of the ODP layer
 * (sodp_odp.h), which pins nothing. An implicit ODP MR (address 0, length
 * U64_MAX) is an implicit ODP region: the whole address space.
 *
 * Keys: lkey == rkey == index << SODP_MR_KEY_SHIFT | a variant byte, the
 * index allocated cyclically in the device's mr_xa, so the data path can
 * find an MR by key (sodp_mr_lookup()) and a stale key whose index was
 * reused does not match.
 *
 * Concurrency: ib_uverbs runs rereg and dereg of one MR with its uobject
 * locked exclusively, so they never race each other; the MR's fields are
 * only written there, under mr->lock. Everyone else (advise_mr, restrack,
 * later the data path) reads them under mr->lock through a view
 * (struct sodp_mr_view), which holds references on the backing, so a
 * rereg or dereg can swap or tear the backing down at any time: a
 * revoked ODP region fails every later operation with -ENOENT, and pinned
 * pages are unpinned when the last view of them is put.
 */

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <rdma/restrack.h>
#include <rdma/uverbs_ioctl.h>

#include "sodp.h"
#include "sodp_odp.h"

static unsigned int max_mr = SODP_MAX_MR_DEFAULT;
module_param(max_mr, uint, 0644);
MODULE_PARM_DESC(max_mr,
		 "Memory regions per device, 1 to 16777215 (default 1048576); read when a device is created");

/* Pages pinned or unpinned per call, between cond_resched()s. */
#define SODP_PIN_BATCH		4096UL

/* What userspace may ask for; the optional range is cleared first. */
#define SODP_MR_ACCESS	(IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE | \
			 IB_ACCESS_REMOTE_READ | IB_ACCESS_REMOTE_ATOMIC | \
			 IB_ACCESS_MW_BIND | IB_ACCESS_ON_DEMAND | \
			 IB_ACCESS_HUGETLB)

/*
 * The pinned pages of an MR. Reference counted: the MR holds one, every
 * view of the MR one more. The last put unpins (marking the pages dirty if
 * they were pinned for writing) and uncharges the mm.
 */
struct sodp_mr_pin {
	struct kref ref;
	struct mm_struct *mm;		/* mmgrab()ed; pinned_vm charged */
	unsigned long npages;
	bool writable;			/* pinned with FOLL_WRITE */
	struct page **pages;
};

/* An MR's backing while it is built or torn down. */
struct sodp_mr_backing {
	struct sodp_mr_pin *pin;
	struct sodp_odp_region *odp;
};

void sodp_mr_dev_init(struct sodp_dev *sdev)
{
	xa_init_flags(&sdev->mr_xa, XA_FLAGS_ALLOC);
	sdev->mr_next = 1;
	sdev->max_mr = clamp_t(u32, READ_ONCE(max_mr), 1, SODP_MR_INDEX_MAX);
	atomic_set(&sdev->mr_variant, 0);
}

/* After ib_core destroyed every user object: no MR is left. */
void sodp_mr_dev_fini(struct sodp_dev *sdev)
{
	WARN_ON_ONCE(!xa_empty(&sdev->mr_xa));
	xa_destroy(&sdev->mr_xa);
}

/* ---- pinned pages --------------------------------------------------------- */

static void sodp_mr_unpin(struct page **pages, unsigned long npages,
			  bool dirty)
{
	while (npages) {
		unsigned long n = min(npages, SODP_PIN_BATCH);

		unpin_user_pages_dirty_lock(pages, n, dirty);
		pages += n;
		npages -= n;
		cond_resched();
	}
}

static void sodp_mr_pin_release(struct kref *kref)
{
	struct sodp_mr_pin *pin = container_of(kref, struct sodp_mr_pin, ref);

	sodp_mr_unpin(pin->pages, pin->npages, pin->writable);
	atomic64_sub(pin->npages, &pin->mm->pinned_vm);
	atomic64_sub(pin->npages, &sodp_objs.mr_pinned_pages);
	mmdrop(pin->mm);
	kvfree(pin->pages);
	kfree(pin);
}

/* May sleep (unpinning takes page locks to mark pages dirty). */
static void sodp_mr_pin_put(struct sodp_mr_pin *pin)
{
	might_sleep();
	kref_put(&pin->ref, sodp_mr_pin_release);
}

/*
 * Pin [va, va + len) of the current process, checked by the caller (len
 * not 0, no wrap-around). The pages count against RLIMIT_MEMLOCK unless
 * the process has CAP_IPC_LOCK.
 */
static struct sodp_mr_pin *sodp_mr_pin_create(u64 va, u64 len, bool writable)
{
	unsigned int gup_flags = FOLL_LONGTERM | (writable ? FOLL_WRITE : 0);
	struct mm_struct *mm = current->mm;
	unsigned long start = va & PAGE_MASK;
	unsigned long npages, done = 0, lock_limit;
	struct sodp_mr_pin *pin;
	int ret;

	if (!mm)
		return ERR_PTR(-EFAULT);
	/* Beyond the address space: nothing to pin, nothing to charge. */
	if (va + len > mm->task_size)
		return ERR_PTR(-EFAULT);
	/* [va, va + len - 1] cannot wrap: the caller checked va + len. */
	npages = ((va + len - 1) >> PAGE_SHIFT) - (start >> PAGE_SHIFT) + 1;

	lock_limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	if (atomic64_add_return(npages, &mm->pinned_vm) > lock_limit &&
	    !capable(CAP_IPC_LOCK)) {
		ret = -ENOMEM;
		goto err_uncharge;
	}

	pin = kzalloc(sizeof(*pin), GFP_KERNEL);
	if (!pin) {
		ret = -ENOMEM;
		goto err_uncharge;
	}
	/* 8 bytes a page; beyond what kvmalloc allows (1 TiB) -ENOMEM. */
	pin->pages = kvcalloc(npages, sizeof(*pin->pages),
			      GFP_KERNEL | __GFP_NOWARN);
	if (!pin->pages) {
		ret = -ENOMEM;
		goto err_free;
	}

	while (done < npages) {
		int n = min(npages - done, SODP_PIN_BATCH);

		ret = pin_user_pages_fast(start + done * PAGE_SIZE, n,
					  gup_flags, pin->pages + done);
		if (ret <= 0) {
			ret = ret ?: -EFAULT;
			goto err_unpin;
		}
		done += ret;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto err_unpin;
		}
		cond_resched();
	}

	kref_init(&pin->ref);
	mmgrab(mm);
	pin->mm = mm;
	pin->npages = npages;
	pin->writable = writable;
	atomic64_add(npages, &sodp_objs.mr_pinned_pages);
	return pin;

err_unpin:
	/* Nothing was written through these pins: not dirty. */
	sodp_mr_unpin(pin->pages, done, false);
	kvfree(pin->pages);
err_free:
	kfree(pin);
err_uncharge:
	atomic64_sub(npages, &mm->pinned_vm);
	return ERR_PTR(ret);
}

/* ---- backing ---------------------------------------------------------------- */

static int sodp_mr_backing_create(u64 va, u64 len, int access, bool implicit,
				  struct sodp_mr_backing *b)
{
	bool writable = ib_access_writable(access);
	struct sodp_odp_region *r;

	b->pin = NULL;
	b->odp = NULL;
	if (!(access & IB_ACCESS_ON_DEMAND)) {
		struct sodp_mr_pin *pin = sodp_mr_pin_create(va, len, writable);

		if (IS_ERR(pin))
			return PTR_ERR(pin);
		b->pin = pin;
		return 0;
	}

	if (!current->mm)
		return -EFAULT;
	/*
	 * IB_ACCESS_HUGETLB needs no hint: the layer installs a 2 MiB block
	 * whole whenever the CPU maps it huge (hugetlbfs or THP).
	 */
	r = sodp_odp_region_create(current->mm, implicit ? 0 : va,
				   implicit ? SIZE_MAX : len,
				   writable ? SODP_ODP_ACCESS_WRITE : 0);
	if (IS_ERR(r)) {
		switch (PTR_ERR(r)) {
		case -EOVERFLOW:
			return -EINVAL;
		case -ERANGE:	/* beyond the address space */
			return -EFAULT;
		default:
			return PTR_ERR(r);
		}
	}
	b->odp = r;
	return 0;
}

/* May sleep. Revokes an ODP region at once; pinned pages go with the last
 * view of them.
 */
static void sodp_mr_backing_destroy(struct sodp_mr_backing *b)
{
	if (b->pin)
		sodp_mr_pin_put(b->pin);
	if (b->odp)
		sodp_odp_region_destroy(b->odp);
}

/* ---- checks -------------------------------------------------------------- */

/* @access has its optional bits cleared. */
static int sodp_mr_check_access(int access)
{
	/* IB_ZERO_BASED (MW only) and the FLUSH rights are not offered. */
	if (access & ~SODP_MR_ACCESS)
		return -EOPNOTSUPP;
	/* Verbs: remote write or atomic needs local write (ib_core checks too). */
	if ((access & (IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_ATOMIC)) &&
	    !(access & IB_ACCESS_LOCAL_WRITE))
		return -EINVAL;
	return 0;
}

static int sodp_mr_check_translation(u64 va, u64 len, u64 iova, int access,
				     bool *implicit)
{
	u64 end;

	*implicit = false;
	if ((access & IB_ACCESS_ON_DEMAND) && va == 0 && len == U64_MAX) {
		/* Implicit ODP: the whole address space, at its own address. */
		if (iova)
			return -EINVAL;
		*implicit = true;
		return 0;
	}
	/* As ib_umem: the page-aligned end must not wrap either. */
	if (!len || check_add_overflow(va, len, &end) ||
	    check_add_overflow(end, (u64)PAGE_SIZE - 1, &end) ||
	    check_add_overflow(iova, len, &end))
		return -EINVAL;
	return 0;
}

/* sodp defines no driver data for MR commands: a newer provider's must be 0. */
static int sodp_mr_check_udata(struct ib_udata *udata)
{
	if (udata && udata->inlen &&
	    !ib_is_udata_cleared(udata, 0, udata->inlen))
		return -EOPNOTSUPP;
	return 0;
}

/* ---- verbs ----------------------------------------------------------------- */

struct ib_mr *sodp_reg_user_mr(struct ib_pd *ibpd, u64 start, u64 length,
			       u64 virt_addr, int access,
			       struct ib_udata *udata)
{
	struct sodp_dev *sdev = to_sdev(ibpd->device);
	struct sodp_mr_backing b;
	struct sodp_mr *mr;
	bool implicit;
	u32 idx;
	int err;

	err = sodp_mr_check_udata(udata);
	if (err)
		return ERR_PTR(err);
	access &= ~IB_ACCESS_OPTIONAL;
	err = sodp_mr_check_access(access);
	if (err)
		return ERR_PTR(err);
	err = sodp_mr_check_translation(start, length, virt_addr, access,
					&implicit);
	if (err)
		return ERR_PTR(err);

	mr = kzalloc(sizeof(*mr), GFP_KERNEL);
	if (!mr)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&mr->lock);

	/* Reserve the index (NULL: lookups miss it) until the MR is whole. */
	err = xa_alloc_cyclic(&sdev->mr_xa, &idx, NULL,
			      XA_LIMIT(1, sdev->max_mr), &sdev->mr_next,
			      GFP_KERNEL);
	if (err < 0) {
		err = err == -EBUSY ? -ENOMEM : err;	/* max_mr reached */
		goto err_free;
	}
	mr->key = idx << SODP_MR_KEY_SHIFT |
		  (atomic_inc_return(&sdev->mr_variant) & 0xff);

	err = sodp_mr_backing_create(start, length, access, implicit, &b);
	if (err)
		goto err_erase;

	mr->pd = ibpd;
	mr->access = access;
	mr->va = start;
	mr->iova = virt_addr;
	mr->length = length;
	mr->implicit = implicit;
	mr->pin = b.pin;
	mr->odp = b.odp;
	mr->ibmr.lkey = mr->key;
	mr->ibmr.rkey = mr->key;
	mr->ibmr.page_size = PAGE_SIZE;

	/* Publish: the slot is reserved, so this allocates nothing. */
	err = xa_err(xa_store(&sdev->mr_xa, idx, mr, GFP_KERNEL));
	if (err)
		goto err_backing;

	atomic_inc(&sodp_objs.mrs);
	return &mr->ibmr;

err_backing:
	sodp_mr_backing_destroy(&b);
err_erase:
	xa_erase(&sdev->mr_xa, idx);
err_free:
	kfree(mr);
	return ERR_PTR(err);
}

/*
 * Everything is changed in place (the keys stay), so this returns NULL.
 * The new backing, if the change needs one, is built before anything
 * changes: on any error the MR is exactly as it was. While both exist,
 * a pinned MR's old and new pages both count against RLIMIT_MEMLOCK.
 */
struct ib_mr *sodp_rereg_user_mr(struct ib_mr *ibmr, int flags, u64 start,
				 u64 length, u64 virt_addr, int access,
				 struct ib_pd *ibpd, struct ib_udata *udata)
{
	struct sodp_mr *mr = to_smr(ibmr);
	struct sodp_mr_backing nb = {}, ob = {};
	u64 va, len, iova;
	bool implicit, rebuild;
	int new_access, err;

	if (!flags)
		return ERR_PTR(-EINVAL);
	if (flags & ~IB_MR_REREG_SUPPORTED)
		return ERR_PTR(-EOPNOTSUPP);
	err = sodp_mr_check_udata(udata);
	if (err)
		return ERR_PTR(err);

	/* Only rereg and dereg write the MR, and never at once: see above. */
	new_access = mr->access;
	if (flags & IB_MR_REREG_ACCESS)
		new_access = access & ~IB_ACCESS_OPTIONAL;
	err = sodp_mr_check_access(new_access);
	if (err)
		return ERR_PTR(err);

	if (flags & IB_MR_REREG_TRANS) {
		va = start;
		len = length;
		iova = virt_addr;
	} else {
		va = mr->va;
		len = mr->length;
		iova = mr->iova;
	}
	/* Also refuses an implicit MR that would stop being ODP. */
	err = sodp_mr_check_translation(va, len, iova, new_access, &implicit);
	if (err)
		return ERR_PTR(err);

	rebuild = (flags & IB_MR_REREG_TRANS) ||
		  ((new_access ^ mr->access) & IB_ACCESS_ON_DEMAND) ||
		  ib_access_writable(new_access) !=
			  ib_access_writable(mr->access);
	if (rebuild) {
		err = sodp_mr_backing_create(va, len, new_access, implicit,
					     &nb);
		if (err)
			return ERR_PTR(err);
	}

	spin_lock(&mr->lock);
	/* Without IB_MR_REREG_PD, ib_core passes the MR's own PD. */
	mr->pd = ibpd;
	mr->access = new_access;
	mr->va = va;
	mr->iova = iova;
	mr->length = len;
	mr->implicit = implicit;
	if (rebuild) {
		ob.pin = mr->pin;
		ob.odp = mr->odp;
		mr->pin = nb.pin;
		mr->odp = nb.odp;
	}
	spin_unlock(&mr->lock);

	sodp_mr_backing_destroy(&ob);
	return NULL;
}

int sodp_dereg_mr(struct ib_mr *ibmr, struct ib_udata *udata)
{
	struct sodp_dev *sdev = to_sdev(ibmr->device);
	struct sodp_mr *mr = to_smr(ibmr);
	struct sodp_mr_backing b;

	/* No new lookup finds it; one in progress sees it dead. */
	xa_erase(&sdev->mr_xa, mr->key >> SODP_MR_KEY_SHIFT);
	spin_lock(&mr->lock);
	mr->dead = true;
	b.pin = mr->pin;
	b.odp = mr->odp;
	mr->pin = NULL;
	mr->odp = NULL;
	spin_unlock(&mr->lock);

	sodp_mr_backing_destroy(&b);
	atomic_dec(&sodp_objs.mrs);
	/* A lookup may still hold the RCU read lock on it. */
	kfree_rcu(mr, rcu);
	return 0;
}

/* ---- lookups --------------------------------------------------------------- */

static void sodp_mr_view_fill(struct sodp_mr *mr, struct sodp_mr_view *v)
{
	lockdep_assert_held(&mr->lock);

	v->pd = mr->pd;
	v->access = mr->access;
	v->va = mr->va;
	v->iova = mr->iova;
	v->length = mr->length;
	v->implicit = mr->implicit;
	v->pin = mr->pin;
	v->odp = mr->odp;
	if (v->pin)
		kref_get(&v->pin->ref);
	if (v->odp)
		sodp_odp_region_get(v->odp);
}

/**
 * sodp_mr_lookup - find the MR of a key and take a view of it
 * @sdev: the device
 * @key: an lkey or rkey
 * @v: filled in on success; release with sodp_mr_view_put()
 *
 * Callable in any context that may take a spinlock.
 *
 * Return: 0, or -ENOENT if no live MR has this key.
 */
int sodp_mr_lookup(struct sodp_dev *sdev, u32 key, struct sodp_mr_view *v)
{
	struct sodp_mr *mr;
	int err = -ENOENT;

	rcu_read_lock();
	mr = xa_load(&sdev->mr_xa, key >> SODP_MR_KEY_SHIFT);
	if (mr && mr->key == key) {
		spin_lock(&mr->lock);
		if (!mr->dead) {
			sodp_mr_view_fill(mr, v);
			err = 0;
		}
		spin_unlock(&mr->lock);
	}
	rcu_read_unlock();
	return err;
}

/* May sleep: the last reference to pinned pages unpins them. */
void sodp_mr_view_put(struct sodp_mr_view *v)
{
	if (v->pin)
		sodp_mr_pin_put(v->pin);
	if (v->odp)
		sodp_odp_region_put(v->odp);
	v->pin = NULL;
	v->odp = NULL;
}

/* A view of an MR the caller knows to be registered (restrack). */
static void sodp_mr_view_of(struct sodp_mr *mr, struct sodp_mr_view *v)
{
	spin_lock(&mr->lock);
	sodp_mr_view_fill(mr, v);
	spin_unlock(&mr->lock);
}

/* ---- data access (the engine) ---------------------------------------------- */

/*
 * The user address of @iova in @v, once [iova, iova + len) is known to lie
 * inside the MR. An implicit ODP MR's iova is the user address itself; the
 * ODP layer checks that it is a user address.
 */
static int sodp_mr_uaddr(const struct sodp_mr_view *v, u64 iova, u64 len,
			 u64 *uaddr)
{
	u64 end;

	if (check_add_overflow(iova, len, &end))
		return -EOVERFLOW;
	if (v->implicit) {
		*uaddr = iova;
		return 0;
	}
	/* Registration checked that iova + length does not wrap. */
	if (iova < v->iova || end > v->iova + v->length)
		return -ERANGE;
	*uaddr = v->va + (iova - v->iova);
	return 0;
}

/*
 * A position in an MR's pinned pages. Used from ODP chunk callbacks, under
 * a region lock: kmap_local_page() and memcpy() only.
 */
struct sodp_pin_cursor {
	struct sodp_mr_pin *pin;
	u64 base;			/* user address of pin->pages[0] */
	u64 uaddr;			/* next byte */
	bool to_pin;			/* copy into the pinned pages */
};

static int sodp_pin_cursor_copy(void *priv, void *kaddr, size_t len)
{
	struct sodp_pin_cursor *c = priv;

	while (len) {
		unsigned long idx = (c->uaddr - c->base) >> PAGE_SHIFT;
		size_t off = offset_in_page(c->uaddr);
		size_t n = min_t(size_t, len, PAGE_SIZE - off);
		void *p = kmap_local_page(c->pin->pages[idx]);

		if (c->to_pin)
			memcpy(p + off, kaddr, n);
		else
			memcpy(kaddr, p + off, n);
		kunmap_local(p);
		kaddr += n;
		c->uaddr += n;
		len -= n;
	}
	return 0;
}

static int sodp_mr_pin_access(struct sodp_mr_view *v, u64 uaddr, u64 len,
			      sodp_odp_chunk_fn fn, void *priv)
{
	struct sodp_mr_pin *pin = v->pin;
	u64 base = v->va & PAGE_MASK;
	unsigned int pages = 0;
	int err;

	while (len) {
		size_t off = offset_in_page(uaddr);
		size_t n = min_t(u64, len, PAGE_SIZE - off);
		void *p = kmap_local_page(pin->pages[(uaddr - base) >> PAGE_SHIFT]);

		err = fn(priv, p + off, n);
		kunmap_local(p);
		if (err)
			return err;
		uaddr += n;
		len -= n;
		if (!(++pages % SODP_ODP_BATCH_PAGES))
			cond_resched();
	}
	return 0;
}

/**
 * sodp_mr_access - hand each kernel-mapped piece of an MR range to @fn
 * @v: a view of the MR (sodp_mr_lookup())
 * @iova: start of the range, in the MR's iova space
 * @len: length in bytes (0: nothing is done)
 * @write: @fn stores into the pieces
 * @fn: called for each piece, never across a page; see sodp_odp_chunk_fn
 *	for what it may do (the same rules hold for pinned memory)
 * @priv: passed to @fn
 *
 * Checks the range against the MR, not the access rights: those are the
 * caller's (local or remote) business. ODP pages are faulted in, so the
 * caller may sleep and holds no region lock.
 *
 * Return: 0; -EOVERFLOW or -ERANGE for a range outside the MR; -EPERM for a
 * write to pages pinned read-only; what the ODP layer or @fn returned.
 */
int sodp_mr_access(struct sodp_mr_view *v, u64 iova, u64 len, bool write,
		   sodp_odp_chunk_fn fn, void *priv)
{
	u64 uaddr;
	int err;

	err = sodp_mr_uaddr(v, iova, len, &uaddr);
	if (err || !len)
		return err;
	if (v->odp)
		return sodp_odp_access(v->odp, uaddr, len,
				       write ? SODP_ODP_WRITE : 0, fn, priv);
	if (!v->pin)
		return -ENOENT;
	if (write && !v->pin->writable)
		return -EPERM;
	return sodp_mr_pin_access(v, uaddr, len, fn, priv);
}

/* Pinned to pinned: both sides are always mapped. */
static int sodp_mr_pin_copy(struct sodp_mr_view *dst, u64 daddr,
			    struct sodp_mr_view *src, u64 saddr, u64 len)
{
	struct sodp_pin_cursor c = {
		.pin = dst->pin,
		.base = dst->va & PAGE_MASK,
		.uaddr = daddr,
		.to_pin = true,
	};

	return sodp_mr_pin_access(src, saddr, len, sodp_pin_cursor_copy, &c);
}

/**
 * sodp_mr_copy - copy from one MR range to another, one copy
 * @dst: view of the destination MR
 * @dst_iova: destination, in @dst's iova space
 * @src: view of the source MR (may be of the same MR)
 * @src_iova: source, in @src's iova space
 * @len: bytes
 *
 * Range checks as sodp_mr_access(); access rights are the caller's. ODP
 * pages of either side are faulted in as needed.
 *
 * Return: 0 or a negative errno (see sodp_mr_access() and sodp_odp_copy()).
 */
int sodp_mr_copy(struct sodp_mr_view *dst, u64 dst_iova,
		 struct sodp_mr_view *src, u64 src_iova, u64 len)
{
	struct sodp_pin_cursor c;
	u64 daddr, saddr;
	int err;

	err = sodp_mr_uaddr(dst, dst_iova, len, &daddr);
	if (!err)
		err = sodp_mr_uaddr(src, src_iova, len, &saddr);
	if (err || !len)
		return err;
	if ((!dst->odp && !dst->pin) || (!src->odp && !src->pin))
		return -ENOENT;
	if (dst->pin && !dst->pin->writable)
		return -EPERM;

	if (dst->odp && src->odp)
		return sodp_odp_copy(dst->odp, daddr, src->odp, saddr, len);
	if (dst->pin && src->pin)
		return sodp_mr_pin_copy(dst, daddr, src, saddr, len);
	if (src->odp) {
		/* ODP source into pinned pages. */
		c.pin = dst->pin;
		c.base = dst->va & PAGE_MASK;
		c.uaddr = daddr;
		c.to_pin = true;
		return sodp_odp_access(src->odp, saddr, len, 0,
				       sodp_pin_cursor_copy, &c);
	}
	/* Pinned source into ODP pages. */
	c.pin = src->pin;
	c.base = src->va & PAGE_MASK;
	c.uaddr = saddr;
	c.to_pin = false;
	return sodp_odp_access(dst->odp, daddr, len, SODP_ODP_WRITE,
			       sodp_pin_cursor_copy, &c);
}

/* ---- advise_mr -------------------------------------------------------------- */

struct sodp_advise_sge {
	struct sodp_mr_view view;
	u64 va;
};

/*
 * Check one SGE of an advice, as ibv_advise_mr(3) documents: an lkey no
 * live MR has -ENOENT; an MR of another PD (or process) -EPERM; an MR that
 * is not ODP -EOPNOTSUPP (ENOTSUP: the advice is not supported for it); a
 * write prefetch on an MR without write access -EPERM; a range not inside
 * the MR -EFAULT.
 */
static int sodp_advise_check(struct sodp_dev *sdev, struct ib_pd *ibpd,
			     enum sodp_odp_prefetch_mode mode,
			     const struct ib_sge *sge,
			     struct sodp_advise_sge *a)
{
	struct sodp_mr_view *v = &a->view;
	u64 end;
	int err;

	if (sodp_mr_lookup(sdev, sge->lkey, v))
		return -ENOENT;
	if (v->pd != ibpd) {
		err = -EPERM;
		goto err_put;
	}
	if (!v->odp) {
		err = -EOPNOTSUPP;
		goto err_put;
	}
	if (mode == SODP_ODP_PREFETCH_WRITE &&
	    !ib_access_writable(v->access)) {
		err = -EPERM;
		goto err_put;
	}
	/* sge->addr is an address in the MR's iova space. */
	if (check_add_overflow(sge->addr, (u64)sge->length, &end) ||
	    sge->addr < v->iova || end - v->iova > v->length) {
		err = -EFAULT;
		goto err_put;
	}
	a->va = v->va + (sge->addr - v->iova);
	return 0;

err_put:
	sodp_mr_view_put(v);
	return err;
}

/*
 * Every SGE is checked before anything is prefetched. With
 * IB_UVERBS_ADVISE_MR_FLAG_FLUSH the prefetch is synchronous and its
 * errors are returned (-EFAULT: not mapped or beyond the address space;
 * -EPERM: write intent on memory the process may not write); without it
 * the layer queues it and, as a NIC's prefetch, its errors only show as
 * later faults.
 */
int sodp_advise_mr(struct ib_pd *ibpd, enum ib_uverbs_advise_mr_advice advice,
		   u32 flags, struct ib_sge *sg_list, u32 num_sge,
		   struct uverbs_attr_bundle *attrs)
{
	struct sodp_dev *sdev = to_sdev(ibpd->device);
	enum sodp_odp_prefetch_mode mode;
	unsigned int pflags = 0;
	struct sodp_advise_sge *a;
	u32 i, n = 0;
	int err = 0;

	switch (advice) {
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH:
		mode = SODP_ODP_PREFETCH;
		break;
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_WRITE:
		mode = SODP_ODP_PREFETCH_WRITE;
		break;
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT:
		mode = SODP_ODP_PREFETCH_NO_FAULT;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (flags & ~IB_UVERBS_ADVISE_MR_FLAG_FLUSH)
		return -EINVAL;
	if (!(flags & IB_UVERBS_ADVISE_MR_FLAG_FLUSH))
		pflags = SODP_ODP_PREFETCH_ASYNC;
	if (!num_sge)
		return 0;

	a = kvcalloc(num_sge, sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	for (n = 0; n < num_sge; n++) {
		err = sodp_advise_check(sdev, ibpd, mode, &sg_list[n], &a[n]);
		if (err)
			goto out;
	}
	for (i = 0; i < num_sge; i++) {
		err = sodp_odp_prefetch(a[i].view.odp, a[i].va,
					sg_list[i].length, mode, pflags);
		if (err == -ERANGE || err == -EOVERFLOW)
			err = -EFAULT;
		if (err)
			break;
	}
out:
	for (i = 0; i < n; i++)
		sodp_mr_view_put(&a[i].view);
	kvfree(a);
	return err;
}

/* ---- restrack --------------------------------------------------------------- */

struct sodp_mr_counter {
	const char *name;
	u64 value;
};

/* The ODP counters under mlx5's names, and how many there are. */
static unsigned int sodp_mr_counters(struct sodp_odp_region *r,
				     struct sodp_mr_counter *out)
{
	struct sodp_odp_counters c;

	sodp_odp_read_counters(r, &c);
	out[0] = (struct sodp_mr_counter){ "page_faults", c.page_faults };
	out[1] = (struct sodp_mr_counter){ "page_faults_handled",
					   c.page_faults_handled };
	out[2] = (struct sodp_mr_counter){ "page_invalidations",
					   c.page_invalidations };
	out[3] = (struct sodp_mr_counter){ "page_invalidations_handled",
					   c.page_invalidations_handled };
	out[4] = (struct sodp_mr_counter){ "page_prefetch", c.page_prefetch };
	out[5] = (struct sodp_mr_counter){ "pages_present", c.pages_present };
	return 6;
}

/* How many of sodp_mr_counters() "rdma statistic" shows: mlx5's five. */
#define SODP_MR_STAT_COUNTERS	5

/* "rdma resource show mr -dd": the kind of MR and its counters. */
int sodp_fill_res_mr_entry(struct sk_buff *msg, struct ib_mr *ibmr)
{
	struct sodp_mr_counter c[6];
	struct sodp_mr_view v;
	struct nlattr *table;
	unsigned int i, n = 0;
	const char *odp;
	u64 pinned = 0;

	sodp_mr_view_of(to_smr(ibmr), &v);
	if (v.odp) {
		odp = v.implicit ? "implicit" : "explicit";
		n = sodp_mr_counters(v.odp, c);
	} else {
		odp = "no";
		pinned = v.pin ? v.pin->npages : 0;
	}
	sodp_mr_view_put(&v);

	table = nla_nest_start(msg, RDMA_NLDEV_ATTR_DRIVER);
	if (!table)
		return -EMSGSIZE;
	if (rdma_nl_put_driver_string(msg, "odp", odp))
		goto err;
	if (!n && rdma_nl_put_driver_u64(msg, "pinned_pages", pinned))
		goto err;
	for (i = 0; i < n; i++)
		if (rdma_nl_put_driver_u64(msg, c[i].name, c[i].value))
			goto err;
	nla_nest_end(msg, table);
	return 0;

err:
	nla_nest_cancel(msg, table);
	return -EMSGSIZE;
}

/* "rdma statistic show mr": ODP MRs' counters, as mlx5 shows them. */
int sodp_fill_stat_mr_entry(struct sk_buff *msg, struct ib_mr *ibmr)
{
	struct sodp_mr_counter c[6];
	struct sodp_mr_view v;
	struct nlattr *table;
	unsigned int i;

	sodp_mr_view_of(to_smr(ibmr), &v);
	if (!v.odp) {
		sodp_mr_view_put(&v);
		return 0;
	}
	sodp_mr_counters(v.odp, c);
	sodp_mr_view_put(&v);

	table = nla_nest_start(msg, RDMA_NLDEV_ATTR_STAT_HWCOUNTERS);
	if (!table)
		return -EMSGSIZE;
	for (i = 0; i < SODP_MR_STAT_COUNTERS; i++) {
		if (rdma_nl_stat_hwcounter_entry(msg, c[i].name, c[i].value)) {
			nla_nest_cancel(msg, table);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(msg, table);
	return 0;
}
