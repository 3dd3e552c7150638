/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * TAP-style output for the test programs (tests/progs/), one line per
 * assertion, as tests/cases/lib.sh's asserts() passes them on:
 *   ok - <what>            not ok - <what>: <why>            # <note>
 * "fails" counts the failed assertions; die() reports a setup failure and
 * exits 2. With <infiniband/verbs.h> included first, open_dev() too.
 * Included by exactly one source file per program.
 */
#ifndef SODP_TESTS_TAP_H
#define SODP_TESTS_TAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fails;

static void __attribute__((format(printf, 1, 2))) ok(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("ok - ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

static void __attribute__((format(printf, 2, 0)))
vnot_ok(const char *what, const char *fmt, va_list ap)
{
	printf("not ok - %s: ", what);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	fails++;
}

static void __attribute__((format(printf, 2, 3), unused))
not_ok(const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnot_ok(what, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 1, 2), unused))
note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	printf("not ok - setup: ");
	vprintf(fmt, ap);
	printf(" (errno %d %s)\n", e, strerror(e));
	va_end(ap);
	fflush(stdout);
	exit(2);
}

/* expect(cond, what, fmt...): one assertion; fmt says why it failed. */
static bool __attribute__((format(printf, 3, 4)))
expect(bool cond, const char *what, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		ok("%s", what);
		return true;
	}
	va_start(ap, fmt);
	vnot_ok(what, fmt, ap);
	va_end(ap);
	return false;
}

#ifdef INFINIBAND_VERBS_H
/* Open the RDMA device called @name, or die. */
static struct ibv_context *__attribute__((unused)) open_dev(const char *name)
{
	struct ibv_device **list;
	struct ibv_context *c = NULL;
	int n, i;

	list = ibv_get_device_list(&n);
	if (!list)
		die("ibv_get_device_list");
	for (i = 0; i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name)) {
			c = ibv_open_device(list[i]);
			break;
		}
	ibv_free_device_list(list);
	if (!c)
		die("open %s", name);
	return c;
}
#endif

#endif /* SODP_TESTS_TAP_H */
