# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# ci: default-kernel
# cmdline: slub_debug=U
# Exact leak check of memory registration, as 41-leaks.sh does for devices:
# with slub_debug=U every live kmalloc object records its allocation stack;
# the objects allocated through sodp, ib_core or ib_uverbs must not grow
# over 1000 cycles of pinned, ODP and implicit MRs (registration, prefetch,
# reregistration, deregistration) and 50 processes that exit with MRs.

# shellcheck source=tests/cases/mr-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mr-lib.sh"


check "slub_debug=U allocation traces are available" \
	test -r /sys/kernel/debug/slab/kmalloc-64/alloc_traces
mr_setup

re='[[](sodp|ib_core|ib_uverbs)[]]'
# Warm-up: first-use allocations of ib_core and the uverbs paths.
sodp_mr_check sodp0 cycles 10 >/dev/null
before=$(settled_objs "$re")
check_out "1000 cycles of pinned, ODP and implicit MRs" '^ok - 1000 cycles' \
	sodp_mr_check sodp0 cycles 1000
fails=0
for _ in $(seq 50); do
	sodp_mr_check sodp0 exit >/dev/null || fails=$((fails + 1))
done
check_eq "50 processes exit with 9 MRs each" 0 "$fails"
after=$(settled_objs "$re")
echo "# live objects allocated through sodp/ib_core/ib_uverbs: $before before, $after after"
check "no object allocated through sodp, ib_core or ib_uverbs outlives its MR ($before -> $after)" \
	test "$after" -le "$before"
mr_no_objects "after the cycles and exits"

mr_teardown
dmesg_clean
