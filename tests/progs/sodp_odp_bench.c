// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sodp_odp_bench: measurements of the ODP layer through /dev/sodp_odp_test
 * (benchmarks/odp/run runs it in the VM). Prints "name value unit" lines,
 * each the median of REPS runs, and "# ..." comments.
 *
 *   sodp_odp_bench fault [MIB] [REPS]     per-4 KiB-page fault cost, device
 *                                         vs the CPU's first touch
 *   sodp_odp_bench register [MIB] [REPS]  region creation of MIB, ODP vs
 *                                         pin_user_pages_fast(FOLL_LONGTERM)
 *   sodp_odp_bench unmap [MIB] [REPS]     MADV_DONTNEED and munmap of MIB
 *                                         with and without a region over it
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <rdma/sodp-odp-test.h>

#define PG	4096UL
#define MAXREP	15

static int devfd;

static void die(const char *what)
{
	fprintf(stderr, "sodp_odp_bench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void report(const char *name, double *v, int n, double scale,
		   const char *unit)
{
	double lo, hi, m = median(v, n);

	lo = v[0];
	hi = v[n - 1];
	printf("%-40s %12.3f %-8s # min %.3f max %.3f, %d runs\n", name,
	       m * scale, unit, lo * scale, hi * scale, n);
	fflush(stdout);
}

/* 4 KiB pages only: no THP, so that a "page" is one PTE */
static uint8_t *map_4k(size_t len)
{
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	if (madvise(p, len, MADV_NOHUGEPAGE))
		die("MADV_NOHUGEPAGE");
	return p;
}

static void touch(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += PG)
		p[i] = 1;
}

static int create(void *addr, size_t len)
{
	struct sodp_odp_test_create c = {
		.addr = (uintptr_t)addr, .len = len,
		.access = SODP_ODP_TEST_ACCESS_READ | SODP_ODP_TEST_ACCESS_WRITE,
	};

	if (ioctl(devfd, SODP_ODP_TEST_CREATE, &c))
		die("create");
	return c.handle;
}

static void destroy(int h)
{
	struct sodp_odp_test_handle d = { .handle = h };

	if (ioctl(devfd, SODP_ODP_TEST_DESTROY, &d))
		die("destroy");
}

static void fault(int h, void *addr, size_t len, uint32_t flags)
{
	struct sodp_odp_test_fault f = {
		.handle = h, .flags = flags, .addr = (uintptr_t)addr,
		.len = len,
	};

	if (ioctl(devfd, SODP_ODP_TEST_FAULT, &f))
		die("fault");
}

static int bench_fault(size_t len, int reps)
{
	double cpu_w[MAXREP], cpu_r[MAXREP], dev_w[MAXREP], dev_r[MAXREP];
	double dev_1[MAXREP], t;
	size_t npages = len / PG, i, single = npages < 4096 ? npages : 4096;
	volatile uint8_t sink = 0;
	uint8_t *p = map_4k(len);
	int h = create(p, len), r;

	for (r = 0; r < reps; r++) {
		madvise(p, len, MADV_DONTNEED);
		t = now();
		touch(p, len);
		cpu_w[r] = (now() - t) / npages;

		madvise(p, len, MADV_DONTNEED);
		t = now();
		for (i = 0; i < len; i += PG)
			sink += p[i];
		cpu_r[r] = (now() - t) / npages;

		madvise(p, len, MADV_DONTNEED);
		t = now();
		fault(h, p, len, SODP_ODP_TEST_FAULT_WRITE);
		dev_w[r] = (now() - t) / npages;

		madvise(p, len, MADV_DONTNEED);
		t = now();
		fault(h, p, len, 0);
		dev_r[r] = (now() - t) / npages;

		madvise(p, len, MADV_DONTNEED);
		t = now();
		for (i = 0; i < single; i++)
			fault(h, p + i * PG, PG, SODP_ODP_TEST_FAULT_WRITE);
		dev_1[r] = (now() - t) / single;
	}
	(void)sink;
	printf("# %zu MiB of 4 KiB pages (MADV_NOHUGEPAGE), cold after MADV_DONTNEED\n",
	       len >> 20);
	report("cpu_first_touch_write_per_page", cpu_w, reps, 1e6, "us");
	report("cpu_first_touch_read_per_page", cpu_r, reps, 1e6, "us");
	report("device_fault_write_per_page", dev_w, reps, 1e6, "us");
	report("device_fault_read_per_page", dev_r, reps, 1e6, "us");
	report("device_fault_write_one_page_per_call", dev_1, reps, 1e6, "us");
	destroy(h);
	munmap(p, len);
	return 0;
}

static int bench_register(size_t len, int reps)
{
	double odp_cold[MAXREP], odp_warm[MAXREP], odp_destroy[MAXREP];
	double pin_cold[MAXREP], pin_warm[MAXREP], unpin[MAXREP], t;
	struct sodp_odp_test_pin pin;
	uint8_t *p = map_4k(len);
	int h, r;

	for (r = 0; r < reps; r++) {
		madvise(p, len, MADV_DONTNEED);
		t = now();
		h = create(p, len);
		odp_cold[r] = now() - t;
		destroy(h);

		touch(p, len);
		t = now();
		h = create(p, len);
		odp_warm[r] = now() - t;
		t = now();
		destroy(h);
		odp_destroy[r] = now() - t;

		madvise(p, len, MADV_DONTNEED);
		pin = (struct sodp_odp_test_pin){ .addr = (uintptr_t)p, .len = len };
		if (ioctl(devfd, SODP_ODP_TEST_PIN, &pin))
			die("pin");
		pin_cold[r] = pin.pin_ns / 1e9;

		pin = (struct sodp_odp_test_pin){ .addr = (uintptr_t)p, .len = len };
		if (ioctl(devfd, SODP_ODP_TEST_PIN, &pin))
			die("pin");
		pin_warm[r] = pin.pin_ns / 1e9;
		unpin[r] = pin.unpin_ns / 1e9;
	}
	printf("# registration of %zu MiB of 4 KiB pages (MADV_NOHUGEPAGE)\n",
	       len >> 20);
	report("odp_create_untouched", odp_cold, reps, 1e3, "ms");
	report("odp_create_touched", odp_warm, reps, 1e3, "ms");
	report("odp_destroy_touched", odp_destroy, reps, 1e3, "ms");
	report("pin_longterm_untouched", pin_cold, reps, 1e3, "ms");
	report("pin_longterm_touched", pin_warm, reps, 1e3, "ms");
	report("unpin", unpin, reps, 1e3, "ms");
	munmap(p, len);
	return 0;
}

static int bench_unmap(size_t len, int reps)
{
	double dn_none[MAXREP], dn_odp[MAXREP], um_none[MAXREP], um_odp[MAXREP];
	double t;
	uint8_t *p;
	int h, r;

	for (r = 0; r < reps; r++) {
		p = map_4k(len);
		touch(p, len);
		t = now();
		madvise(p, len, MADV_DONTNEED);
		dn_none[r] = now() - t;

		touch(p, len);
		h = create(p, len);	/* snapshot: every page has an entry */
		t = now();
		madvise(p, len, MADV_DONTNEED);
		dn_odp[r] = now() - t;
		destroy(h);

		touch(p, len);
		t = now();
		munmap(p, len);
		um_none[r] = now() - t;

		p = map_4k(len);
		touch(p, len);
		h = create(p, len);
		t = now();
		munmap(p, len);
		um_odp[r] = now() - t;
		destroy(h);
	}
	printf("# %zu MiB of 4 KiB pages, all touched; with ODP: a region with every page's entry valid\n",
	       len >> 20);
	report("dontneed_no_region", dn_none, reps, 1e3, "ms");
	report("dontneed_odp_region", dn_odp, reps, 1e3, "ms");
	report("munmap_no_region", um_none, reps, 1e3, "ms");
	report("munmap_odp_region", um_odp, reps, 1e3, "ms");
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib;
	int reps;

	if (argc < 2) {
		fprintf(stderr, "usage: %s fault|register|unmap [MIB] [REPS]\n",
			argv[0]);
		return 2;
	}
	mib = argc > 2 ? strtoul(argv[2], NULL, 0) : 64;
	reps = argc > 3 ? atoi(argv[3]) : 5;
	if (!mib || reps < 1 || reps > MAXREP) {
		fprintf(stderr, "bad MIB or REPS (1..%d)\n", MAXREP);
		return 2;
	}
	devfd = open(SODP_ODP_TEST_DEV, O_RDWR | O_CLOEXEC);
	if (devfd < 0)
		die("open " SODP_ODP_TEST_DEV);
	if (!strcmp(argv[1], "fault"))
		return bench_fault(mib << 20, reps);
	if (!strcmp(argv[1], "register"))
		return bench_register(mib << 20, reps);
	if (!strcmp(argv[1], "unmap"))
		return bench_unmap(mib << 20, reps);
	fprintf(stderr, "unknown benchmark %s\n", argv[1]);
	return 2;
}
