// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sodp_verbs_check: exercises a device through unmodified libibverbs.
 *
 *   sodp_verbs_check DEV pd N        open DEV, allocate N PDs at once, check
 *                                   each is distinct, free them; print "ok"
 *   sodp_verbs_check DEV cycles N    N times: open, alloc PD, free, close
 *   sodp_verbs_check DEV events N MS print the first N async events (one name
 *                                   a line, flushed) or stop after MS ms;
 *                                   prints "ready" once it listens
 *   sodp_verbs_check DEV unsupported try verbs sodp does not offer yet and
 *                                   check each fails cleanly (no crash)
 *
 * Exit status 0 on success; failures are explained on stderr.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <infiniband/verbs.h>

static struct ibv_context *open_dev(const char *name)
{
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	int n, i;

	list = ibv_get_device_list(&n);
	if (!list) {
		perror("ibv_get_device_list");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (!strcmp(ibv_get_device_name(list[i]), name)) {
			ctx = ibv_open_device(list[i]);
			if (!ctx)
				fprintf(stderr, "ibv_open_device(%s): %s\n",
					name, strerror(errno));
			break;
		}
	}
	if (i == n)
		fprintf(stderr, "device %s not found among %d\n", name, n);
	ibv_free_device_list(list);
	return ctx;
}

static int do_pd(const char *dev, int n)
{
	struct ibv_context *ctx = open_dev(dev);
	struct ibv_pd **pds;
	int i, j, ret = 1;

	if (!ctx)
		return 1;
	pds = calloc(n, sizeof(*pds));
	if (!pds)
		goto out;
	for (i = 0; i < n; i++) {
		pds[i] = ibv_alloc_pd(ctx);
		if (!pds[i]) {
			fprintf(stderr, "ibv_alloc_pd #%d: %s\n", i,
				strerror(errno));
			goto out_free;
		}
		if (pds[i]->context != ctx) {
			fprintf(stderr, "pd #%d has the wrong context\n", i);
			goto out_free;
		}
		for (j = 0; j < i; j++)
			if (pds[j]->handle == pds[i]->handle) {
				fprintf(stderr, "pd handles %d and %d equal\n",
					i, j);
				goto out_free;
			}
	}
	ret = 0;
out_free:
	for (i = 0; i < n && pds[i]; i++)
		if (ibv_dealloc_pd(pds[i])) {
			fprintf(stderr, "ibv_dealloc_pd #%d: %s\n", i,
				strerror(errno));
			ret = 1;
		}
	free(pds);
out:
	ibv_close_device(ctx);
	if (!ret)
		printf("ok %d pds\n", n);
	return ret;
}

static int do_cycles(const char *dev, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct ibv_context *ctx = open_dev(dev);
		struct ibv_pd *pd;

		if (!ctx)
			return 1;
		pd = ibv_alloc_pd(ctx);
		if (!pd) {
			fprintf(stderr, "cycle %d: ibv_alloc_pd: %s\n", i,
				strerror(errno));
			ibv_close_device(ctx);
			return 1;
		}
		if (ibv_dealloc_pd(pd) || ibv_close_device(ctx)) {
			fprintf(stderr, "cycle %d: teardown: %s\n", i,
				strerror(errno));
			return 1;
		}
	}
	printf("ok %d cycles\n", n);
	return 0;
}

static int do_events(const char *dev, int n, int ms)
{
	struct ibv_context *ctx = open_dev(dev);
	struct timespec start, now;
	int got = 0;

	if (!ctx)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	printf("ready\n");
	fflush(stdout);
	while (got < n) {
		struct pollfd pfd = { .fd = ctx->async_fd, .events = POLLIN };
		struct ibv_async_event ev;
		long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = ms - ((now.tv_sec - start.tv_sec) * 1000 +
			     (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		if (poll(&pfd, 1, left) <= 0)
			continue;
		if (ibv_get_async_event(ctx, &ev)) {
			perror("ibv_get_async_event");
			break;
		}
		printf("%s port %d\n", ibv_event_type_str(ev.event_type),
		       ev.element.port_num);
		fflush(stdout);
		ibv_ack_async_event(&ev);
		got++;
	}
	ibv_close_device(ctx);
	return got == n ? 0 : 2;
}

static int do_unsupported(const char *dev)
{
	struct ibv_context *ctx = open_dev(dev);
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	char buf[64];
	struct ibv_mr *mr;
	int ret = 0;

	if (!ctx)
		return 1;
	pd = ibv_alloc_pd(ctx);
	if (!pd) {
		perror("ibv_alloc_pd");
		return 1;
	}
	/* CQs exist now (tests/cases/7*-rc-*.sh). */
	cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	if (!cq) {
		fprintf(stderr, "ibv_create_cq: %s\n", strerror(errno));
		ret = 1;
	} else if (ibv_destroy_cq(cq)) {
		fprintf(stderr, "ibv_destroy_cq failed\n");
		ret = 1;
	}
	/* Memory windows: an MR exists now (tests/cases/6*-mr-*.sh). */
	mr = ibv_reg_mr(pd, buf, sizeof(buf), IBV_ACCESS_LOCAL_WRITE);
	if (!mr) {
		fprintf(stderr, "ibv_reg_mr: %s\n", strerror(errno));
		ret = 1;
	} else {
		struct ibv_mw *mw = ibv_alloc_mw(pd, IBV_MW_TYPE_1);

		if (mw || (errno != EOPNOTSUPP && errno != ENOSYS)) {
			fprintf(stderr,
				"ibv_alloc_mw: want EOPNOTSUPP, got %p %s\n",
				(void *)mw, strerror(errno));
			ret = 1;
		}
		ibv_dereg_mr(mr);
	}
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	if (!ret)
		printf("ok ibv_create_cq works, ibv_alloc_mw fails with EOPNOTSUPP\n");
	return ret;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[2], "pd"))
		return do_pd(argv[1], atoi(argv[3]));
	if (argc >= 4 && !strcmp(argv[2], "cycles"))
		return do_cycles(argv[1], atoi(argv[3]));
	if (argc >= 5 && !strcmp(argv[2], "events"))
		return do_events(argv[1], atoi(argv[3]), atoi(argv[4]));
	if (argc >= 3 && !strcmp(argv[2], "unsupported"))
		return do_unsupported(argv[1]);
	fprintf(stderr,
		"usage: %s DEV pd N | cycles N | events N MS | unsupported\n",
		argv[0]);
	return 64;
}
