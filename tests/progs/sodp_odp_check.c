// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sodp_odp_check: drives /dev/sodp_odp_test (sodp_odp_test.ko) and compares
 * what the kernel sees through an ODP region's translation entries with the
 * CPU's view of the same memory.
 *
 *   sodp_odp_check SCENARIO [ARGS]
 *
 * Prints one line per assertion, "ok - ..." or "not ok - ...: why", and
 * "# ..." comments; exits 1 if any assertion failed, 2 on a setup error.
 * Scenarios: see the table at the end of this file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <rdma/sodp-odp-test.h>

#include "tap.h"

#define PG		4096UL
#define HUGE_SZ		(2UL << 20)
#define RD		SODP_ODP_TEST_ACCESS_READ
#define WR		SODP_ODP_TEST_ACCESS_WRITE
#define RW		(RD | WR)
#define PRESENT		SODP_ODP_TEST_RES_PRESENT
#define WRITABLE	SODP_ODP_TEST_RES_WRITE
#define DIRTY		SODP_ODP_TEST_RES_DIRTY
#define HUGE		SODP_ODP_TEST_RES_HUGE

static int devfd = -1;

/* expect an errno result: ret is 0 or -errno */
static bool expect_err(int ret, int want, const char *what)
{
	return expect(ret == -want, what, "got %d (%s), want -%d (%s)", ret,
		      strerror(ret < 0 ? -ret : 0), want, strerror(want));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the device ---------------------------------------------------------- */

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static void dev_open(void)
{
	devfd = open(SODP_ODP_TEST_DEV, O_RDWR | O_CLOEXEC);
	if (devfd < 0)
		die("open %s", SODP_ODP_TEST_DEV);
}

/* returns the handle (> 0) or -errno */
static int odp_create_fd(int fd, const void *addr, uint64_t len,
			 uint32_t access)
{
	struct sodp_odp_test_create c = {
		.addr = (uintptr_t)addr, .len = len, .access = access,
	};
	int ret = xioctl(fd, SODP_ODP_TEST_CREATE, &c);

	return ret ? ret : (int)c.handle;
}

static int odp_create(const void *addr, uint64_t len, uint32_t access)
{
	return odp_create_fd(devfd, addr, len, access);
}

static int odp_implicit(uint32_t access)
{
	return odp_create(NULL, UINT64_MAX, access);
}

/* a region that must exist for the scenario to go on */
static int must_create(const void *addr, uint64_t len, uint32_t access)
{
	int h = odp_create(addr, len, access);

	if (h <= 0) {
		errno = -h;
		die("create region %p+%#" PRIx64, addr, len);
	}
	return h;
}

static int odp_destroy(int h)
{
	struct sodp_odp_test_handle a = { .handle = h };

	return xioctl(devfd, SODP_ODP_TEST_DESTROY, &a);
}

static int odp_rw_fd(int fd, int h, const void *addr, uint64_t len,
		     void *buf, bool write, uint32_t flags)
{
	struct sodp_odp_test_rw rw = {
		.handle = h, .flags = flags, .addr = (uintptr_t)addr,
		.len = len, .buf = (uintptr_t)buf,
	};

	return xioctl(fd, write ? SODP_ODP_TEST_WRITE : SODP_ODP_TEST_READ,
		      &rw);
}

/* device read: region [addr, +len) -> buf */
static int odp_read(int h, const void *addr, uint64_t len, void *buf)
{
	return odp_rw_fd(devfd, h, addr, len, buf, false, 0);
}

/* device write: buf -> region [addr, +len) */
static int odp_write(int h, const void *addr, uint64_t len, const void *buf)
{
	return odp_rw_fd(devfd, h, addr, len, (void *)buf, true, 0);
}

static int odp_fault(int h, const void *addr, uint64_t len, uint32_t flags)
{
	struct sodp_odp_test_fault f = {
		.handle = h, .flags = flags, .addr = (uintptr_t)addr,
		.len = len,
	};

	return xioctl(devfd, SODP_ODP_TEST_FAULT, &f);
}

static int odp_prefetch(int h, const void *addr, uint64_t len, uint32_t mode,
			uint32_t flags)
{
	struct sodp_odp_test_prefetch p = {
		.handle = h, .mode = mode, .flags = flags,
		.addr = (uintptr_t)addr, .len = len,
	};

	return xioctl(devfd, SODP_ODP_TEST_PREFETCH_IOC, &p);
}

static int odp_wait(int h)
{
	struct sodp_odp_test_handle a = { .handle = h };

	return xioctl(devfd, SODP_ODP_TEST_PREFETCH_WAIT, &a);
}

static int odp_res_fd(int fd, int h, const void *addr, uint64_t npages,
		      uint8_t *out)
{
	struct sodp_odp_test_residency q = {
		.handle = h, .addr = (uintptr_t)addr, .npages = npages,
		.buf = (uintptr_t)out,
	};

	return xioctl(fd, SODP_ODP_TEST_RESIDENCY, &q);
}

static int odp_res(int h, const void *addr, uint64_t npages, uint8_t *out)
{
	return odp_res_fd(devfd, h, addr, npages, out);
}

static struct sodp_odp_test_counters odp_counters_fd(int fd, int h)
{
	struct sodp_odp_test_counters c = { .handle = h };

	if (xioctl(fd, SODP_ODP_TEST_COUNTERS, &c))
		die("counters of region %d", h);
	return c;
}

static struct sodp_odp_test_counters odp_counters(int h)
{
	return odp_counters_fd(devfd, h);
}

static int odp_copy(int dst, const void *daddr, int src, const void *saddr,
		    uint64_t len)
{
	struct sodp_odp_test_copy c = {
		.dst = dst, .src = src, .dst_addr = (uintptr_t)daddr,
		.src_addr = (uintptr_t)saddr, .len = len,
	};

	return xioctl(devfd, SODP_ODP_TEST_COPY, &c);
}

static struct sodp_odp_test_inject odp_inject(uint32_t fail_nth, uint32_t busy,
					      uint32_t timeout_ms)
{
	struct sodp_odp_test_inject i = {
		.fail_nth = fail_nth, .busy = busy, .timeout_ms = timeout_ms,
	};

	if (xioctl(devfd, SODP_ODP_TEST_INJECT, &i))
		die("inject");
	return i;
}

/* ---- memory helpers ------------------------------------------------------- */

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu", len);
	return p;
}

/* @len bytes aligned to @align (a power of two), the rest unmapped */
static void *map_aligned(size_t len, size_t align)
{
	uint8_t *p = map_anon(len + align);
	uintptr_t a = ((uintptr_t)p + align - 1) & ~(align - 1);

	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((void *)(a + len), (uintptr_t)p + align - a);
	return (void *)a;
}

/* byte i of a pattern seeded by @seed */
static uint8_t pat(uint32_t seed, size_t i)
{
	uint32_t x = seed * 2654435761u + (uint32_t)i * 40503u + (uint32_t)(i >> 12) * 97u;

	return (uint8_t)(x >> 13) | 1;	/* never 0: tells apart a zero page */
}

static void fill(void *p, size_t len, uint32_t seed)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = pat(seed, i);
}

/* first mismatching offset, or -1 */
static long diff(const void *a, const void *b, size_t len)
{
	const uint8_t *x = a, *y = b;
	size_t i;

	for (i = 0; i < len; i++)
		if (x[i] != y[i])
			return (long)i;
	return -1;
}

static long check_pat(const void *p, size_t len, uint32_t seed)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != pat(seed, i))
			return (long)i;
	return -1;
}

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* how many of @n residency bytes have all of @bits set */
static size_t count_bits(const uint8_t *res, size_t n, uint8_t bits)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if ((res[i] & bits) == bits)
			c++;
	return c;
}

static size_t count_any(const uint8_t *res, size_t n, uint8_t bits)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (res[i] & bits)
			c++;
	return c;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		die("malloc %zu", n);
	return p;
}

/* device read of [addr, +len) compared with the CPU's view */
static void expect_same(int h, const void *addr, size_t len, const char *what)
{
	uint8_t *buf = xmalloc(len);
	int ret = odp_read(h, addr, len, buf);
	long d;

	if (ret) {
		not_ok(what, "device read failed: %s", strerror(-ret));
	} else {
		d = diff(buf, addr, len);
		expect(d < 0, what, "byte %ld: device %#x, CPU %#x", d,
		       d < 0 ? 0 : buf[d], d < 0 ? 0 : ((uint8_t *)addr)[d]);
	}
	free(buf);
}

/* ---- scenarios ---------------------------------------------------------- */

static int sc_basic(int argc, char **argv)
{
	const size_t n = 16, len = n * PG;
	struct sodp_odp_test_counters c;
	uint8_t res[16], *buf, *mem, *fresh;
	int h, h2, ret;
	long d;

	dev_open();
	buf = xmalloc(len);

	/* Memory the process touched: the snapshot at creation maps it. */
	mem = map_anon(len);
	fill(mem, len, 1);
	h = must_create(mem, len, RW);
	ret = odp_res(h, mem, n, res);
	expect(!ret && count_bits(res, n, PRESENT | WRITABLE) == n,
	       "creation snapshot: every touched page present and writable",
	       "ret %d, %zu of %zu", ret, count_bits(res, n, PRESENT | WRITABLE), n);
	c = odp_counters(h);
	expect(c.page_snapshot == n && c.page_faults == 0 && c.pages_present == n,
	       "counters after creation: page_snapshot 16, page_faults 0, pages_present 16",
	       "snapshot %llu faults %llu present %llu", c.page_snapshot,
	       c.page_faults, c.pages_present);
	expect_same(h, mem, len, "device read of touched memory matches the CPU");
	c = odp_counters(h);
	expect(c.page_faults == 0, "reading snapshotted pages faults nothing",
	       "page_faults %llu", c.page_faults);

	/* A device write, unaligned, across pages. */
	fill(buf, len, 2);
	ret = odp_write(h, mem + 100, 3 * PG + 17, buf);
	d = diff(mem + 100, buf, 3 * PG + 17);
	expect(!ret && d < 0, "device write (unaligned, 4 pages) seen by the CPU",
	       "ret %d, first difference at %ld", ret, d);
	expect(mem[99] == pat(1, 99) && mem[100 + 3 * PG + 17] == pat(1, 100 + 3 * PG + 17),
	       "device write touched nothing outside its range", "neighbours changed");
	odp_res(h, mem, n, res);
	expect(count_bits(res, n, DIRTY) == 4 && (res[0] & DIRTY) && (res[3] & DIRTY) &&
	       !(res[4] & DIRTY),
	       "entries of the written pages are device-dirty, others not",
	       "dirty pages %zu", count_bits(res, n, DIRTY));

	/* Untouched memory: the device faults it. */
	fresh = map_anon(len);
	h2 = must_create(fresh, len, RW);
	odp_res(h2, fresh, n, res);
	expect(count_any(res, n, PRESENT) == 0, "untouched memory: nothing present at creation",
	       "%zu present", count_any(res, n, PRESENT));
	memset(buf, 0xaa, len);
	ret = odp_rw_fd(devfd, h2, fresh, len, buf, false, SODP_ODP_TEST_RW_NOFAULT);
	expect_err(ret, EAGAIN, "NOFAULT read of untouched memory fails with EAGAIN");
	ret = odp_read(h2, fresh, len, buf);
	expect(!ret && all_zero(buf, len), "device read faults untouched memory in: zeros",
	       "ret %d", ret);
	c = odp_counters(h2);
	expect(c.page_faults == 1 && c.page_faults_handled == n,
	       "one fault request handled 16 pages",
	       "page_faults %llu handled %llu", c.page_faults, c.page_faults_handled);
	odp_res(h2, fresh, n, res);
	expect(count_bits(res, n, PRESENT) == n && count_any(res, n, WRITABLE) == 0,
	       "read fault of anonymous memory maps it read-only (the zero page)",
	       "present %zu writable %zu", count_bits(res, n, PRESENT),
	       count_any(res, n, WRITABLE));
	fill(buf, len, 3);
	ret = odp_write(h2, fresh, len, buf);
	d = diff(fresh, buf, len);
	expect(!ret && d < 0, "device write faults for write (COW off the zero page), CPU sees it",
	       "ret %d diff at %ld", ret, d);
	c = odp_counters(h2);
	expect(c.page_invalidations >= 1 && c.page_faults == 2,
	       "the write fault invalidated the read-only entries and counted one request",
	       "invalidations %llu faults %llu", c.page_invalidations, c.page_faults);
	ret = odp_fault(h2, fresh, len, SODP_ODP_TEST_FAULT_WRITE);
	c = odp_counters(h2);
	expect(!ret && c.page_faults == 2, "faulting valid writable entries again is free",
	       "ret %d page_faults %llu", ret, c.page_faults);

	/* Arguments. */
	expect_err(odp_read(h, mem + len - 10, 20, buf), ERANGE,
		   "read crossing the region's end: ERANGE");
	expect_err(odp_read(h, mem - 1, 2, buf), ERANGE,
		   "read starting before the region: ERANGE");
	expect_err(odp_read(h, (void *)(uintptr_t)-8, 16, buf), EOVERFLOW,
		   "addr + len wraps: EOVERFLOW");
	expect_err(odp_create(mem, 0, RW), EINVAL, "zero-length region: EINVAL");
	expect_err(odp_create((void *)(uintptr_t)-PG, 2 * PG, RW), EOVERFLOW,
		   "region wrapping around: EOVERFLOW");
	expect_err(odp_create((void *)(1UL << 60), PG, RW), ERANGE,
		   "region beyond the user address space: ERANGE");
	expect_err(odp_create(mem, len, 0x80), EINVAL, "unknown access bit: EINVAL");
	expect_err(odp_create((void *)0x10000, 1UL << 46, RW), ENOMEM,
		   "a 64 TiB region (512 GiB of entries): ENOMEM, quietly");
	{
		struct sodp_odp_test_pin pin = { .addr = 0x10000, .len = 1UL << 44 };

		expect_err(xioctl(devfd, SODP_ODP_TEST_PIN, &pin), ENOMEM,
			   "pinning 16 TiB: ENOMEM, quietly");
	}
	expect_err(odp_read(12345, mem, 1, buf), ENOENT, "unknown handle: ENOENT");
	expect_err(odp_fault(h, mem, PG, 0x80), EINVAL, "unknown fault flag: EINVAL");
	expect_err(odp_prefetch(h, mem, PG, 7, 0), EINVAL, "unknown prefetch mode: EINVAL");
	expect(odp_read(h, mem, 0, buf) == 0, "zero-length read inside the region: 0", "failed");

	/* A read-only region refuses device writes at once. */
	{
		int hr = must_create(mem, len, RD);

		expect_err(odp_write(hr, mem, 1, buf), EPERM,
			   "device write to a region without write access: EPERM");
		expect_err(odp_fault(hr, mem, PG, SODP_ODP_TEST_FAULT_WRITE), EPERM,
			   "write fault on a read-only region: EPERM");
		odp_res(hr, mem, n, res);
		expect(count_any(res, n, WRITABLE) == 0,
		       "a read-only region never has writable entries",
		       "%zu writable", count_any(res, n, WRITABLE));
		expect_same(hr, mem, len, "a read-only region reads fine");
		expect(odp_destroy(hr) == 0, "destroy read-only region", "failed");
	}

	/* Nothing mapped, or not accessible. */
	{
		uint8_t *hole = map_anon(4 * PG);
		int hh;

		munmap(hole + PG, PG);
		mprotect(hole + 3 * PG, PG, PROT_NONE);
		hh = must_create(hole, 4 * PG, RW);
		expect_err(odp_read(hh, hole + PG, 10, buf), EFAULT,
			   "device read of an unmapped page: EFAULT");
		expect_err(odp_read(hh, hole + 3 * PG, 10, buf), EFAULT,
			   "device read of a PROT_NONE page: EFAULT");
		expect(odp_read(hh, hole, 10, buf) == 0 && all_zero(buf, 10),
		       "the mapped page next to them reads fine", "failed");
		odp_destroy(hh);
		munmap(hole, 4 * PG);
	}

	/* Copy between regions (the engine's one-copy primitive). */
	{
		uint8_t *dst = map_anon(len);
		int hd = must_create(dst, len, RW);

		ret = odp_copy(hd, dst + 5, h, mem + 1000, len - 2000);
		memcpy(buf, mem + 1000, len - 2000);
		d = diff(dst + 5, buf, len - 2000);
		expect(!ret && d < 0 && dst[4] == 0 && dst[5 + len - 2000] == 0,
		       "copy region to region (unaligned, faulting the destination)",
		       "ret %d diff %ld", ret, d);
		ret = odp_copy(hd, dst, hd, dst + 8 * PG, 4 * PG);
		d = diff(dst, dst + 8 * PG, 4 * PG);
		expect(!ret && d < 0, "copy within one region", "ret %d diff %ld", ret, d);
		expect_err(odp_copy(h2, fresh, hd, dst, len + 1), ERANGE,
			   "copy longer than the regions: ERANGE");
		{
			int hr = must_create(mem, len, RD);

			expect_err(odp_copy(hr, mem, hd, dst, 10), EPERM,
				   "copy into a read-only region: EPERM");
			odp_destroy(hr);
		}
		odp_destroy(hd);
		munmap(dst, len);
	}

	/* Destroy. */
	expect(odp_destroy(h2) == 0, "destroy", "failed");
	expect_err(odp_read(h2, fresh, 1, buf), ENOENT, "a destroyed handle: ENOENT");
	expect_err(odp_destroy(h2), ENOENT, "destroy twice: ENOENT");
	/* h stays: closing the file destroys it */
	free(buf);
	return 0;
}


/* munmap of part of a region, then a new mapping at the hole */
static int sc_munmap(int argc, char **argv)
{
	const size_t n = 8, len = n * PG;
	struct sodp_odp_test_counters c0, c;
	uint8_t res[8], *mem, *p;
	int h;

	dev_open();
	mem = map_anon(len);
	fill(mem, len, 10);
	h = must_create(mem, len, RW);
	expect_same(h, mem, len, "munmap: device reads the region before");
	c0 = odp_counters(h);
	munmap(mem + 2 * PG, 2 * PG);
	c = odp_counters(h);
	expect(c.page_invalidations > c0.page_invalidations &&
	       c.page_invalidations_handled - c0.page_invalidations_handled == 2,
	       "munmap of 2 pages invalidates exactly their 2 entries",
	       "invalidations %llu->%llu handled %llu->%llu",
	       c0.page_invalidations, c.page_invalidations,
	       c0.page_invalidations_handled, c.page_invalidations_handled);
	odp_res(h, mem, n, res);
	expect(!(res[2] & PRESENT) && !(res[3] & PRESENT) &&
	       count_bits(res, n, PRESENT) == 6,
	       "the unmapped pages' entries are gone, the others stay",
	       "%zu present", count_bits(res, n, PRESENT));
	expect_err(odp_read(h, mem + PG, 2 * PG, xmalloc(2 * PG)), EFAULT,
		   "device read over the hole: EFAULT");
	expect_same(h, mem, 2 * PG, "the pages before the hole read fine");
	expect_same(h, mem + 4 * PG, 4 * PG, "the pages after the hole read fine");

	p = mmap(mem + 2 * PG, 2 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		die("mmap at the hole");
	fill(p, 2 * PG, 11);
	expect_same(h, mem + 2 * PG, 2 * PG,
		    "a new mapping at the hole: the device sees its pages, not stale ones");

	p = mmap(mem, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		die("mmap over the region");
	fill(p, len, 12);
	expect_same(h, mem, len, "MAP_FIXED over the whole region: the device sees the new pages");

	munmap(mem, len);
	c = odp_counters(h);
	odp_res(h, mem, n, res);
	expect(count_any(res, n, PRESENT) == 0 && c.pages_present == 0,
	       "munmap of everything: no entry left", "%zu present, pages_present %llu",
	       count_any(res, n, PRESENT), c.pages_present);
	expect_err(odp_read(h, mem, 1, res), EFAULT, "device read after munmap: EFAULT");
	expect_err(odp_write(h, mem, 1, res), EFAULT, "device write after munmap: EFAULT");
	return 0;
}

static int sc_dontneed(int argc, char **argv)
{
	const size_t n = 16, len = n * PG;
	struct sodp_odp_test_counters c0, c;
	uint8_t res[16], *mem, *buf = xmalloc(len);
	int h, ret;
	long d;

	dev_open();
	mem = map_anon(len);
	fill(mem, len, 20);
	h = must_create(mem, len, RW);
	expect_same(h, mem, len, "dontneed: device reads the region before");
	c0 = odp_counters(h);
	madvise(mem, len, MADV_DONTNEED);
	c = odp_counters(h);
	odp_res(h, mem, n, res);
	expect(c.page_invalidations_handled - c0.page_invalidations_handled == n &&
	       count_any(res, n, PRESENT) == 0 && c.pages_present == 0,
	       "MADV_DONTNEED invalidates all 16 entries",
	       "handled %llu, %zu present", c.page_invalidations_handled -
	       c0.page_invalidations_handled, count_any(res, n, PRESENT));
	memset(buf, 0x55, len);
	ret = odp_read(h, mem, len, buf);
	c = odp_counters(h);
	expect(!ret && all_zero(buf, len) && c.page_faults == c0.page_faults + 1,
	       "device read after DONTNEED refaults: zeros, one fault request",
	       "ret %d zero %d faults %llu", ret, all_zero(buf, len), c.page_faults);
	fill(mem, len, 21);
	expect_same(h, mem, len, "the CPU's writes after DONTNEED are seen by the device");
	fill(buf, len, 22);
	ret = odp_write(h, mem + 3, len - 6, buf);
	d = diff(mem + 3, buf, len - 6);
	expect(!ret && d < 0, "device write after DONTNEED seen by the CPU", "ret %d diff %ld", ret, d);
	madvise(mem, len, MADV_DONTNEED);
	expect(all_zero(mem, len), "DONTNEED again: the CPU reads zeros", "not zero");
	expect_same(h, mem, len, "DONTNEED again: the device reads zeros too");
	free(buf);
	return 0;
}

static int sc_mprotect(int argc, char **argv)
{
	const size_t n = 8, len = n * PG;
	uint8_t res[8], *mem, *buf = xmalloc(len);
	double t;
	int h, ret;
	long d;

	dev_open();
	mem = map_anon(len);
	fill(mem, len, 30);
	h = must_create(mem, len, RW);
	odp_res(h, mem, n, res);
	expect(count_bits(res, n, WRITABLE) == n, "mprotect: writable entries before", "%zu",
	       count_bits(res, n, WRITABLE));
	if (mprotect(mem, len, PROT_READ))
		die("mprotect");
	odp_res(h, mem, n, res);
	expect(count_any(res, n, WRITABLE) == 0,
	       "mprotect(PROT_READ) leaves no writable entry", "%zu writable",
	       count_any(res, n, WRITABLE));
	expect_same(h, mem, len, "device read of read-only memory works");
	fill(buf, len, 31);
	t = now();
	ret = odp_write(h, mem + 10, 100, buf);
	t = now() - t;
	expect_err(ret, EPERM, "device write to read-only memory: EPERM");
	expect(t < 0.5, "... at once, without retrying (< 0.5 s)", "took %.3f s", t);
	expect(check_pat(mem, len, 30) < 0, "... and the memory is unchanged", "changed");
	expect_err(odp_fault(h, mem, len, SODP_ODP_TEST_FAULT_WRITE), EPERM,
		   "write fault of read-only memory: EPERM");
	expect_err(odp_prefetch(h, mem, len, SODP_ODP_TEST_PREFETCH_WRITE, 0), EPERM,
		   "write prefetch of read-only memory: EPERM");
	if (mprotect(mem, len, PROT_READ | PROT_WRITE))
		die("mprotect back");
	ret = odp_write(h, mem + 10, 100, buf);
	d = diff(mem + 10, buf, 100);
	expect(!ret && d < 0, "writable again: device write lands", "ret %d diff %ld", ret, d);
	free(buf);
	return 0;
}

static int sc_mremap(int argc, char **argv)
{
	const size_t n = 8, len = n * PG;
	struct sodp_odp_test_counters c0, c;
	uint8_t res[8], *mem, *to, *p, *buf = xmalloc(len);
	int h, h2, ret;
	long d;

	dev_open();
	mem = map_anon(len);
	to = map_anon(len);
	fill(mem, len, 40);
	h = must_create(mem, len, RW);
	expect_same(h, mem, len, "mremap: device reads the region before");
	c0 = odp_counters(h);
	p = mremap(mem, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (p != to)
		die("mremap");
	c = odp_counters(h);
	odp_res(h, mem, n, res);
	expect(c.page_invalidations > c0.page_invalidations &&
	       count_any(res, n, PRESENT) == 0,
	       "mremap away invalidates the old range", "%zu present",
	       count_any(res, n, PRESENT));
	expect_err(odp_read(h, mem, len, buf), EFAULT,
		   "device read at the old address: EFAULT");
	h2 = must_create(to, len, RW);
	expect(check_pat(to, len, 40) < 0, "the CPU sees the data at the new address", "mismatch");
	expect_same(h2, to, len, "a region at the new address sees the moved pages");
	fill(buf, len, 41);
	ret = odp_write(h2, to, len, buf);
	d = diff(to, buf, len);
	expect(!ret && d < 0, "device write at the new address seen by the CPU", "ret %d diff %ld",
	       ret, d);
	p = mremap(to, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, mem);
	if (p != mem)
		die("mremap back");
	expect_same(h, mem, len, "moved back: the old region sees the pages again");
	expect(check_pat(mem, len, 41) < 0, "... with the device's data", "mismatch");
	odp_res(h2, to, n, res);
	expect(count_any(res, n, PRESENT) == 0, "... and the other region lost them",
	       "%zu present", count_any(res, n, PRESENT));
	free(buf);
	return 0;
}

static int wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* fork: copy-on-write must never let the device see another mm's page */
static int sc_fork(int argc, char **argv)
{
	const size_t len = 4 * PG;
	int p2c[2], c2p[2], h, ret, st;
	uint8_t *mem, *buf = xmalloc(len);
	char x = 0;
	pid_t pid;
	long d;

	dev_open();
	mem = map_anon(len);
	fill(mem, len, 50);
	h = must_create(mem, len, RW);
	expect_same(h, mem, len, "fork: device reads the parent before");

	/* 1. the child writes, then the parent writes */
	if (pipe(p2c) || pipe(c2p))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		fill(mem, len, 51);
		if (write(c2p[1], "w", 1) != 1 || read(p2c[0], &x, 1) != 1)
			_exit(3);
		_exit(check_pat(mem, len, 51) < 0 ? 0 : 1);
	}
	if (read(c2p[0], &x, 1) != 1)
		die("pipe read");
	ret = odp_read(h, mem, len, buf);
	expect(!ret && check_pat(buf, len, 50) < 0,
	       "after the child's write the device still sees the parent's data",
	       "ret %d", ret);
	fill(mem, len, 52);
	ret = odp_read(h, mem, len, buf);
	expect(!ret && check_pat(buf, len, 52) < 0,
	       "after the parent's write (COW) the device sees the parent's new page",
	       "ret %d first bad %ld", ret, check_pat(buf, len, 52));
	fill(buf, len, 53);
	ret = odp_write(h, mem, len, buf);
	expect(!ret && check_pat(mem, len, 53) < 0,
	       "a device write lands in the parent's page", "ret %d", ret);
	if (write(p2c[1], "g", 1) != 1)
		die("pipe write");
	st = wait_child(pid);
	expect(st == 0, "the child's page kept the child's data", "child status %d", st);

	/* 2. right after fork, the device writes first: COW broken for the parent */
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		if (read(p2c[0], &x, 1) != 1)
			_exit(3);
		_exit(check_pat(mem, len, 53) < 0 ? 0 : 1);
	}
	fill(buf, len, 54);
	ret = odp_write(h, mem + 1, len - 2, buf);
	d = diff(mem + 1, buf, len - 2);
	expect(!ret && d < 0, "device write right after fork lands in the parent's memory",
	       "ret %d diff %ld", ret, d);
	if (write(p2c[1], "g", 1) != 1)
		die("pipe write");
	st = wait_child(pid);
	expect(st == 0, "... and not in the child's", "child status %d", st);
	expect_same(h, mem, len, "the device and the parent agree after the children exited");
	free(buf);
	return 0;
}

/* AnonHugePages (kB) of the mapping holding @addr, from /proc/self/smaps */
static long thp_kb(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;

		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)addr >= a && (uintptr_t)addr < b;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static int sc_thp(int argc, char **argv)
{
	const size_t len = 2 * HUGE_SZ, n = len / PG;
	struct sodp_odp_test_counters c0, c;
	uint8_t *mem, *fresh, *res = xmalloc(n), *buf = xmalloc(len);
	size_t hole = HUGE_SZ + 100 * PG;
	int h, h2, ret;
	long d;

	dev_open();
	mem = map_aligned(len, HUGE_SZ);
	if (madvise(mem, len, MADV_HUGEPAGE))
		die("MADV_HUGEPAGE");
	fill(mem, len, 60);
	if (thp_kb(mem) < 4096)
		die("no THP: AnonHugePages %ld kB", thp_kb(mem));
	h = must_create(mem, len, RW);
	odp_res(h, mem, n, res);
	expect(count_bits(res, n, PRESENT | WRITABLE | HUGE) == n,
	       "THP: both 2 MiB blocks are huge entries after the snapshot",
	       "%zu of %zu pages huge", count_bits(res, n, PRESENT | WRITABLE | HUGE), n);
	expect_same(h, mem, len, "THP: device read matches the CPU");
	fill(buf, len, 61);
	ret = odp_write(h, mem + HUGE_SZ - 5000, 10000, buf);
	d = diff(mem + HUGE_SZ - 5000, buf, 10000);
	expect(!ret && d < 0, "THP: device write across the 2 MiB boundary seen by the CPU",
	       "ret %d diff %ld", ret, d);

	c0 = odp_counters(h);
	munmap(mem + hole, PG);
	c = odp_counters(h);
	odp_res(h, mem, n, res);
	expect(c.page_invalidations > c0.page_invalidations &&
	       count_any(res + n / 2, n / 2, PRESENT) == 0,
	       "partial munmap splits the THP: its whole 2 MiB entry goes",
	       "%zu of the block still present", count_any(res + n / 2, n / 2, PRESENT));
	expect(count_bits(res, n / 2, PRESENT | HUGE) == n / 2,
	       "the other 2 MiB block stays one huge entry", "%zu",
	       count_bits(res, n / 2, PRESENT | HUGE));
	expect_same(h, mem + HUGE_SZ, hole - HUGE_SZ, "split block: device read before the hole");
	expect_same(h, mem + hole + PG, len - hole - PG, "split block: device read after the hole");
	odp_res(h, mem, n, res);
	expect(count_bits(res + n / 2, n / 2, PRESENT) == n / 2 - 1 &&
	       count_any(res + n / 2, n / 2, HUGE) == 0,
	       "the split block came back as 511 base-page entries, none huge",
	       "%zu present, %zu huge", count_bits(res + n / 2, n / 2, PRESENT),
	       count_any(res + n / 2, n / 2, HUGE));
	expect_err(odp_read(h, mem + hole, 1, buf), EFAULT, "the unmapped page: EFAULT");

	/* A fault on fresh THP-able memory installs the whole block. */
	fresh = map_aligned(HUGE_SZ, HUGE_SZ);
	if (madvise(fresh, HUGE_SZ, MADV_HUGEPAGE))
		die("MADV_HUGEPAGE");
	h2 = must_create(fresh, HUGE_SZ, RW);
	ret = odp_write(h2, fresh + 12345, 8, "odp-thp!");
	c = odp_counters(h2);
	odp_res(h2, fresh, n / 2, res);
	expect(!ret && !memcmp(fresh + 12345, "odp-thp!", 8),
	       "device write of 8 bytes into fresh THP memory", "ret %d", ret);
	expect(thp_kb(fresh) == 2048 && count_bits(res, n / 2, PRESENT | WRITABLE | HUGE) == n / 2 &&
	       c.page_faults == 1 && c.page_faults_handled == n / 2,
	       "... faulted a THP and installed its whole 2 MiB entry from one fault",
	       "AnonHugePages %ld kB, %zu huge, faults %llu handled %llu", thp_kb(fresh),
	       count_bits(res, n / 2, PRESENT | WRITABLE | HUGE), c.page_faults,
	       c.page_faults_handled);
	free(res);
	free(buf);
	return 0;
}

static int sc_hugetlb(int argc, char **argv)
{
	const size_t len = 2 * HUGE_SZ, n = len / PG;
	struct sodp_odp_test_counters c;
	uint8_t *mem, *fresh, *res = xmalloc(n), *buf = xmalloc(len);
	int h, h2, ret;
	long d;

	dev_open();
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap MAP_HUGETLB (reserve pages in /proc/sys/vm/nr_hugepages)");
	fill(mem, len, 70);
	h = must_create(mem, len, RW);
	odp_res(h, mem, n, res);
	expect(count_bits(res, n, PRESENT | WRITABLE | HUGE) == n,
	       "hugetlbfs: both 2 MiB pages are huge entries after the snapshot",
	       "%zu of %zu", count_bits(res, n, PRESENT | WRITABLE | HUGE), n);
	expect_same(h, mem, len, "hugetlbfs: device read matches the CPU");
	fill(buf, len, 71);
	ret = odp_write(h, mem + 7, len - 14, buf);
	d = diff(mem + 7, buf, len - 14);
	expect(!ret && d < 0, "hugetlbfs: device write across both pages seen by the CPU",
	       "ret %d diff %ld", ret, d);
	munmap(mem, len);
	odp_res(h, mem, n, res);
	expect(count_any(res, n, PRESENT) == 0, "hugetlbfs munmap clears the entries",
	       "%zu present", count_any(res, n, PRESENT));
	expect_err(odp_read(h, mem, 1, buf), EFAULT, "hugetlbfs after munmap: EFAULT");

	fresh = mmap(NULL, HUGE_SZ, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (fresh == MAP_FAILED)
		die("mmap MAP_HUGETLB");
	h2 = must_create(fresh, HUGE_SZ, RW);
	memset(buf, 0x77, PG);
	ret = odp_read(h2, fresh + PG, PG, buf);
	c = odp_counters(h2);
	odp_res(h2, fresh, n / 2, res);
	expect(!ret && all_zero(buf, PG) && count_bits(res, n / 2, PRESENT | HUGE) == n / 2 &&
	       c.page_faults_handled == n / 2,
	       "hugetlbfs: a device read of one page faults in the whole huge page as one entry",
	       "ret %d, %zu huge, handled %llu", ret, count_bits(res, n / 2, PRESENT | HUGE),
	       c.page_faults_handled);
	ret = odp_write(h2, fresh + HUGE_SZ - 4, 4, "tail");
	expect(!ret && !memcmp(fresh + HUGE_SZ - 4, "tail", 4),
	       "hugetlbfs: device write to a read-faulted huge page", "ret %d", ret);
	free(res);
	free(buf);
	return 0;
}

/* pages of [p, +len) in the page cache (mincore of a file mapping) */
static size_t resident(int fd, size_t len)
{
	unsigned char vec[64];
	size_t i, r = 0;
	void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED || len / PG > sizeof(vec) || mincore(m, len, vec))
		die("mincore");
	for (i = 0; i < len / PG; i++)
		r += vec[i] & 1;
	munmap(m, len);
	return r;
}

/* sodp_odp_check file PATH [disk]: a MAP_SHARED file written by the device */
static int sc_file(int argc, char **argv)
{
	const size_t n = 8, len = n * PG;
	struct sodp_odp_test_counters c0, c;
	uint8_t *mem, *ro, *want = xmalloc(len), *buf = xmalloc(len);
	uint8_t res[8];
	bool disk;
	int fd, fd2, h, h2, ret;
	long d;

	if (argc < 2)
		die("usage: file PATH [disk]");
	disk = argc > 2 && !strcmp(argv[2], "disk");
	dev_open();
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("open %s", argv[1]);
	fill(want, len, 80);
	if (pwrite(fd, want, len, 0) != (ssize_t)len || fsync(fd))
		die("pwrite");
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		die("mmap MAP_SHARED");
	h = must_create(mem, len, RW);
	expect_same(h, mem, len, "MAP_SHARED file: device read matches the file");

	fill(buf, len, 81);
	ret = odp_write(h, mem, len, buf);
	memcpy(want, buf, len);
	d = diff(mem, want, len);
	expect(!ret && d < 0, "device write to the file mapping seen through the mapping",
	       "ret %d diff %ld", ret, d);
	odp_res(h, mem, n, res);
	expect(count_bits(res, n, PRESENT | WRITABLE | DIRTY) == n,
	       "the written pages are device-dirty", "%zu", count_bits(res, n, DIRTY));

	c0 = odp_counters(h);
	if (msync(mem, len, MS_SYNC))
		die("msync");
	c = odp_counters(h);
	if (disk) {
		expect(c.page_invalidations > c0.page_invalidations &&
		       count_any((odp_res(h, mem, n, res), res), n, WRITABLE) == 0,
		       "writeback (msync) write-protects the pages: the device entries go",
		       "invalidations %llu->%llu", c0.page_invalidations, c.page_invalidations);
	}
	fill(buf, 2 * PG, 82);
	ret = odp_write(h, mem + 3 * PG + 50, 2 * PG, buf);
	memcpy(want + 3 * PG + 50, buf, 2 * PG);
	expect(!ret, "device write after writeback (write fault again: page_mkwrite)", "ret %d", ret);
	munmap(mem, len);
	c = odp_counters(h);
	expect(c.pages_present == 0, "munmap of the file mapping clears the entries",
	       "pages_present %llu", c.pages_present);
	if (fsync(fd))
		die("fsync");
	posix_fadvise(fd, 0, len, POSIX_FADV_DONTNEED);
	if (disk)
		expect(resident(fd, len) == 0,
		       "after fsync the page cache drops the file: read(2) comes from the disk",
		       "%zu pages still cached", resident(fd, len));
	memset(buf, 0, len);
	ret = pread(fd, buf, len, 0) == (ssize_t)len ? 0 : -1;
	d = diff(buf, want, len);
	expect(!ret && d < 0, "read(2) after munmap returns what the device wrote",
	       "ret %d first difference at %ld", ret, d);

	/* A read-only shared mapping: the region allows writes, the VMA does not. */
	fd2 = open(argv[1], O_RDONLY);
	ro = mmap(NULL, len, PROT_READ, MAP_SHARED, fd2, 0);
	if (fd2 < 0 || ro == MAP_FAILED)
		die("read-only mapping");
	h2 = must_create(ro, len, RW);
	expect_same(h2, ro, len, "read-only file mapping: device read matches");
	expect_err(odp_write(h2, ro, 10, buf), EPERM,
		   "read-only file mapping: device write EPERM");
	close(fd2);
	close(fd);
	free(want);
	free(buf);
	return 0;
}

/* a process exits with regions registered */
static int sc_exit(int argc, char **argv)
{
	const size_t len = 16 * PG;
	struct sodp_odp_test_counters c;
	int pfd[2], h, st, ret;
	uint8_t res[16], buf[64];
	uintptr_t msg[2];
	pid_t pid;

	/* 1. its own file: the release of the mm, then of the file */
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		uint8_t *mem = map_anon(len), *big = map_anon(32 << 20);
		int hi;

		dev_open();
		fill(mem, len, 90);
		h = must_create(mem, len, RW);
		if (odp_read(h, mem, len, big))
			_exit(1);
		hi = odp_implicit(RW);
		if (hi <= 0 || odp_read(hi, mem, len, big))
			_exit(1);
		if (odp_prefetch(hi, big, 32 << 20, SODP_ODP_TEST_PREFETCH_WRITE,
				 SODP_ODP_TEST_PREFETCH_ASYNC))
			_exit(1);
		_exit(0);	/* nothing destroyed */
	}
	st = wait_child(pid);
	expect(st == 0, "a child process exits with an explicit, an implicit region and a queued prefetch",
	       "status %d", st);

	/* 2. the file outlives the mm: the region stays, its mm is gone */
	dev_open();
	if (pipe(pfd))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		uint8_t *mem = map_anon(len);

		fill(mem, len, 91);
		h = odp_create(mem, len, RW);
		msg[0] = h;
		msg[1] = (uintptr_t)mem;
		if (h <= 0 || write(pfd[1], msg, sizeof(msg)) != sizeof(msg))
			_exit(1);
		_exit(0);
	}
	if (read(pfd[0], msg, sizeof(msg)) != sizeof(msg))
		die("pipe");
	st = wait_child(pid);
	h = (int)msg[0];
	expect(st == 0 && h > 0, "a child registers its memory through a shared file and exits",
	       "status %d handle %d", st, h);
	c = odp_counters(h);
	ret = odp_res(h, (void *)msg[1], 16, res);
	expect(!ret && c.page_invalidations >= 1 && c.pages_present == 0 &&
	       count_any(res, 16, PRESENT) == 0,
	       "the mm's release cleared the region's entries",
	       "ret %d invalidations %llu present %llu", ret, c.page_invalidations,
	       c.pages_present);
	expect_err(odp_read(h, (void *)msg[1], 64, buf), EFAULT,
		   "device read after the owner exited: EFAULT (no access, no oops)");
	expect_err(odp_write(h, (void *)msg[1], 64, buf), EFAULT,
		   "device write after the owner exited: EFAULT");
	expect_err(odp_fault(h, (void *)msg[1], 64, 0), EFAULT,
		   "fault after the owner exited: EFAULT");
	expect_err(odp_prefetch(h, (void *)msg[1], 64, SODP_ODP_TEST_PREFETCH, 0), EFAULT,
		   "prefetch after the owner exited: EFAULT");
	expect(odp_destroy(h) == 0, "destroy after the owner exited", "failed");
	return 0;
}

/* ---- concurrency ------------------------------------------------------- */

struct race {
	int h;
	uint32_t *mem;
	size_t len;
	atomic_uint gen;
	atomic_bool stop;
	atomic_ulong reads_ok, reads_efault, reads_ebusy, reads_other, stale, writes;
	int other_err;
	char stale_msg[160];
};

static void *race_reader(void *arg)
{
	struct race *r = arg;
	uint32_t *buf = xmalloc(r->len);

	while (!atomic_load(&r->stop)) {
		unsigned int g0 = atomic_load(&r->gen);
		int ret = odp_read(r->h, r->mem, r->len, buf);
		size_t i;

		if (ret == -EFAULT) {
			atomic_fetch_add(&r->reads_efault, 1);
			continue;
		}
		/* A fault that lost to invalidations for the whole timeout */
		if (ret == -EBUSY) {
			atomic_fetch_add(&r->reads_ebusy, 1);
			continue;
		}
		if (ret) {
			r->other_err = ret;
			atomic_fetch_add(&r->reads_other, 1);
			continue;
		}
		atomic_fetch_add(&r->reads_ok, 1);
		for (i = 0; i < r->len / 4; i++) {
			/* 0: a fresh page not filled yet; older than g0: stale */
			if (buf[i] && buf[i] < g0) {
				if (!atomic_fetch_add(&r->stale, 1))
					snprintf(r->stale_msg, sizeof(r->stale_msg),
						 "word %zu: generation %u after %u was published",
						 i, buf[i], g0);
				break;
			}
		}
	}
	free(buf);
	return NULL;
}

static void *race_writer(void *arg)
{
	struct race *r = arg;
	uint32_t *buf = xmalloc(PG);

	memset(buf, 0, PG);
	while (!atomic_load(&r->stop)) {
		/* Writes zeros (never stale) into a changing page. */
		if (!odp_write(r->h, r->mem + (r->len / 8), 64, buf))
			atomic_fetch_add(&r->writes, 1);
		usleep(200);	/* leave the CPU to the readers and the mutator */
	}
	free(buf);
	return NULL;
}

static void race_fill(struct race *r, unsigned int g)
{
	size_t i;

	for (i = 0; i < r->len / 4; i++)
		r->mem[i] = g;
}

/* race [SECONDS]: a thread munmaps/remaps while others drive device I/O */
static int sc_race(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3, t0;
	struct sodp_odp_test_counters c;
	pthread_t rd[2], wr;
	struct race r = { .len = 32 * PG };
	unsigned int g = 1;
	int i;

	dev_open();
	r.mem = map_anon(r.len);
	race_fill(&r, g);
	atomic_store(&r.gen, g);
	r.h = must_create(r.mem, r.len, RW);
	for (i = 0; i < 2; i++)
		pthread_create(&rd[i], NULL, race_reader, &r);
	pthread_create(&wr, NULL, race_writer, &r);

	t0 = now();
	while (now() - t0 < secs) {
		void *p;

		g++;
		switch (g % 4) {
		case 0:	/* munmap, a gap, a new mapping */
			munmap(r.mem, r.len);
			sched_yield();
			/* fall through */
		case 1:	/* MAP_FIXED over it */
			p = mmap(r.mem, r.len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			if (p == MAP_FAILED)
				die("mmap");
			break;
		case 2:	/* DONTNEED */
			madvise(r.mem, r.len, MADV_DONTNEED);
			break;
		case 3:	/* read-only for a moment */
			mprotect(r.mem, r.len, PROT_READ);
			sched_yield();
			mprotect(r.mem, r.len, PROT_READ | PROT_WRITE);
			break;
		}
		race_fill(&r, g);
		atomic_store(&r.gen, g);
		sched_yield();
	}
	atomic_store(&r.stop, true);
	for (i = 0; i < 2; i++)
		pthread_join(rd[i], NULL);
	pthread_join(wr, NULL);
	c = odp_counters(r.h);
	note("%u generations, %lu reads ok, %lu EFAULT, %lu EBUSY, %lu device writes, %llu invalidations, %llu faults, %llu retries",
	     g, atomic_load(&r.reads_ok), atomic_load(&r.reads_efault),
	     atomic_load(&r.reads_ebusy), atomic_load(&r.writes),
	     c.page_invalidations, c.page_faults, c.fault_retries);
	expect(atomic_load(&r.stale) == 0, "race: no device read returned data older than published",
	       "%lu stale reads; first: %s", atomic_load(&r.stale), r.stale_msg);
	expect(atomic_load(&r.reads_other) == 0,
	       "race: device reads only failed cleanly: EFAULT (unmapped) or EBUSY (fault timeout)",
	       "%lu failed otherwise, e.g. %s", atomic_load(&r.reads_other),
	       strerror(-r.other_err));
	expect(atomic_load(&r.reads_ok) > 10 && g > 10,
	       "race: both sides made progress", "%lu reads, %u generations",
	       atomic_load(&r.reads_ok), g);
	expect_same(r.h, r.mem, r.len, "race: afterwards the device and the CPU agree");

	/* destroy while readers are running */
	atomic_store(&r.stop, false);
	atomic_store(&r.reads_other, 0);
	for (i = 0; i < 2; i++)
		pthread_create(&rd[i], NULL, race_reader, &r);
	usleep(200000);
	expect(odp_destroy(r.h) == 0, "race: destroy while device reads run", "failed");
	usleep(100000);
	atomic_store(&r.stop, true);
	for (i = 0; i < 2; i++)
		pthread_join(rd[i], NULL);
	expect(atomic_load(&r.reads_other) > 0 && r.other_err == -ENOENT,
	       "race: reads after the destroy fail with ENOENT",
	       "%lu failed, last %d", atomic_load(&r.reads_other), r.other_err);
	return 0;
}

/* ---- implicit ------------------------------------------------------------ */

static int sc_implicit(int argc, char **argv)
{
	const size_t big_len = 64UL << 20, n_fresh = 6UL << 20;
	struct sodp_odp_test_counters c0, c;
	uint8_t stack_buf[3000], *big, *heap, *fresh, *buf = xmalloc(big_len);
	uint8_t res[64];
	unsigned long before;
	int h, he, ret, i;
	double t;
	long d;

	dev_open();
	h = odp_implicit(RW);
	expect(h > 0, "implicit region (addr 0, len SIZE_MAX) created", "ret %d", h);
	if (h <= 0)
		return 0;
	c = odp_counters(h);
	expect(c.children == 0 && c.pages_present == 0,
	       "implicit: no child and nothing mapped at creation", "children %llu",
	       c.children);

	big = map_aligned(big_len, HUGE_SZ);
	fill(big, big_len, 100);
	ret = odp_read(h, big, big_len, buf);
	d = diff(buf, big, big_len);
	c = odp_counters(h);
	expect(!ret && d < 0, "implicit: device read of 64 MiB of touched memory matches the CPU",
	       "ret %d diff %ld", ret, d);
	expect(c.children == 32, "implicit: 32 children of 2 MiB were created", "%llu",
	       c.children);
	expect(c.page_faults == 0 && c.page_snapshot >= big_len / PG,
	       "implicit: touched memory needed no fault (each new child snapshots its 2 MiB)",
	       "faults %llu snapshot %llu", c.page_faults, c.page_snapshot);

	for (i = 0; i < (int)sizeof(stack_buf); i++)
		stack_buf[i] = (uint8_t)(i * 7 + 3);
	expect_same(h, stack_buf, sizeof(stack_buf), "implicit: device read of the stack");
	heap = xmalloc(100000);
	fill(heap, 100000, 101);
	expect_same(h, heap, 100000, "implicit: device read of the heap");

	fresh = map_anon(n_fresh);
	fill(buf, n_fresh, 102);
	c0 = odp_counters(h);
	ret = odp_write(h, fresh + 1, n_fresh - 2, buf);
	d = diff(fresh + 1, buf, n_fresh - 2);
	c = odp_counters(h);
	expect(!ret && d < 0, "implicit: device write to untouched memory seen by the CPU",
	       "ret %d diff %ld", ret, d);
	expect(c.page_faults > c0.page_faults && c.children >= c0.children + 3,
	       "implicit: that write faulted and created children", "faults %llu children %llu",
	       c.page_faults, c.children);

	/* explicit <-> implicit copy */
	he = must_create(big, 4 * PG, RW);
	ret = odp_copy(he, big, h, fresh + 1, 4 * PG);
	expect(!ret && !memcmp(big, buf, 4 * PG), "copy from an implicit to an explicit region",
	       "ret %d", ret);
	ret = odp_copy(h, fresh + HUGE_SZ - 100, he, big, 4 * PG);
	expect(!ret && !memcmp(fresh + HUGE_SZ - 100, big, 4 * PG),
	       "copy from an explicit region into an implicit one, across a child boundary",
	       "ret %d", ret);
	odp_destroy(he);

	expect_err(odp_read(h, (void *)(1UL << 63), 8, buf), ERANGE,
		   "implicit: beyond the user address space: ERANGE");
	expect_err(odp_read(h, (void *)(uintptr_t)-PG, 2 * PG, buf), EOVERFLOW,
		   "implicit: addr + len wraps: EOVERFLOW");
	{
		uint8_t *hole = map_anon(HUGE_SZ * 2);

		munmap(hole, HUGE_SZ * 2);
		before = odp_counters(h).children;
		expect_err(odp_read(h, hole + PG, 8, buf), EFAULT,
			   "implicit: device read of unmapped memory: EFAULT");
		t = now();
		while (odp_counters(h).children > before && now() - t < 5)
			usleep(10000);
		expect(odp_counters(h).children <= before,
		       "implicit: the child created for nothing is reclaimed", "%llu > %lu",
		       odp_counters(h).children, before);
		ret = odp_res(h, hole, 16, res);
		expect(!ret && count_any(res, 16, PRESENT) == 0,
		       "implicit: residency of unmapped memory is empty", "ret %d", ret);
	}

	before = odp_counters(h).children;
	munmap(big, big_len);
	t = now();
	while (odp_counters(h).children > before - 32 && now() - t < 10)
		usleep(10000);
	c = odp_counters(h);
	expect(c.children <= before - 32,
	       "implicit: munmap of the 64 MiB reclaims its children", "%llu left of %lu",
	       c.children, before);
	expect_err(odp_read(h, big, 8, buf), EFAULT, "implicit: read of the unmapped 64 MiB: EFAULT");
	expect_same(h, fresh, n_fresh, "implicit: the rest still reads fine");
	free(heap);
	free(buf);
	return 0;
}

/* ---- prefetch ------------------------------------------------------------ */

static int sc_prefetch(int argc, char **argv)
{
	const size_t n = 64, len = n * PG;
	struct sodp_odp_test_counters c;
	uint8_t res[64], *mem, *big;
	int h, hi, ret, async;
	size_t i;

	dev_open();
	for (async = 0; async <= 1; async++) {
		uint32_t fl = async ? SODP_ODP_TEST_PREFETCH_ASYNC : 0;

		mem = map_anon(len);
		h = must_create(mem, len, RW);
		ret = odp_prefetch(h, mem, len, SODP_ODP_TEST_PREFETCH, fl);
		odp_wait(h);
		c = odp_counters(h);
		odp_res(h, mem, n, res);
		expect(!ret && count_bits(res, n, PRESENT) == n && count_any(res, n, WRITABLE) == 0 &&
		       c.page_prefetch == n && c.page_faults == 0,
		       async ? "PREFETCH async: every page present read-only, counted as prefetch" :
		       "PREFETCH sync: every page present read-only, counted as prefetch",
		       "ret %d present %zu writable %zu prefetch %llu faults %llu", ret,
		       count_bits(res, n, PRESENT), count_any(res, n, WRITABLE),
		       c.page_prefetch, c.page_faults);
		ret = odp_prefetch(h, mem, len, SODP_ODP_TEST_PREFETCH_WRITE, fl);
		odp_wait(h);
		c = odp_counters(h);
		odp_res(h, mem, n, res);
		expect(!ret && count_bits(res, n, PRESENT | WRITABLE) == n &&
		       c.page_prefetch == 2 * n && all_zero(mem, len),
		       async ? "PREFETCH_WRITE async: every page writable, memory unchanged" :
		       "PREFETCH_WRITE sync: every page writable, memory unchanged",
		       "ret %d writable %zu prefetch %llu", ret,
		       count_bits(res, n, PRESENT | WRITABLE), c.page_prefetch);
		expect_same(h, mem, len, "prefetched pages read without a fault");
		c = odp_counters(h);
		expect(c.page_faults == 0, "... page_faults still 0", "%llu", c.page_faults);
		odp_destroy(h);
		munmap(mem, len);

		mem = map_anon(len);
		h = must_create(mem, len, RW);
		for (i = 0; i < n; i += 2)
			mem[i * PG] = 1;
		ret = odp_prefetch(h, mem, len, SODP_ODP_TEST_PREFETCH_NO_FAULT, fl);
		odp_wait(h);
		c = odp_counters(h);
		odp_res(h, mem, n, res);
		expect(!ret && count_bits(res, n, PRESENT | WRITABLE) == n / 2 &&
		       (res[0] & PRESENT) && !(res[1] & PRESENT) && c.page_prefetch == n / 2 &&
		       c.page_faults == 0,
		       async ? "PREFETCH_NO_FAULT async: exactly the 32 touched pages, nothing faulted" :
		       "PREFETCH_NO_FAULT sync: exactly the 32 touched pages, nothing faulted",
		       "ret %d present %zu prefetch %llu", ret, count_bits(res, n, PRESENT),
		       c.page_prefetch);
		expect(odp_prefetch(h, mem, len, 9, fl) == -EINVAL,
		       async ? "async prefetch with an unknown mode: EINVAL" :
		       "sync prefetch with an unknown mode: EINVAL", "accepted");
		odp_destroy(h);
		munmap(mem, len);
	}

	/* implicit */
	hi = odp_implicit(RW);
	big = map_anon(8UL << 20);
	ret = odp_prefetch(hi, big, 8UL << 20, SODP_ODP_TEST_PREFETCH_WRITE,
			   SODP_ODP_TEST_PREFETCH_ASYNC);
	odp_wait(hi);
	c = odp_counters(hi);
	expect(!ret && c.page_prefetch == (8UL << 20) / PG && c.children >= 4,
	       "async PREFETCH_WRITE of 8 MiB through an implicit region", "ret %d prefetch %llu children %llu",
	       ret, c.page_prefetch, c.children);
	expect_same(hi, big, 8UL << 20, "... reads back without faults");
	expect(odp_counters(hi).page_faults == 0, "... page_faults 0", "%llu",
	       odp_counters(hi).page_faults);

	/* errors */
	mem = map_anon(len);
	h = must_create(mem, len, RW);
	munmap(mem, len);
	expect_err(odp_prefetch(h, mem, len, SODP_ODP_TEST_PREFETCH, 0), EFAULT,
		   "sync prefetch of unmapped memory: EFAULT");
	ret = odp_prefetch(h, mem, len, SODP_ODP_TEST_PREFETCH, SODP_ODP_TEST_PREFETCH_ASYNC);
	expect(!ret && !odp_wait(h), "async prefetch of unmapped memory: queued, runs, reports nothing",
	       "ret %d", ret);
	expect_err(odp_prefetch(h, mem, len + 1, SODP_ODP_TEST_PREFETCH, 0), ERANGE,
		   "prefetch beyond the region: ERANGE");

	/* destroy with a prefetch queued */
	big = map_anon(32UL << 20);
	h = must_create(big, 32UL << 20, RW);
	ret = odp_prefetch(h, big, 32UL << 20, SODP_ODP_TEST_PREFETCH_WRITE,
			   SODP_ODP_TEST_PREFETCH_ASYNC);
	expect(!ret && odp_destroy(h) == 0, "destroy right after queueing a 32 MiB async prefetch",
	       "ret %d", ret);
	return 0;
}

/* ---- fault injection ------------------------------------------------------ */

static int sc_inject(int argc, char **argv)
{
	const size_t n = 16, len = n * PG;
	struct sodp_odp_test_counters c;
	struct sodp_odp_test_inject inj;
	uint8_t *mem, *fresh, buf[64];
	int h, hi, ret, k, fails_seen;
	double t;

	dev_open();
	mem = map_anon(len);
	fill(mem, len, 110);

	/* every allocation of an explicit creation, in turn */
	for (k = 1, fails_seen = 0; k < 20; k++) {
		odp_inject(k, 0, 0);
		h = odp_create(mem, len, RW);
		if (h > 0)
			break;
		if (h != -ENOMEM)
			break;
		fails_seen++;
	}
	odp_inject(0, 0, 0);
	expect(h > 0 && fails_seen >= 4 && fails_seen == k - 1,
	       "explicit creation fails with ENOMEM at each of its allocations, then works",
	       "%d failures, then %d", fails_seen, h);
	note("explicit creation has %d failure points", fails_seen);
	if (h > 0) {
		expect_same(h, mem, len, "the region created after the failures works");
		odp_destroy(h);
	}

	/* every allocation of an implicit child's creation */
	hi = odp_implicit(RW);
	for (k = 1, fails_seen = 0; k < 20; k++) {
		odp_inject(k, 0, 0);
		ret = odp_read(hi, mem, 64, buf);
		if (ret != -ENOMEM)
			break;
		fails_seen++;
	}
	odp_inject(0, 0, 0);
	expect(ret == 0 && fails_seen >= 4,
	       "an implicit child's creation fails with ENOMEM at each of its allocations, then works",
	       "%d failures, then %d", fails_seen, ret);
	t = now();
	while (odp_counters(hi).children > 1 && now() - t < 5)
		usleep(10000);
	expect(odp_counters(hi).children <= 1, "no child left behind by the failures", "%llu",
	       odp_counters(hi).children);

	/* the fault path's buffer, the async prefetch's work */
	fresh = map_anon(len);
	h = must_create(fresh, len, RW);
	odp_inject(1, 0, 0);
	expect_err(odp_read(h, fresh, len, mem), ENOMEM, "a fault whose allocation fails: ENOMEM");
	expect(odp_read(h, fresh, len, mem) == 0, "... and the next one works", "failed");
	odp_inject(1, 0, 0);
	expect_err(odp_prefetch(h, fresh, len, SODP_ODP_TEST_PREFETCH, SODP_ODP_TEST_PREFETCH_ASYNC),
		   ENOMEM, "async prefetch whose work allocation fails: ENOMEM");
	odp_inject(0, 0, 0);
	odp_destroy(h);

	/* EBUSY storms */
	munmap(fresh, len);
	fresh = map_anon(len);
	h = must_create(fresh, len, RW);
	odp_inject(0, 5, 0);
	ret = odp_read(h, fresh, len, mem);
	c = odp_counters(h);
	expect(!ret && c.fault_retries == 5, "5 forced EBUSY: the fault retries 5 times and succeeds",
	       "ret %d retries %llu", ret, c.fault_retries);
	inj = odp_inject(0, 1000000000, 300);
	t = now();
	ret = odp_write(h, fresh, 64, buf);
	t = now() - t;
	c = odp_counters(h);
	inj = odp_inject(0, 0, 1000);
	expect_err(ret, EBUSY, "an endless EBUSY storm: the fault gives up with EBUSY");
	expect(t > 0.25 && t < 3, "... after the 300 ms timeout", "took %.3f s", t);
	expect(c.fault_retries > 10, "... having retried", "%llu retries", c.fault_retries);
	expect(inj.busy > 0 && inj.timeout_ms == 300, "the storm was still armed when disarmed",
	       "busy %u timeout %u", inj.busy, inj.timeout_ms);
	inj = odp_inject(0, 0, 0);
	expect(inj.busy == 0 && inj.fail_nth == 0 && inj.timeout_ms == 1000,
	       "injection disarmed, timeout back to 1000 ms", "busy %u nth %u timeout %u",
	       inj.busy, inj.fail_nth, inj.timeout_ms);
	expect(odp_write(h, fresh, 64, buf) == 0, "after the storm the fault works", "failed");
	return 0;
}

/* ---- hardening (review findings F3, F4, F6) ------------------------------ */

struct irace {
	int h;
	uint8_t *mem;
	size_t nchunks;
	atomic_bool stop;
	atomic_ulong reads_ok, reads_ebusy, reads_estale, reads_other;
	int other_err;
	_Atomic double worst;
};

static void *irace_reader(void *arg)
{
	struct irace *r = arg;
	unsigned int seed = (unsigned int)(uintptr_t)&seed;
	uint8_t buf[64];

	while (!atomic_load(&r->stop)) {
		size_t c = rand_r(&seed) % r->nchunks;
		size_t off = (rand_r(&seed) % (HUGE_SZ / PG)) * PG;
		double t = now(), w;
		int ret = odp_read(r->h, r->mem + c * HUGE_SZ + off, sizeof(buf), buf);

		t = now() - t;
		w = atomic_load(&r->worst);
		while (t > w && !atomic_compare_exchange_weak(&r->worst, &w, t))
			;
		if (!ret) {
			atomic_fetch_add(&r->reads_ok, 1);
		} else if (ret == -EBUSY) {
			atomic_fetch_add(&r->reads_ebusy, 1);
		} else if (ret == -ESTALE) {
			atomic_fetch_add(&r->reads_estale, 1);
		} else {
			r->other_err = ret;
			atomic_fetch_add(&r->reads_other, 1);
		}
	}
	return NULL;
}

/*
 * implicit_race [SECONDS]: first touches of 2 MiB chunks through an
 * implicit region (each creates a child) race with MADV_DONTNEED and
 * mprotect of the same chunks (each empties the children, which are
 * reclaimed, so the next read creates a new one). Every read is of mapped
 * memory: it must succeed (EBUSY only if a fault lost to the invalidations
 * for the whole timeout), never leak the layer's internal ESTALE.
 */
static int sc_implicit_race(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 5, t0;
	struct irace r = { .nchunks = 16 };
	struct sodp_odp_test_counters c;
	unsigned long rounds = 0;
	pthread_t rd[3];
	size_t i, k;

	dev_open();
	r.mem = map_aligned(r.nchunks * HUGE_SZ, HUGE_SZ);
	/* Base pages: a child's snapshot walks 512 of them (a wider window). */
	madvise(r.mem, r.nchunks * HUGE_SZ, MADV_NOHUGEPAGE);
	memset(r.mem, 1, r.nchunks * HUGE_SZ);
	r.h = must_create(NULL, UINT64_MAX, RD);
	for (i = 0; i < 3; i++)
		pthread_create(&rd[i], NULL, irace_reader, &r);

	t0 = now();
	while (now() - t0 < secs) {
		for (i = 0; i < r.nchunks; i++) {
			uint8_t *ch = r.mem + i * HUGE_SZ;

			madvise(ch, HUGE_SZ, MADV_DONTNEED);
			for (k = 0; k < HUGE_SZ; k += 16 * PG)
				ch[k] = 2;
			if ((rounds + i) % 3 == 0) {
				mprotect(ch, HUGE_SZ, PROT_READ);
				sched_yield();
				mprotect(ch, HUGE_SZ, PROT_READ | PROT_WRITE);
			}
		}
		rounds++;
	}
	atomic_store(&r.stop, true);
	for (i = 0; i < 3; i++)
		pthread_join(rd[i], NULL);
	c = odp_counters(r.h);
	note("%lu rounds, %lu reads ok, %lu EBUSY, %lu ESTALE, %lu other, slowest %.3f s; %llu snapshot pages, %llu invalidations",
	     rounds, atomic_load(&r.reads_ok), atomic_load(&r.reads_ebusy),
	     atomic_load(&r.reads_estale), atomic_load(&r.reads_other),
	     atomic_load(&r.worst), c.page_snapshot, c.page_invalidations);
	expect(atomic_load(&r.reads_estale) == 0,
	       "implicit race: no device read returned the layer's internal ESTALE",
	       "%lu reads failed with ESTALE", atomic_load(&r.reads_estale));
	expect(atomic_load(&r.reads_other) == 0,
	       "implicit race: device reads of mapped memory only succeed (or EBUSY)",
	       "%lu failed, e.g. %d (%s)", atomic_load(&r.reads_other), r.other_err,
	       strerror(-r.other_err));
	expect(atomic_load(&r.reads_ok) > 100 && rounds > 3,
	       "implicit race: both sides made progress", "%lu reads, %lu rounds",
	       atomic_load(&r.reads_ok), rounds);
	expect(atomic_load(&r.worst) < 5,
	       "implicit race: every read returned within 5 s", "slowest %.3f s",
	       atomic_load(&r.worst));
	expect(c.page_invalidations > rounds && c.page_snapshot > 0,
	       "implicit race: children were invalidated and created again",
	       "%llu invalidations, %llu snapshot pages", c.page_invalidations,
	       c.page_snapshot);
	expect(odp_destroy(r.h) == 0, "implicit race: destroy", "failed");
	return 0;
}

/* Runs @fn in a child process; returns its wait status, or -1 if it was
 * still running after @secs (then it is left running: *pid says which).
 */
static int run_child(int (*fn)(void *), void *arg, double secs, pid_t *pid,
		     double *took)
{
	double t0 = now();
	int st;

	*pid = fork();
	if (*pid < 0)
		die("fork");
	if (!*pid)
		_exit(fn(arg));
	while (now() - t0 < secs) {
		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			*took = now() - t0;
			return st;
		}
		usleep(10000);
	}
	*took = now() - t0;
	return -1;
}

/* SIGKILLs @pid and returns how long it took to go, or -1 after @secs. */
static double kill_and_reap(pid_t pid, double secs)
{
	double t0 = now();
	int st;

	kill(pid, SIGKILL);
	while (now() - t0 < secs) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return now() - t0;
		usleep(10000);
	}
	return -1;
}

#define HUGE_BASE	((uint8_t *)(1UL << 40))	/* 1 TiB, nothing mapped */

static int child_nofault(void *arg)
{
	struct sodp_odp_test_counters c;
	int h, ret;

	(void)arg;
	dev_open();
	h = odp_implicit(RW);
	if (h <= 0)
		return 10;
	ret = odp_prefetch(h, HUGE_BASE, 64UL << 40,
			   SODP_ODP_TEST_PREFETCH_NO_FAULT, 0);
	c = odp_counters(h);
	if (ret)
		return 11;
	return c.children ? 12 : 0;
}

static int child_register(void *arg)
{
	int h;

	dev_open();
	h = odp_create(HUGE_BASE, *(uint64_t *)arg, RW);
	return h > 0 ? 0 : 20;
}

/*
 * huge: operations over huge ranges return promptly or can be killed.
 * A NO_FAULT prefetch of 64 TiB through an implicit region (nothing there)
 * creates no child and returns at once; the registration of a 256 GiB
 * explicit region (its snapshot walks 131072 batches) dies within seconds
 * of a SIGKILL.
 */
static int sc_huge(int argc, char **argv)
{
	uint64_t len = 256UL << 30;
	double took, gone;
	pid_t pid;
	int st;

	st = run_child(child_nofault, NULL, 20, &pid, &took);
	if (st < 0) {
		gone = kill_and_reap(pid, 20);
		not_ok("NO_FAULT prefetch of 64 TiB through an implicit region returns promptly",
		       "still running after %.1f s (%s)", took,
		       gone < 0 ? "and not killable" : "killed");
	} else {
		expect(WIFEXITED(st) && WEXITSTATUS(st) == 0 && took < 10,
		       "NO_FAULT prefetch of 64 TiB through an implicit region: 0 at once, no child created",
		       "status %#x (10 create, 11 prefetch failed, 12 a child was created), %.1f s",
		       st, took);
	}

	st = run_child(child_register, &len, 1, &pid, &took);
	if (!expect(st < 0, "registration of a 256 GiB ODP region is still running after 1 s",
		    "it ended already (status %#x after %.2f s): the kill below is not tested", st,
		    took))
		return 0;
	gone = kill_and_reap(pid, 30);
	expect(gone >= 0 && gone < 5, "... and a SIGKILL ends it within 5 s",
	       gone < 0 ? "still there 30 s after SIGKILL" : "took %.1f s", gone);
	return 0;
}

static long meminfo_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		die("/proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			v = atol(line + strlen(key) + 1);
	fclose(f);
	return v;
}

/*
 * memcg_reg LIMIT_BYTES: run inside a memory cgroup whose memory.max is
 * LIMIT_BYTES. Two explicit regions of 128 GiB over nothing mapped must
 * each succeed or fail with ENOMEM, and the kernel memory they take must
 * stay within what the cgroup may charge (MemAvailable does not drop by
 * more than the limit plus 16 MiB of noise).
 */
static int sc_memcg_reg(int argc, char **argv)
{
	long limit_kb = argc > 1 ? atol(argv[1]) / 1024 : 0, before, after;
	uint64_t len = 128UL << 30;
	int h[2], i, ok_n = 0;

	if (!limit_kb)
		die("usage: memcg_reg LIMIT_BYTES");
	dev_open();
	before = meminfo_kb("MemAvailable");
	for (i = 0; i < 2; i++) {
		h[i] = odp_create(HUGE_BASE + i * len * 2, len, RW);
		expect(h[i] > 0 || h[i] == -ENOMEM,
		       "registration of 128 GiB in a small memcg: succeeds or ENOMEM",
		       "%d (%s)", h[i], strerror(h[i] < 0 ? -h[i] : 0));
		ok_n += h[i] > 0;
	}
	after = meminfo_kb("MemAvailable");
	note("%d of 2 registered; MemAvailable %ld -> %ld kB (limit %ld kB)", ok_n, before,
	     after, limit_kb);
	expect(before - after < limit_kb + 16384,
	       "the registrations took no more memory than the memcg may charge",
	       "MemAvailable dropped by %ld kB, memory.max is %ld kB", before - after,
	       limit_kb);
	return 0;
}

/*
 * memcg_prefetch LIMIT_BYTES: inside the memcg, a synchronous prefetch of
 * 64 GiB of PROT_READ memory (the huge zero page: almost free for the
 * process) through an implicit region creates 32768 children. It must
 * fail with ENOMEM (or the memcg's OOM killer ends this process) before
 * the children take more than the cgroup may charge.
 */
static int sc_memcg_prefetch(int argc, char **argv)
{
	long limit_kb = argc > 1 ? atol(argv[1]) / 1024 : 0, before, after;
	size_t len = 64UL << 30;
	uint8_t *mem;
	int h, ret;

	if (!limit_kb)
		die("usage: memcg_prefetch LIMIT_BYTES");
	dev_open();
	mem = mmap(NULL, len + HUGE_SZ, PROT_READ,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap 64 GiB");
	mem = (uint8_t *)(((uintptr_t)mem + HUGE_SZ - 1) & ~(HUGE_SZ - 1));
	madvise(mem, len, MADV_HUGEPAGE);
	h = must_create(NULL, UINT64_MAX, RD);
	before = meminfo_kb("MemAvailable");
	note("prefetching 64 GiB through an implicit region");
	ret = odp_prefetch(h, mem, len, SODP_ODP_TEST_PREFETCH, 0);
	after = meminfo_kb("MemAvailable");
	note("prefetch: %d; %llu children; MemAvailable %ld -> %ld kB (limit %ld kB)", ret,
	     odp_counters(h).children, before, after, limit_kb);
	expect(ret == 0 || ret == -ENOMEM, "prefetch of 64 GiB in a small memcg: 0 or ENOMEM",
	       "%d (%s)", ret, strerror(-ret));
	expect(before - after < limit_kb + 16384,
	       "the children took no more memory than the memcg may charge",
	       "MemAvailable dropped by %ld kB, memory.max is %ld kB", before - after,
	       limit_kb);
	return 0;
}

/* ---- table -------------------------------------------------------------- */

struct scenario {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct scenario scenarios[] = {
	{ "basic", sc_basic, "create, snapshot, read/write, faults, errors, copy, destroy" },
	{ "munmap", sc_munmap, "munmap of part of a region, new mapping at the hole" },
	{ "dontneed", sc_dontneed, "MADV_DONTNEED then refault" },
	{ "mprotect", sc_mprotect, "read-only memory: device writes fail cleanly" },
	{ "mremap", sc_mremap, "mremap away and back" },
	{ "fork", sc_fork, "fork and COW: the device sees the parent's pages" },
	{ "thp", sc_thp, "THP: 2 MiB entries, split by a partial munmap" },
	{ "hugetlb", sc_hugetlb, "hugetlbfs pages (MAP_HUGETLB)" },
	{ "file", sc_file, "PATH [disk]: MAP_SHARED file written by the device" },
	{ "exit", sc_exit, "processes exiting with regions registered" },
	{ "race", sc_race, "[SECONDS]: munmap/remap while device I/O runs" },
	{ "implicit", sc_implicit, "implicit region over many 2 MiB children" },
	{ "prefetch", sc_prefetch, "prefetch modes, sync and async" },
	{ "inject", sc_inject, "allocation failures and EBUSY storms" },
	{ "implicit_race", sc_implicit_race, "[SECONDS]: child creation vs DONTNEED/mprotect" },
	{ "huge", sc_huge, "huge ranges: NO_FAULT prefetch returns, registration killable" },
	{ "memcg_reg", sc_memcg_reg, "LIMIT: huge registrations inside a memcg" },
	{ "memcg_prefetch", sc_memcg_prefetch, "LIMIT: huge implicit prefetch inside a memcg" },
};

int main(int argc, char **argv)
{
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: %s SCENARIO [ARGS]\n", argv[0]);
		for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
			fprintf(stderr, "  %-10s %s\n", scenarios[i].name,
				scenarios[i].help);
		return 2;
	}
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (!strcmp(argv[1], scenarios[i].name)) {
			scenarios[i].fn(argc - 1, argv + 1);
			return fails ? 1 : 0;
		}
	}
	fprintf(stderr, "%s: unknown scenario %s\n", argv[0], argv[1]);
	return 2;
}
