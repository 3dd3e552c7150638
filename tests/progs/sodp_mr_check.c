// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sodp_mr_check: memory regions through unmodified libibverbs.
 *
 *   sodp_mr_check DEV SCENARIO [ARGS] [-- COMMAND...]
 *
 * Prints one line per assertion, "ok - ..." or "not ok - ...: why", and
 * "# ..." comments; exits 1 if any assertion failed, 2 on a setup error.
 * Scenarios: see the table at the end of this file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/wait.h>
#include <infiniband/verbs.h>

#include "tap.h"

#define PG		4096UL
#define LW		IBV_ACCESS_LOCAL_WRITE
#define RW		IBV_ACCESS_REMOTE_WRITE
#define RR		IBV_ACCESS_REMOTE_READ
#define RA		IBV_ACCESS_REMOTE_ATOMIC
#define ODP		IBV_ACCESS_ON_DEMAND
#define ALL_RIGHTS	(LW | RW | RR | RA)
#define PF		IBV_ADVISE_MR_ADVICE_PREFETCH
#define PF_WRITE	IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE
#define PF_NOFAULT	IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT
#define FLUSH		IBV_ADVISE_MR_FLAG_FLUSH

static struct ibv_context *ctx;
static struct ibv_pd *pd;

/* expect a return value of 0 or a positive errno */
static bool expect_rc(int got, int want, const char *what)
{
	return expect(got == want, what, "got %d (%s), want %d (%s)", got,
		      strerror(got), want, strerror(want));
}

static void *map_anon(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu", len);
	return p;
}

/* A range of len bytes with nothing mapped: mapped, then unmapped. */
static void *map_hole(size_t len)
{
	void *p = map_anon(len, PROT_NONE);

	munmap(p, len);
	return p;
}

/* /proc/self/status "VmPin:" in kB, or -1 */
static long vmpin_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* ibv_reg_mr; returns the MR or NULL with *err = errno */
static struct ibv_mr *reg(struct ibv_pd *p, void *addr, size_t len,
			  int access, int *err)
{
	struct ibv_mr *mr;

	errno = 0;
	mr = ibv_reg_mr(p, addr, len, access);
	*err = mr ? 0 : errno;
	return mr;
}

/* A registration that must succeed. */
static struct ibv_mr *must_reg(struct ibv_pd *p, void *addr, size_t len,
			       int access)
{
	int err;
	struct ibv_mr *mr = reg(p, addr, len, access, &err);

	if (!mr)
		die("ibv_reg_mr(%p, %zu, 0x%x): %s", addr, len, access,
		    strerror(err));
	return mr;
}

static void must_dereg(struct ibv_mr *mr)
{
	int ret = ibv_dereg_mr(mr);

	if (ret) {
		errno = ret;
		die("ibv_dereg_mr");
	}
}

/* A registration that must fail with want. */
static void expect_reg_fails(struct ibv_pd *p, void *addr, size_t len,
			     int access, int want, const char *what)
{
	int err;
	struct ibv_mr *mr = reg(p, addr, len, access, &err);

	if (mr) {
		expect(false, what, "registered (lkey 0x%x), want %s",
		       mr->lkey, strerror(want));
		ibv_dereg_mr(mr);
		return;
	}
	expect_rc(err, want, what);
}

static int advise(struct ibv_pd *p, int advice, uint32_t flags,
		  struct ibv_mr *mr, const void *addr, uint32_t len)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)addr,
		.length = len,
		.lkey = mr->lkey,
	};

	return ibv_advise_mr(p, advice, flags, &sge, 1);
}

/* ---- scenarios ------------------------------------------------------------ */

/* Pinned MRs of many sizes and rights; keys; VmPin accounting. */
static int sc_pinned(int argc, char **argv)
{
	static const size_t sizes[] = { 1, 100, PG, PG + 1, 3 * PG - 5,
					64 * 1024, 2 << 20, 64 << 20 };
	static const int rights[] = { 0, LW, RR, LW | RW, LW | RA, ALL_RIGHTS,
				      LW | IBV_ACCESS_MW_BIND,
				      LW | IBV_ACCESS_HUGETLB,
				      LW | IBV_ACCESS_RELAXED_ORDERING };
	size_t big = 64 << 20;
	char *buf = map_anon(big + PG, PROT_READ | PROT_WRITE);
	long pin0 = vmpin_kb(), pin;
	unsigned int i, j, bad = 0;

	expect(pin0 >= 0, "/proc/self/status has VmPin", "not found");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (j = 0; j < sizeof(rights) / sizeof(rights[0]); j++) {
			/* Start 1 byte into a page: spans one page more. */
			char *a = buf + (sizes[i] < big ? 1 : 0);
			size_t pages = ((uintptr_t)a + sizes[i] - 1) / PG -
				       (uintptr_t)a / PG + 1;
			int err;
			struct ibv_mr *mr = reg(pd, a, sizes[i], rights[j],
						&err);

			if (!mr) {
				printf("# reg %zu bytes access 0x%x: %s\n",
				       sizes[i], rights[j], strerror(err));
				bad++;
				continue;
			}
			pin = vmpin_kb();
			if (mr->lkey == 0 || mr->lkey != mr->rkey ||
			    mr->addr != a || mr->length != sizes[i] ||
			    mr->pd != pd || pin - pin0 != (long)(pages * 4)) {
				printf("# %zu bytes access 0x%x: lkey 0x%x rkey 0x%x addr %p length %zu VmPin +%ld kB, want +%zu\n",
				       sizes[i], rights[j], mr->lkey, mr->rkey,
				       mr->addr, mr->length, pin - pin0,
				       pages * 4);
				bad++;
			}
			if (ibv_dereg_mr(mr))
				bad++;
			if (vmpin_kb() != pin0)
				bad++;
		}
	}
	expect(!bad, "pinned MRs of 1 byte to 64 MiB, 9 access combinations: registered, lkey == rkey != 0, VmPin counts their pages and drops back at dereg",
	       "%u failures", bad);

	munmap(buf, big + PG);
	return 0;
}

/* 1000 MRs at once over one buffer: distinct keys; all freed. */
static int sc_keys(int argc, char **argv)
{
	int n = argc > 0 ? atoi(argv[0]) : 1000, i, j, dup = 0;
	char *buf = map_anon(PG, PROT_READ | PROT_WRITE);
	struct ibv_mr **mrs = calloc(n, sizeof(*mrs));

	if (!mrs)
		die("calloc");
	for (i = 0; i < n; i++)
		mrs[i] = must_reg(pd, buf, PG, LW);
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (mrs[i]->lkey == mrs[j]->lkey)
				dup++;
	expect(!dup, "MR keys are distinct", "%d duplicate keys among %d", dup,
	       n);
	/* Reused index: a new key for each MR at least in its low byte. */
	{
		uint32_t old = mrs[0]->lkey;

		must_dereg(mrs[0]);
		mrs[0] = must_reg(pd, buf, PG, LW);
		expect(mrs[0]->lkey != old, "a new MR never gets the key of one just deregistered",
		       "got 0x%x again", old);
	}
	for (i = 0; i < n; i++)
		must_dereg(mrs[i]);
	ok("%d MRs registered at once and deregistered", n);
	free(mrs);
	return 0;
}

/* Register until the device's max_mr: exactly that many succeed. */
static int sc_fill(int argc, char **argv)
{
	struct ibv_device_attr attr;
	char *buf = map_anon(PG, PROT_READ | PROT_WRITE);
	struct ibv_mr **mrs;
	int n, i, err = 0;

	if (ibv_query_device(ctx, &attr))
		die("ibv_query_device");
	n = attr.max_mr;
	note("max_mr %d", n);
	if (n > 100000)
		die("max_mr %d is too many to fill", n);
	mrs = calloc(n, sizeof(*mrs));
	if (!mrs)
		die("calloc");
	for (i = 0; i < n; i++) {
		mrs[i] = reg(pd, buf, PG, LW | ((i & 1) ? ODP : 0), &err);
		if (!mrs[i])
			break;
	}
	expect(i == n, "max_mr MRs can be registered", "only %d of %d: %s", i,
	       n, strerror(err));
	if (i == n) {
		struct ibv_mr *mr = reg(pd, buf, PG, LW, &err);

		expect(!mr && err == ENOMEM, "MR number max_mr + 1 fails with ENOMEM",
		       "got %p %s", (void *)mr, strerror(err));
		if (mr)
			ibv_dereg_mr(mr);
		must_dereg(mrs[n / 2]);
		mrs[n / 2] = reg(pd, buf, PG, LW, &err);
		expect(mrs[n / 2] != NULL, "after one dereg, one more MR fits",
		       "%s", strerror(err));
	}
	for (i = 0; i < n; i++)
		if (mrs[i])
			must_dereg(mrs[i]);
	free(mrs);
	return 0;
}

/*
 * RLIMIT_MEMLOCK: run with a small "ulimit -l". ARGS: "nocap" (the
 * process has no CAP_IPC_LOCK: beyond the limit fails) or "cap".
 */
static int sc_memlock(int argc, char **argv)
{
	bool cap = argc > 0 && !strcmp(argv[0], "cap");
	struct rlimit rl;
	size_t limit, half;
	char *buf;
	struct ibv_mr *a, *b;
	int err;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > (64 << 20) || rl.rlim_cur < 4 * PG)
		die("run with a small RLIMIT_MEMLOCK (ulimit -l)");
	limit = rl.rlim_cur & ~(PG - 1);
	half = limit / 2 & ~(PG - 1);
	note("RLIMIT_MEMLOCK %zu bytes, %s CAP_IPC_LOCK", limit,
	     cap ? "with" : "without");
	buf = map_anon(4 * limit, PROT_READ | PROT_WRITE);

	a = reg(pd, buf, half, LW, &err);
	expect(a != NULL, "a pinned MR of half the limit registers", "%s",
	       strerror(err));
	b = reg(pd, buf + limit, limit, LW, &err);
	if (cap) {
		expect(b != NULL, "with CAP_IPC_LOCK the limit does not apply",
		       "%s", strerror(err));
	} else {
		expect(!b && err == ENOMEM,
		       "beyond RLIMIT_MEMLOCK without CAP_IPC_LOCK: ENOMEM",
		       "got %p %s", (void *)b, strerror(err));
		expect(vmpin_kb() == (long)(half / 1024),
		       "a refused registration leaves VmPin as it was",
		       "VmPin %ld kB, want %zu", vmpin_kb(), half / 1024);
		b = reg(pd, buf + limit, limit - half, LW, &err);
		expect(b != NULL, "up to the limit exactly registers", "%s",
		       strerror(err));
	}
	if (b)
		must_dereg(b);
	/* ODP pins nothing: as large as wanted under the same limit. */
	b = reg(pd, buf, 4 * limit, LW | ODP, &err);
	expect(b != NULL, "an ODP MR 4 times the limit registers", "%s",
	       strerror(err));
	if (b) {
		expect(advise(pd, PF_WRITE, FLUSH, b, buf, 4 * limit) == 0,
		       "and its whole range can be prefetched for write",
		       "failed");
		must_dereg(b);
	}
	if (a)
		must_dereg(a);
	expect(vmpin_kb() == 0, "VmPin is 0 after dereg", "%ld kB",
	       vmpin_kb());
	return 0;
}

/* ODP MRs pin nothing; munmap under an ODP MR is allowed. */
static int sc_odp(int argc, char **argv)
{
	size_t len = 256 << 20;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE);
	long pin0 = vmpin_kb();
	struct ibv_mr *mr, *imr;
	int err;

	memset(buf, 1, 1 << 20);
	mr = must_reg(pd, buf, len, LW | RW | RR | ODP);
	expect(vmpin_kb() == pin0, "an explicit ODP MR of 256 MiB pins nothing (VmPin unchanged)",
	       "VmPin %ld -> %ld kB", pin0, vmpin_kb());
	expect(mr->lkey && mr->lkey == mr->rkey && mr->length == len,
	       "ODP MR keys and length", "lkey 0x%x rkey 0x%x length %zu",
	       mr->lkey, mr->rkey, mr->length);
	expect_rc(advise(pd, PF_WRITE, FLUSH, mr, buf, 16 << 20), 0,
		  "prefetch-write 16 MiB of it");
	expect(vmpin_kb() == pin0, "still nothing pinned after the prefetch",
	       "VmPin %ld kB", vmpin_kb());
	expect(munmap(buf, len) == 0, "munmap of the whole range while it is registered",
	       "%s", strerror(errno));
	expect_rc(advise(pd, PF, FLUSH, mr, buf, PG), EFAULT,
		  "prefetch of the unmapped range: EFAULT");
	expect_rc(advise(pd, PF_NOFAULT, FLUSH, mr, buf, len), 0,
		  "prefetch NO_FAULT of the unmapped range: 0 (nothing to record)");
	expect_rc(ibv_dereg_mr(mr), 0, "dereg after munmap");

	/* HUGETLB is accepted with ODP (and without). */
	buf = map_anon(4 << 20, PROT_READ | PROT_WRITE);
	mr = reg(pd, buf, 4 << 20, LW | ODP | IBV_ACCESS_HUGETLB, &err);
	expect(mr != NULL, "ODP MR with IBV_ACCESS_HUGETLB registers", "%s",
	       strerror(err));
	if (mr)
		must_dereg(mr);

	/* Implicit ODP: addr NULL, length SIZE_MAX. */
	imr = reg(pd, NULL, SIZE_MAX, LW | RW | RR | ODP, &err);
	expect(imr != NULL, "implicit ODP MR (NULL, SIZE_MAX) registers",
	       "%s", strerror(err));
	if (imr) {
		expect(imr->lkey && imr->length == SIZE_MAX,
		       "implicit MR: a key, length SIZE_MAX",
		       "lkey 0x%x length %zu", imr->lkey, imr->length);
		expect(vmpin_kb() == pin0, "implicit MR pins nothing",
		       "VmPin %ld kB", vmpin_kb());
		memset(buf, 2, 4 << 20);
		expect_rc(advise(pd, PF_WRITE, FLUSH, imr, buf, 4 << 20), 0,
			  "implicit MR: prefetch-write of any mapped memory");
		expect_rc(advise(pd, PF, FLUSH, imr, map_hole(PG), PG), EFAULT,
			  "implicit MR: prefetch of a hole: EFAULT");
		expect_rc(advise(pd, PF, FLUSH, imr,
				 (void *)0xffff800000000000UL, PG), EFAULT,
			  "implicit MR: prefetch beyond user space: EFAULT");
		expect_rc(ibv_dereg_mr(imr), 0, "implicit MR deregisters");
	}
	expect_reg_fails(pd, NULL, SIZE_MAX, LW, EINVAL,
			 "(NULL, SIZE_MAX) without ON_DEMAND: EINVAL");
	expect_reg_fails(pd, buf, SIZE_MAX, LW | ODP, EINVAL,
			 "SIZE_MAX length at a non-NULL address: EINVAL");
	munmap(buf, 4 << 20);
	return 0;
}

/* Access flags and address checks at registration. */
static int sc_access(int argc, char **argv)
{
	char *buf = map_anon(16 * PG, PROT_READ | PROT_WRITE);
	char *ro = map_anon(16 * PG, PROT_READ);
	struct ibv_mr *mr;
	int err, odp;

	for (odp = 0; odp <= ODP; odp += ODP) {
		const char *k = odp ? "ODP" : "pinned";
		char what[160];

		snprintf(what, sizeof(what), "%s: REMOTE_WRITE without LOCAL_WRITE: EINVAL", k);
		expect_reg_fails(pd, buf, PG, RW | odp, EINVAL, what);
		snprintf(what, sizeof(what), "%s: REMOTE_ATOMIC without LOCAL_WRITE: EINVAL", k);
		expect_reg_fails(pd, buf, PG, RA | RR | odp, EINVAL, what);
		snprintf(what, sizeof(what), "%s: ZERO_BASED (memory windows only): EOPNOTSUPP", k);
		expect_reg_fails(pd, buf, PG, LW | IBV_ACCESS_ZERO_BASED | odp,
				 EOPNOTSUPP, what);
		snprintf(what, sizeof(what), "%s: an unknown access bit: EINVAL", k);
		expect_reg_fails(pd, buf, PG, LW | (1 << 15) | odp, EINVAL, what);
		snprintf(what, sizeof(what), "%s: zero length: EINVAL", k);
		expect_reg_fails(pd, buf, 0, LW | odp, EINVAL, what);
		snprintf(what, sizeof(what), "%s: address + length wraps around: EINVAL", k);
		expect_reg_fails(pd, (void *)(UINTPTR_MAX - PG + 1), 2 * PG,
				 LW | odp, EINVAL, what);
		snprintf(what, sizeof(what), "%s: beyond user space: EFAULT", k);
		expect_reg_fails(pd, (void *)0xffff800000000000UL, PG, LW | odp,
				 EFAULT, what);
		mr = reg(pd, buf, PG, RR | odp, &err);
		snprintf(what, sizeof(what), "%s: REMOTE_READ alone registers", k);
		expect(mr != NULL, what, "%s", strerror(err));
		if (mr)
			must_dereg(mr);
	}

	/* Read-only memory. */
	expect_reg_fails(pd, ro, 16 * PG, LW, EFAULT,
			 "pinned LOCAL_WRITE MR over PROT_READ memory: EFAULT");
	expect_reg_fails(pd, ro, 16 * PG, LW | RW | RR, EFAULT,
			 "pinned REMOTE_WRITE MR over PROT_READ memory: EFAULT");
	mr = reg(pd, ro, 16 * PG, RR, &err);
	expect(mr != NULL, "pinned read-only MR over PROT_READ memory registers",
	       "%s", strerror(err));
	if (mr)
		must_dereg(mr);
	expect_reg_fails(pd, map_hole(4 * PG), 4 * PG, LW, EFAULT,
			 "pinned MR over a hole: EFAULT");
	expect(vmpin_kb() == 0, "failed registrations pin nothing", "VmPin %ld kB",
	       vmpin_kb());

	mr = reg(pd, ro, 16 * PG, LW | RR | ODP, &err);
	expect(mr != NULL, "ODP LOCAL_WRITE MR over PROT_READ memory registers (checked at fault time)",
	       "%s", strerror(err));
	if (mr) {
		expect_rc(advise(pd, PF_WRITE, FLUSH, mr, ro, 16 * PG), EPERM,
			  "its write prefetch fails: EPERM");
		expect_rc(advise(pd, PF, FLUSH, mr, ro, 16 * PG), 0,
			  "its read prefetch works");
		must_dereg(mr);
	}
	mr = reg(pd, map_hole(4 * PG), 4 * PG, LW | ODP, &err);
	expect(mr != NULL, "ODP MR over a hole registers", "%s",
	       strerror(err));
	if (mr)
		must_dereg(mr);
	munmap(buf, 16 * PG);
	munmap(ro, 16 * PG);
	return 0;
}

static int rereg(struct ibv_mr *mr, int flags, struct ibv_pd *p, void *addr,
		 size_t len, int access, int *err)
{
	int ret;

	errno = 0;
	ret = ibv_rereg_mr(mr, flags, p, addr, len, access);
	*err = ret ? errno : 0;
	return ret;
}

/* ibv_rereg_mr with each flag, and its errors. */
static int sc_rereg(int argc, char **argv)
{
	char *a = map_anon(64 * PG, PROT_READ | PROT_WRITE);
	char *b = map_anon(64 * PG, PROT_READ | PROT_WRITE);
	char *ro = map_anon(8 * PG, PROT_READ);
	struct ibv_pd *pd2 = ibv_alloc_pd(ctx);
	struct ibv_mr *mr, *omr;
	uint32_t key;
	int ret, err;

	if (!pd2)
		die("ibv_alloc_pd");
	mr = must_reg(pd, a, 16 * PG, LW);
	key = mr->lkey;
	expect(vmpin_kb() == 64, "pinned MR of 16 pages: VmPin 64 kB", "%ld",
	       vmpin_kb());

	ret = rereg(mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL, b, 32 * PG, 0,
		    &err);
	expect(!ret && mr->addr == b && mr->length == 32 * PG &&
		       mr->lkey == key && vmpin_kb() == 128,
	       "CHANGE_TRANSLATION: new range, same keys, old pages unpinned, new pinned",
	       "ret %d (%s) addr %p length %zu lkey 0x%x VmPin %ld kB", ret,
	       strerror(err), mr->addr, mr->length, mr->lkey, vmpin_kb());

	ret = rereg(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
		    LW | RW | RR | RA, &err);
	expect(!ret && mr->lkey == key && vmpin_kb() == 128,
	       "CHANGE_ACCESS: all remote rights", "ret %d (%s)", ret,
	       strerror(err));

	ret = rereg(mr, IBV_REREG_MR_CHANGE_PD, pd2, NULL, 0, 0, &err);
	expect(!ret && mr->pd == pd2, "CHANGE_PD: the MR moves to another PD",
	       "ret %d (%s)", ret, strerror(err));

	ret = rereg(mr, IBV_REREG_MR_CHANGE_TRANSLATION | IBV_REREG_MR_CHANGE_PD |
			       IBV_REREG_MR_CHANGE_ACCESS,
		    pd, a, 8 * PG, LW | ODP, &err);
	expect(!ret && mr->pd == pd && mr->addr == a && vmpin_kb() == 0,
	       "all three flags at once, to ODP: nothing pinned any more",
	       "ret %d (%s) VmPin %ld kB", ret, strerror(err), vmpin_kb());
	expect_rc(advise(pd, PF_WRITE, FLUSH, mr, a, 8 * PG), 0,
		  "the reregistered MR is ODP now: prefetch works");

	ret = rereg(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0, RR, &err);
	expect(!ret && vmpin_kb() == 32, "CHANGE_ACCESS from ODP to pinned read-only pins its 8 pages",
	       "ret %d (%s) VmPin %ld kB", ret, strerror(err), vmpin_kb());
	expect_rc(advise(pd, PF, FLUSH, mr, a, PG), EOPNOTSUPP,
		  "and it is no ODP MR any more: prefetch EOPNOTSUPP");

	/* Errors. The MR stays usable after each. */
	ret = rereg(mr, 1 << 3, NULL, NULL, 0, 0, &err);
	expect(ret == IBV_REREG_MR_ERR_INPUT && err == EINVAL,
	       "an unknown flag: IBV_REREG_MR_ERR_INPUT, EINVAL",
	       "ret %d errno %s", ret, strerror(err));
	ret = rereg(mr, 0, NULL, NULL, 0, 0, &err);
	expect(ret == IBV_REREG_MR_ERR_CMD && err == EINVAL,
	       "no flag: IBV_REREG_MR_ERR_CMD, EINVAL (from the kernel)",
	       "ret %d errno %s", ret, strerror(err));
	ret = rereg(mr, IBV_REREG_MR_CHANGE_PD, NULL, NULL, 0, LW, &err);
	expect(ret == IBV_REREG_MR_ERR_INPUT && err == EINVAL,
	       "access without CHANGE_ACCESS: IBV_REREG_MR_ERR_INPUT, EINVAL",
	       "ret %d errno %s", ret, strerror(err));
	ret = rereg(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0, RW, &err);
	expect(ret == IBV_REREG_MR_ERR_CMD && err == EINVAL,
	       "CHANGE_ACCESS to REMOTE_WRITE without LOCAL_WRITE: EINVAL",
	       "ret %d errno %s", ret, strerror(err));
	ret = rereg(mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL, ro, 8 * PG, 0,
		    &err);
	expect(!ret, "CHANGE_TRANSLATION of the read-only MR to PROT_READ memory",
	       "ret %d errno %s", ret, strerror(err));
	ret = rereg(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0, LW, &err);
	expect(ret == IBV_REREG_MR_ERR_CMD && err == EFAULT,
	       "CHANGE_ACCESS to LOCAL_WRITE over PROT_READ memory: EFAULT",
	       "ret %d errno %s", ret, strerror(err));
	expect(vmpin_kb() == 32 && mr->lkey == key,
	       "after the failed rereg the MR is as it was (8 pages pinned, same key)",
	       "VmPin %ld kB lkey 0x%x", vmpin_kb(), mr->lkey);
	ret = rereg(mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL, map_hole(PG), PG,
		    0, &err);
	expect(ret == IBV_REREG_MR_ERR_CMD && err == EFAULT,
	       "CHANGE_TRANSLATION to a hole: EFAULT", "ret %d errno %s", ret,
	       strerror(err));
	expect_rc(ibv_dereg_mr(mr), 0, "dereg after failed reregistrations");
	expect(vmpin_kb() == 0, "VmPin 0 at the end", "%ld kB", vmpin_kb());

	/* An implicit MR can change rights but not stop being ODP. */
	omr = must_reg(pd, NULL, SIZE_MAX, LW | ODP);
	ret = rereg(omr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0, RR | ODP,
		    &err);
	expect(!ret, "implicit MR: CHANGE_ACCESS keeping ON_DEMAND", "%s",
	       strerror(err));
	expect_rc(advise(pd, PF_WRITE, FLUSH, omr, a, PG), EPERM,
		  "implicit MR without write rights now: write prefetch EPERM");
	ret = rereg(omr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0, LW, &err);
	expect(ret == IBV_REREG_MR_ERR_CMD && err == EINVAL,
	       "implicit MR: CHANGE_ACCESS dropping ON_DEMAND: EINVAL",
	       "ret %d errno %s", ret, strerror(err));
	must_dereg(omr);
	ibv_dealloc_pd(pd2);
	return 0;
}

/* ibv_advise_mr: each advice, with and without FLUSH, each error. */
static int sc_advise(int argc, char **argv)
{
	size_t len = 64 * PG;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE);
	struct ibv_pd *pd2 = ibv_alloc_pd(ctx);
	struct ibv_mr *mr, *rd, *pin, *other, *dead;
	struct ibv_sge sge[3];
	uint32_t dead_key;
	int advice;

	if (!pd2)
		die("ibv_alloc_pd");
	mr = must_reg(pd, buf, len, LW | RW | RR | ODP);
	rd = must_reg(pd, buf, len, RR | ODP);
	pin = must_reg(pd, buf, len, LW);
	other = must_reg(pd2, buf, len, LW | ODP);
	dead = must_reg(pd, buf, len, LW | ODP);
	dead_key = dead->lkey;
	must_dereg(dead);

	for (advice = PF; advice <= PF_NOFAULT; advice++) {
		char what[128];

		snprintf(what, sizeof(what), "advice %d with FLUSH", advice);
		expect_rc(advise(pd, advice, FLUSH, mr, buf, len), 0, what);
		snprintf(what, sizeof(what), "advice %d without FLUSH (queued)",
			 advice);
		expect_rc(advise(pd, advice, 0, mr, buf + PG, len - PG), 0,
			  what);
	}
	expect_rc(advise(pd, PF, FLUSH, mr, buf + len - 1, 1), 0,
		  "the last byte of the MR");
	expect_rc(advise(pd, PF, FLUSH, mr, buf, 0), 0, "zero length");

	/* Several SGEs at once, across MRs. */
	sge[0] = (struct ibv_sge){ (uintptr_t)buf, PG, mr->lkey };
	sge[1] = (struct ibv_sge){ (uintptr_t)buf + PG, 2 * PG, rd->lkey };
	sge[2] = (struct ibv_sge){ (uintptr_t)buf + 8 * PG, PG, mr->lkey };
	expect_rc(ibv_advise_mr(pd, PF, FLUSH, sge, 3), 0,
		  "three SGEs over two MRs");
	sge[1].lkey = pin->lkey;
	expect_rc(ibv_advise_mr(pd, PF, FLUSH, sge, 3), EOPNOTSUPP,
		  "one SGE of a pinned MR fails the whole advice");

	/* Errors, as ibv_advise_mr(3) documents them. */
	{
		struct ibv_sge bad = { (uintptr_t)buf, PG, 0x12345600 };

		expect_rc(ibv_advise_mr(pd, PF, FLUSH, &bad, 1), ENOENT,
			  "an lkey no MR has: ENOENT");
		bad.lkey = dead_key;
		expect_rc(ibv_advise_mr(pd, PF, FLUSH, &bad, 1), ENOENT,
			  "the lkey of a deregistered MR: ENOENT");
		bad.lkey = mr->lkey ^ 0xff;
		expect_rc(ibv_advise_mr(pd, PF, FLUSH, &bad, 1), ENOENT,
			  "a live MR's index with another variant byte: ENOENT");
		bad.lkey = 0;
		expect_rc(ibv_advise_mr(pd, PF, FLUSH, &bad, 1), ENOENT,
			  "lkey 0: ENOENT");
	}
	expect_rc(advise(pd, PF, FLUSH, other, buf, PG), EPERM,
		  "an MR of another PD: EPERM");
	expect_rc(advise(pd2, PF, FLUSH, mr, buf, PG), EPERM,
		  "the PD given is not the MR's: EPERM");
	expect_rc(advise(pd, PF, FLUSH, pin, buf, PG), EOPNOTSUPP,
		  "a pinned (non-ODP) MR: EOPNOTSUPP (ENOTSUP)");
	expect_rc(advise(pd, PF_WRITE, FLUSH, rd, buf, PG), EPERM,
		  "PREFETCH_WRITE on an MR without write access: EPERM");
	expect_rc(advise(pd, PF_WRITE, 0, rd, buf, PG), EPERM,
		  "the same without FLUSH: EPERM (checked before queueing)");
	expect_rc(advise(pd, PF, FLUSH, rd, buf, PG), 0,
		  "PREFETCH on the read-only MR works");
	expect_rc(advise(pd, PF, FLUSH, mr, buf - PG, PG), EFAULT,
		  "a range before the MR: EFAULT");
	expect_rc(advise(pd, PF, FLUSH, mr, buf + len - PG, 2 * PG), EFAULT,
		  "a range running past the MR's end: EFAULT");
	expect_rc(advise(pd, PF, 0, mr, buf + len, 1), EFAULT,
		  "a range just after the MR, without FLUSH: EFAULT");
	expect_rc(advise(pd, PF, FLUSH, mr, (void *)(UINTPTR_MAX - 10), 100),
		  EFAULT, "addr + length wraps around: EFAULT");
	expect_rc(advise(pd, 7, FLUSH, mr, buf, PG), EOPNOTSUPP,
		  "an unknown advice: EOPNOTSUPP");
	expect_rc(advise(pd, PF, 2, mr, buf, PG), EINVAL,
		  "an unknown flag: EINVAL");

	/* A hole inside the MR: only a synchronous prefetch reports it. */
	munmap(buf + 32 * PG, PG);
	expect_rc(advise(pd, PF, FLUSH, mr, buf + 31 * PG, 2 * PG), EFAULT,
		  "FLUSH prefetch over a hole: EFAULT");
	expect_rc(advise(pd, PF, 0, mr, buf + 31 * PG, 2 * PG), 0,
		  "the same queued: 0 (best effort, as a NIC's)");

	must_dereg(mr);
	must_dereg(rd);
	must_dereg(pin);
	must_dereg(other);
	ibv_dealloc_pd(pd2);
	return 0;
}

/*
 * Register an ODP MR of 64 pages (prefetch-write all 64 of them, then
 * drop 16 with MADV_DONTNEED), an implicit ODP MR and a pinned MR of 16
 * pages, then run COMMAND with SODP_MR_ODP_LKEY, SODP_MR_IMPLICIT_LKEY,
 * SODP_MR_PIN_LKEY and SODP_MR_PID in its environment; exit with its
 * status after deregistering.
 */
static int sc_hold(int argc, char **argv)
{
	char *buf = map_anon(64 * PG, PROT_READ | PROT_WRITE);
	char *pbuf = map_anon(16 * PG, PROT_READ | PROT_WRITE);
	struct ibv_mr *mr, *imr, *pin;
	char v[32];
	pid_t pid;
	int status;

	if (argc < 1)
		die("hold needs a command");
	mr = must_reg(pd, buf, 64 * PG, LW | ODP);
	imr = must_reg(pd, NULL, SIZE_MAX, LW | ODP);
	pin = must_reg(pd, pbuf, 16 * PG, LW);
	if (advise(pd, PF_WRITE, FLUSH, mr, buf, 64 * PG))
		die("prefetch");
	if (advise(pd, PF, FLUSH, imr, pbuf, 4 * PG))
		die("prefetch implicit");
	if (madvise(buf, 16 * PG, MADV_DONTNEED))
		die("madvise");
	snprintf(v, sizeof(v), "0x%x", mr->lkey);
	setenv("SODP_MR_ODP_LKEY", v, 1);
	snprintf(v, sizeof(v), "0x%x", imr->lkey);
	setenv("SODP_MR_IMPLICIT_LKEY", v, 1);
	snprintf(v, sizeof(v), "0x%x", pin->lkey);
	setenv("SODP_MR_PIN_LKEY", v, 1);
	snprintf(v, sizeof(v), "%d", (int)getpid());
	setenv("SODP_MR_PID", v, 1);
	fflush(stdout);

	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	must_dereg(mr);
	must_dereg(imr);
	must_dereg(pin);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Exit (or be killed by ARGS[0] = "kill") with MRs of every kind registered. */
static int sc_exit(int argc, char **argv)
{
	char *buf = map_anon(64 * PG, PROT_READ | PROT_WRITE);
	struct ibv_mr *mr;
	int i;

	for (i = 0; i < 8; i++) {
		mr = must_reg(pd, buf, 64 * PG, LW | ((i & 1) ? ODP : 0));
		if (i & 1)
			advise(pd, PF_WRITE, i & 2 ? FLUSH : 0, mr, buf,
			       64 * PG);
	}
	mr = must_reg(pd, NULL, SIZE_MAX, LW | ODP);
	advise(pd, PF_WRITE, 0, mr, buf, 64 * PG);
	note("VmPin %ld kB; exiting with 9 MRs registered", vmpin_kb());
	if (argc > 0 && !strcmp(argv[0], "kill"))
		raise(SIGKILL);
	exit(0);
}

/* N cycles of reg/prefetch/dereg of every kind (for leak checks). */
static int sc_cycles(int argc, char **argv)
{
	int n = argc > 0 ? atoi(argv[0]) : 100, i;
	char *buf = map_anon(16 * PG, PROT_READ | PROT_WRITE);

	for (i = 0; i < n; i++) {
		struct ibv_mr *p = must_reg(pd, buf, 16 * PG, LW | RW | RR);
		struct ibv_mr *o = must_reg(pd, buf, 16 * PG, LW | ODP);
		struct ibv_mr *m = must_reg(pd, NULL, SIZE_MAX, LW | ODP);

		advise(pd, PF_WRITE, i & 1 ? FLUSH : 0, o, buf, 16 * PG);
		advise(pd, PF_WRITE, i & 1 ? 0 : FLUSH, m, buf, 16 * PG);
		rereg(p, IBV_REREG_MR_CHANGE_TRANSLATION, NULL, buf + PG, PG, 0,
		      &(int){ 0 });
		must_dereg(p);
		must_dereg(o);
		must_dereg(m);
	}
	ok("%d cycles of pinned, ODP and implicit MRs", n);
	return 0;
}

/* ---- race: advise against rereg and dereg ------------------------------ */

struct race {
	atomic_bool stop;
	char *buf;
	size_t len;
	struct ibv_mr *flip;		/* rereg'd between ODP and pinned */
	uint32_t flip_key;		/* its key, which rereg keeps */
	_Atomic uint32_t churn_key;	/* the key of an MR reg'd and dereg'd */
	atomic_long advised, reregs, churns, unexpected;
};

static void race_advise(struct race *r, uint32_t key, const int *allowed,
			int nallowed)
{
	struct ibv_sge sge = { (uintptr_t)r->buf, (uint32_t)r->len, key };
	int ret = ibv_advise_mr(pd, PF_WRITE, FLUSH, &sge, 1), i;

	for (i = 0; i < nallowed; i++)
		if (ret == allowed[i])
			break;
	if (i == nallowed && atomic_fetch_add(&r->unexpected, 1) < 5)
		note("advise on key 0x%x: unexpected %d (%s)", key, ret,
		     strerror(ret));
	atomic_fetch_add(&r->advised, 1);
}

static void *race_advisor(void *arg)
{
	static const int flip_ok[] = { 0, EOPNOTSUPP, ENOENT };
	static const int churn_ok[] = { 0, EOPNOTSUPP, ENOENT };
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		race_advise(r, r->flip_key, flip_ok, 3);
		race_advise(r, atomic_load(&r->churn_key), churn_ok, 3);
	}
	return NULL;
}

static void *race_flipper(void *arg)
{
	struct race *r = arg;
	int err, i = 0;

	while (!atomic_load(&r->stop)) {
		int access = LW | (i++ & 1 ? 0 : ODP);

		if (rereg(r->flip, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			  access, &err) &&
		    atomic_fetch_add(&r->unexpected, 1) < 5)
			note("rereg: %s", strerror(err));
		atomic_fetch_add(&r->reregs, 1);
	}
	return NULL;
}

static void *race_churner(void *arg)
{
	struct race *r = arg;
	int i = 0;

	while (!atomic_load(&r->stop)) {
		struct ibv_mr *mr = must_reg(pd, r->buf, r->len,
					     LW | (i++ & 1 ? 0 : ODP));

		atomic_store(&r->churn_key, mr->lkey);
		must_dereg(mr);
		atomic_fetch_add(&r->churns, 1);
	}
	return NULL;
}

/* [SECONDS]: advise from 2 threads while MRs are reregistered and churned. */
static int sc_race(int argc, char **argv)
{
	int secs = argc > 0 ? atoi(argv[0]) : 10, i;
	struct race r = { .len = 64 * PG };
	pthread_t t[4];

	r.buf = map_anon(r.len, PROT_READ | PROT_WRITE);
	r.flip = must_reg(pd, r.buf, r.len, LW | ODP);
	r.flip_key = r.flip->lkey;
	atomic_store(&r.churn_key, r.flip_key);
	if (pthread_create(&t[0], NULL, race_advisor, &r) ||
	    pthread_create(&t[1], NULL, race_advisor, &r) ||
	    pthread_create(&t[2], NULL, race_flipper, &r) ||
	    pthread_create(&t[3], NULL, race_churner, &r))
		die("pthread_create");
	sleep(secs);
	atomic_store(&r.stop, true);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	note("%ld advices, %ld reregistrations, %ld reg/dereg in %d s",
	     atomic_load(&r.advised), atomic_load(&r.reregs),
	     atomic_load(&r.churns), secs);
	expect(atomic_load(&r.advised) > 0 && atomic_load(&r.reregs) > 0 &&
		       atomic_load(&r.churns) > 0,
	       "every thread made progress", "stuck");
	expect(!atomic_load(&r.unexpected),
	       "advise racing rereg and dereg only ever sees 0, EOPNOTSUPP or ENOENT",
	       "%ld unexpected results", atomic_load(&r.unexpected));
	must_dereg(r.flip);
	return 0;
}

struct scenario {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct scenario scenarios[] = {
	{ "pinned", sc_pinned, "pinned MRs: sizes, rights, keys, VmPin" },
	{ "keys", sc_keys, "[N] N MRs at once: distinct keys" },
	{ "fill", sc_fill, "register max_mr MRs, then one more (ENOMEM)" },
	{ "memlock", sc_memlock, "cap|nocap: RLIMIT_MEMLOCK (run under ulimit -l)" },
	{ "odp", sc_odp, "explicit and implicit ODP MRs pin nothing" },
	{ "access", sc_access, "access flags and address errors" },
	{ "rereg", sc_rereg, "ibv_rereg_mr: each flag, errors" },
	{ "advise", sc_advise, "ibv_advise_mr: each advice, errors" },
	{ "hold", sc_hold, "COMMAND...: run COMMAND while MRs are held" },
	{ "exit", sc_exit, "[kill]: exit with MRs registered" },
	{ "cycles", sc_cycles, "[N]: N reg/prefetch/rereg/dereg cycles" },
	{ "race", sc_race, "[SECONDS]: advise racing rereg and dereg" },
};

int main(int argc, char **argv)
{
	unsigned int i;
	int ret;

	if (argc < 3) {
		fprintf(stderr, "usage: %s DEV SCENARIO [ARGS]\n", argv[0]);
		for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
			fprintf(stderr, "  %-8s %s\n", scenarios[i].name,
				scenarios[i].help);
		return 64;
	}
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(argv[2], scenarios[i].name))
			break;
	if (i == sizeof(scenarios) / sizeof(scenarios[0])) {
		fprintf(stderr, "unknown scenario %s\n", argv[2]);
		return 64;
	}
	ctx = open_dev(argv[1]);
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		die("ibv_alloc_pd");
	ret = scenarios[i].fn(argc - 3, argv + 3);
	if (ibv_dealloc_pd(pd))
		die("ibv_dealloc_pd");
	if (ibv_close_device(ctx))
		die("ibv_close_device");
	if (ret)
		return ret;
	return fails ? 1 : 0;
}
