# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# cmdline: slub_debug=U
# Exact leak check of memory registration, as 41-leaks.sh does for devices:
# with slub_debug=U every live kmalloc object records its allocation stack;
# the objects allocated through sodp, ib_core or ib_uverbs must not grow
# over 1000 cycles of pinned, ODP and implicit MRs (registration, prefetch,
# reregistration, deregistration) and 50 processes that exit with MRs.

# shellcheck source=tests/cases/mr-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mr-lib.sh"

# live_objs REGEX: live kmalloc objects whose allocation stack has a frame
# matching REGEX.
live_objs() {
	cat /sys/kernel/debug/slab/kmalloc-*/alloc_traces 2>/dev/null | RE=$1 awk '
		BEGIN { re = ENVIRON["RE"] }
		function flush() { if (hit) total += n; hit = 0; n = 0 }
		/^ *[0-9]+ / { flush(); n = $1; hit = ($0 ~ re); next }
		$0 ~ re { hit = 1 }
		END { flush(); print total + 0 }'
}
# kfree_rcu() (MRs, ib_core's objects) frees seconds later: sample until
# the count has not changed for 6 s (at most 60 s).
settled_objs() {
	local last=-1 now stable=0
	for _ in $(seq 60); do
		now=$(live_objs "$1")
		if [ "$now" = "$last" ]; then
			stable=$((stable + 1))
			[ $stable -ge 6 ] && break
		else
			stable=0
		fi
		last=$now
		sleep 1
	done
	echo "$now"
}

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
