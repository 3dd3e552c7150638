// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * memcpy_bw: the CPU's own copy bandwidth for a message size, the ceiling
 * a software RDMA device that copies MR to MR can reach.
 *
 *   memcpy_bw SIZE...
 *
 * For each SIZE: copies SIZE bytes between two page-aligned buffers
 * (touched first) for about 0.5 s, once with glibc's memcpy() and once with
 * x86's "rep movsb" (what the kernel's memcpy uses, so what sodp's copies
 * run), and prints "SIZE BEST glibc=MBPS movsb=MBPS" with MB = 2^20 bytes,
 * as perftest reports them; BEST, the ceiling, is the faster of the two.
 * They differ a lot under qemu's TCG: glibc picks vector or non-temporal
 * loops that TCG emulates slowly for some sizes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void copy_movsb(void *dst, const void *src, size_t n)
{
#if defined(__x86_64__)
	__asm__ volatile("rep movsb"
			 : "+D"(dst), "+S"(src), "+c"(n)
			 :
			 : "memory");
#else
	memcpy(dst, src, n);
#endif
}

/* MB/s of copying SIZE bytes for about 0.5 s with @copy. */
static double measure(size_t size, char *dst, const char *src, int movsb)
{
	unsigned long n = 0, batch = 1 + (64UL << 20) / (size + 1) / 16;
	double t0, t;

	t0 = now();
	do {
		unsigned long k;

		for (k = 0; k < batch; k++) {
			if (movsb)
				copy_movsb(dst, src, size);
			else
				memcpy(dst, src, size);
			/* keep the copy: the compiler may not drop it */
			__asm__ volatile("" : : "r"(dst) : "memory");
		}
		n += batch;
		t = now() - t0;
	} while (t < 0.5);
	return (double)size * n / t / (1 << 20);
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s SIZE...\n", argv[0]);
		return 64;
	}
	for (i = 1; i < argc; i++) {
		size_t size = strtoul(argv[i], NULL, 0);
		double g, m;
		char *src, *dst;

		if (!size || posix_memalign((void **)&src, 4096, size) ||
		    posix_memalign((void **)&dst, 4096, size)) {
			fprintf(stderr, "bad size %s\n", argv[i]);
			return 1;
		}
		memset(src, 0x5a, size);
		memset(dst, 0, size);
		g = measure(size, dst, src, 0);
		m = measure(size, dst, src, 1);
		printf("%zu %.2f glibc=%.2f movsb=%.2f\n", size, g > m ? g : m,
		       g, m);
		free(src);
		free(dst);
	}
	return 0;
}
