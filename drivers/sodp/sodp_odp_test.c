// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sodp_odp_test.ko: /dev/sodp_odp_test, the ODP layer's test device (the
 * uapi is include/uapi/rdma/sodp-odp-test.h). It makes the kernel read and
 * write a process's memory through ODP regions the way the data path will:
 * through the translation entries, faulting inline. Between the entries and
 * the caller's own buffer stands a kernel bounce buffer, because user memory
 * must never be touched under a region lock (see sodp_odp.h).
 */

#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include <rdma/sodp-odp-test.h>
#include "sodp_odp.h"

#define SODP_ODP_TEST_BOUNCE	(64 * 1024)
#define SODP_ODP_TEST_RES_CHUNK	4096

/* One per open file: its regions by handle (1..INT_MAX). */
struct sodp_odp_test_file {
	struct xarray regions;
};

static int sodp_odp_test_open(struct inode *inode, struct file *filp)
{
	struct sodp_odp_test_file *tf;

	tf = kzalloc(sizeof(*tf), GFP_KERNEL);
	if (!tf)
		return -ENOMEM;
	xa_init_flags(&tf->regions, XA_FLAGS_ALLOC1);
	filp->private_data = tf;
	return 0;
}

static int sodp_odp_test_release(struct inode *inode, struct file *filp)
{
	struct sodp_odp_test_file *tf = filp->private_data;
	struct sodp_odp_region *r;
	unsigned long idx;

	xa_for_each(&tf->regions, idx, r) {
		xa_erase(&tf->regions, idx);
		sodp_odp_region_destroy(r);
	}
	xa_destroy(&tf->regions);
	kfree(tf);
	return 0;
}

/* The region named @handle with a reference, or NULL. */
static struct sodp_odp_region *sodp_odp_test_get(struct sodp_odp_test_file *tf,
						 u32 handle)
{
	struct sodp_odp_region *r;

	xa_lock(&tf->regions);
	r = xa_load(&tf->regions, handle);
	if (r)
		sodp_odp_region_get(r);
	xa_unlock(&tf->regions);
	return r;
}

static int sodp_odp_test_create(struct sodp_odp_test_file *tf,
				void __user *arg)
{
	struct sodp_odp_test_create c;
	struct sodp_odp_region *r;
	unsigned int access = 0;
	u32 id;
	int ret;

	if (copy_from_user(&c, arg, sizeof(c)))
		return -EFAULT;
	if (c.access & ~(SODP_ODP_TEST_ACCESS_READ | SODP_ODP_TEST_ACCESS_WRITE))
		return -EINVAL;
	if (!current->mm)
		return -EINVAL;
	if (c.access & SODP_ODP_TEST_ACCESS_WRITE)
		access |= SODP_ODP_ACCESS_WRITE;

	r = sodp_odp_region_create(current->mm, c.addr, c.len,
				   access | SODP_ODP_ACCESS_READ);
	if (IS_ERR(r))
		return PTR_ERR(r);
	ret = xa_alloc(&tf->regions, &id, r, xa_limit_31b, GFP_KERNEL);
	if (ret)
		goto out_destroy;
	c.handle = id;
	if (copy_to_user(arg, &c, sizeof(c))) {
		ret = -EFAULT;
		xa_erase(&tf->regions, id);
		goto out_destroy;
	}
	return 0;

out_destroy:
	sodp_odp_region_destroy(r);
	return ret;
}

static int sodp_odp_test_destroy(struct sodp_odp_test_file *tf,
				 void __user *arg)
{
	struct sodp_odp_test_handle h;
	struct sodp_odp_region *r;

	if (copy_from_user(&h, arg, sizeof(h)))
		return -EFAULT;
	if (h.reserved)
		return -EINVAL;
	r = xa_erase(&tf->regions, h.handle);
	if (!r)
		return -ENOENT;
	sodp_odp_region_destroy(r);
	return 0;
}

struct sodp_odp_test_cursor {
	u8 *buf;
};

static int sodp_odp_test_to_buf(void *priv, void *kaddr, size_t len)
{
	struct sodp_odp_test_cursor *cur = priv;

	memcpy(cur->buf, kaddr, len);
	cur->buf += len;
	return 0;
}

static int sodp_odp_test_from_buf(void *priv, void *kaddr, size_t len)
{
	struct sodp_odp_test_cursor *cur = priv;

	memcpy(kaddr, cur->buf, len);
	cur->buf += len;
	return 0;
}

static int sodp_odp_test_rw(struct sodp_odp_test_file *tf, void __user *arg,
			    bool write)
{
	struct sodp_odp_test_cursor cur = {};
	struct sodp_odp_test_rw rw;
	struct sodp_odp_region *r;
	unsigned int flags = 0;
	u8 __user *ubuf;
	u64 done = 0;
	u8 *bounce;
	int ret = 0;

	if (copy_from_user(&rw, arg, sizeof(rw)))
		return -EFAULT;
	if (rw.flags & ~SODP_ODP_TEST_RW_NOFAULT)
		return -EINVAL;
	if (rw.flags & SODP_ODP_TEST_RW_NOFAULT)
		flags |= SODP_ODP_NOFAULT;
	if (write)
		flags |= SODP_ODP_WRITE;
	ubuf = u64_to_user_ptr(rw.buf);

	r = sodp_odp_test_get(tf, rw.handle);
	if (!r)
		return -ENOENT;
	bounce = kvmalloc(min_t(u64, max_t(u64, rw.len, 1),
				SODP_ODP_TEST_BOUNCE), GFP_KERNEL);
	if (!bounce) {
		ret = -ENOMEM;
		goto out_put;
	}

	/* Zero length still checks the range. */
	if (!rw.len)
		ret = sodp_odp_access(r, rw.addr, 0, flags,
				      sodp_odp_test_to_buf, &cur);
	while (done < rw.len) {
		u64 n = min_t(u64, rw.len - done, SODP_ODP_TEST_BOUNCE);

		if (write && copy_from_user(bounce, ubuf + done, n)) {
			ret = -EFAULT;
			break;
		}
		cur.buf = bounce;
		ret = sodp_odp_access(r, rw.addr + done, n, flags,
				      write ? sodp_odp_test_from_buf :
					      sodp_odp_test_to_buf, &cur);
		if (ret)
			break;
		if (!write && copy_to_user(ubuf + done, bounce, n)) {
			ret = -EFAULT;
			break;
		}
		done += n;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	kvfree(bounce);
out_put:
	sodp_odp_region_put(r);
	return ret;
}

static int sodp_odp_test_fault(struct sodp_odp_test_file *tf,
			       void __user *arg)
{
	struct sodp_odp_test_fault f;
	struct sodp_odp_region *r;
	unsigned int flags = 0;
	int ret;

	if (copy_from_user(&f, arg, sizeof(f)))
		return -EFAULT;
	if (f.flags & ~(SODP_ODP_TEST_FAULT_WRITE | SODP_ODP_TEST_FAULT_SNAPSHOT))
		return -EINVAL;
	if (f.flags & SODP_ODP_TEST_FAULT_WRITE)
		flags |= SODP_ODP_WRITE;
	if (f.flags & SODP_ODP_TEST_FAULT_SNAPSHOT)
		flags |= SODP_ODP_NOFAULT;
	r = sodp_odp_test_get(tf, f.handle);
	if (!r)
		return -ENOENT;
	ret = sodp_odp_fault(r, f.addr, f.len, flags);
	sodp_odp_region_put(r);
	return ret;
}

static int sodp_odp_test_prefetch(struct sodp_odp_test_file *tf,
				  void __user *arg)
{
	struct sodp_odp_test_prefetch p;
	enum sodp_odp_prefetch_mode mode;
	struct sodp_odp_region *r;
	int ret;

	if (copy_from_user(&p, arg, sizeof(p)))
		return -EFAULT;
	if (p.reserved || (p.flags & ~SODP_ODP_TEST_PREFETCH_ASYNC))
		return -EINVAL;
	switch (p.mode) {
	case SODP_ODP_TEST_PREFETCH:
		mode = SODP_ODP_PREFETCH;
		break;
	case SODP_ODP_TEST_PREFETCH_WRITE:
		mode = SODP_ODP_PREFETCH_WRITE;
		break;
	case SODP_ODP_TEST_PREFETCH_NO_FAULT:
		mode = SODP_ODP_PREFETCH_NO_FAULT;
		break;
	default:
		return -EINVAL;
	}
	r = sodp_odp_test_get(tf, p.handle);
	if (!r)
		return -ENOENT;
	ret = sodp_odp_prefetch(r, p.addr, p.len, mode,
				(p.flags & SODP_ODP_TEST_PREFETCH_ASYNC) ?
				SODP_ODP_PREFETCH_ASYNC : 0);
	sodp_odp_region_put(r);
	return ret;
}

static int sodp_odp_test_prefetch_wait(struct sodp_odp_test_file *tf,
				       void __user *arg)
{
	struct sodp_odp_test_handle h;
	struct sodp_odp_region *r;

	if (copy_from_user(&h, arg, sizeof(h)))
		return -EFAULT;
	if (h.reserved)
		return -EINVAL;
	r = sodp_odp_test_get(tf, h.handle);
	if (!r)
		return -ENOENT;
	sodp_odp_prefetch_wait(r);
	sodp_odp_region_put(r);
	return 0;
}

static int sodp_odp_test_residency(struct sodp_odp_test_file *tf,
				   void __user *arg)
{
	struct sodp_odp_test_residency q;
	struct sodp_odp_region *r;
	u8 __user *ubuf;
	u64 done = 0;
	u8 *res;
	int ret = 0;

	if (copy_from_user(&q, arg, sizeof(q)))
		return -EFAULT;
	if (q.reserved)
		return -EINVAL;
	ubuf = u64_to_user_ptr(q.buf);
	r = sodp_odp_test_get(tf, q.handle);
	if (!r)
		return -ENOENT;
	res = kmalloc(SODP_ODP_TEST_RES_CHUNK, GFP_KERNEL);
	if (!res) {
		ret = -ENOMEM;
		goto out_put;
	}
	while (done < q.npages) {
		u64 n = min_t(u64, q.npages - done, SODP_ODP_TEST_RES_CHUNK);
		u64 addr;

		if (check_add_overflow(q.addr, done << PAGE_SHIFT, &addr)) {
			ret = -EOVERFLOW;
			break;
		}
		ret = sodp_odp_residency(r, addr, n, res);
		if (ret)
			break;
		if (copy_to_user(ubuf + done, res, n)) {
			ret = -EFAULT;
			break;
		}
		done += n;
	}
	kfree(res);
out_put:
	sodp_odp_region_put(r);
	return ret;
}

static int sodp_odp_test_counters(struct sodp_odp_test_file *tf,
				  void __user *arg)
{
	struct sodp_odp_test_counters uc = {};
	struct sodp_odp_counters c;
	struct sodp_odp_region *r;

	if (copy_from_user(&uc.handle, arg, sizeof(uc.handle)))
		return -EFAULT;
	r = sodp_odp_test_get(tf, uc.handle);
	if (!r)
		return -ENOENT;
	sodp_odp_read_counters(r, &c);
	sodp_odp_region_put(r);

	uc.page_faults = c.page_faults;
	uc.page_faults_handled = c.page_faults_handled;
	uc.page_invalidations = c.page_invalidations;
	uc.page_invalidations_handled = c.page_invalidations_handled;
	uc.page_prefetch = c.page_prefetch;
	uc.page_snapshot = c.page_snapshot;
	uc.fault_retries = c.fault_retries;
	uc.invalidate_nonblock_busy = c.invalidate_nonblock_busy;
	uc.pages_present = c.pages_present;
	uc.children = c.children;
	if (copy_to_user(arg, &uc, sizeof(uc)))
		return -EFAULT;
	return 0;
}

static int sodp_odp_test_copy(struct sodp_odp_test_file *tf,
			      void __user *arg)
{
	struct sodp_odp_region *dst, *src;
	struct sodp_odp_test_copy c;
	int ret = -ENOENT;

	if (copy_from_user(&c, arg, sizeof(c)))
		return -EFAULT;
	dst = sodp_odp_test_get(tf, c.dst);
	if (!dst)
		return -ENOENT;
	src = sodp_odp_test_get(tf, c.src);
	if (src) {
		ret = sodp_odp_copy(dst, c.dst_addr, src, c.src_addr, c.len);
		sodp_odp_region_put(src);
	}
	sodp_odp_region_put(dst);
	return ret;
}

static int sodp_odp_test_inject(void __user *arg)
{
	struct sodp_odp_inject inj, old;
	struct sodp_odp_test_inject ui;

	if (copy_from_user(&ui, arg, sizeof(ui)))
		return -EFAULT;
	if (ui.reserved)
		return -EINVAL;
	inj.fail_nth = ui.fail_nth;
	inj.busy = ui.busy;
	inj.timeout_ms = ui.timeout_ms;
	sodp_odp_inject_get(&old);
	sodp_odp_inject_set(&inj);
	ui.fail_nth = old.fail_nth;
	ui.busy = old.busy;
	ui.timeout_ms = old.timeout_ms;
	if (copy_to_user(arg, &ui, sizeof(ui)))
		return -EFAULT;
	return 0;
}

/* The pinned registration the benchmark compares ODP with. */
static int sodp_odp_test_pin(void __user *arg)
{
	struct sodp_odp_test_pin p;
	unsigned long npages, pinned = 0;
	struct page **pages;
	u64 t0, t1, t2, end;
	int ret = 0;

	if (copy_from_user(&p, arg, sizeof(p)))
		return -EFAULT;
	if (!p.len || !PAGE_ALIGNED(p.addr) || !PAGE_ALIGNED(p.len))
		return -EINVAL;
	if (check_add_overflow(p.addr, p.len, &end))
		return -EOVERFLOW;
	npages = p.len >> PAGE_SHIFT;
	pages = kvmalloc_array(npages, sizeof(*pages),
			       GFP_KERNEL | __GFP_NOWARN);
	if (!pages)
		return -ENOMEM;

	t0 = ktime_get_ns();
	while (pinned < npages) {
		int n = pin_user_pages_fast(p.addr + (pinned << PAGE_SHIFT),
					    min_t(unsigned long, npages - pinned,
						  INT_MAX),
					    FOLL_WRITE | FOLL_LONGTERM,
					    pages + pinned);

		if (n <= 0) {
			ret = n ? n : -EFAULT;
			break;
		}
		pinned += n;
	}
	t1 = ktime_get_ns();
	unpin_user_pages(pages, pinned);
	t2 = ktime_get_ns();
	kvfree(pages);
	if (ret)
		return ret;

	p.pin_ns = t1 - t0;
	p.unpin_ns = t2 - t1;
	if (copy_to_user(arg, &p, sizeof(p)))
		return -EFAULT;
	return 0;
}

static long sodp_odp_test_ioctl(struct file *filp, unsigned int cmd,
				unsigned long arg)
{
	struct sodp_odp_test_file *tf = filp->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case SODP_ODP_TEST_CREATE:
		return sodp_odp_test_create(tf, uarg);
	case SODP_ODP_TEST_DESTROY:
		return sodp_odp_test_destroy(tf, uarg);
	case SODP_ODP_TEST_READ:
		return sodp_odp_test_rw(tf, uarg, false);
	case SODP_ODP_TEST_WRITE:
		return sodp_odp_test_rw(tf, uarg, true);
	case SODP_ODP_TEST_FAULT:
		return sodp_odp_test_fault(tf, uarg);
	case SODP_ODP_TEST_PREFETCH_IOC:
		return sodp_odp_test_prefetch(tf, uarg);
	case SODP_ODP_TEST_PREFETCH_WAIT:
		return sodp_odp_test_prefetch_wait(tf, uarg);
	case SODP_ODP_TEST_RESIDENCY:
		return sodp_odp_test_residency(tf, uarg);
	case SODP_ODP_TEST_COUNTERS:
		return sodp_odp_test_counters(tf, uarg);
	case SODP_ODP_TEST_COPY:
		return sodp_odp_test_copy(tf, uarg);
	case SODP_ODP_TEST_INJECT:
		return sodp_odp_test_inject(uarg);
	case SODP_ODP_TEST_PIN:
		return sodp_odp_test_pin(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations sodp_odp_test_fops = {
	.owner = THIS_MODULE,
	.open = sodp_odp_test_open,
	.release = sodp_odp_test_release,
	.unlocked_ioctl = sodp_odp_test_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice sodp_odp_test_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "sodp_odp_test",
	.fops = &sodp_odp_test_fops,
	.mode = 0600,
};

module_misc_device(sodp_odp_test_misc);

MODULE_AUTHOR("sodp developers");
MODULE_DESCRIPTION("Test device for sodp's ODP memory layer");
MODULE_LICENSE("Dual BSD/GPL");
