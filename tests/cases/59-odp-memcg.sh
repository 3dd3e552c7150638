# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Kernel memory that userspace sizes is charged to its memory cgroup
# (review finding F4): inside a cgroup v2 with memory.max 48 MiB, two
# 128 GiB ODP registrations and a prefetch of 64 GiB through an implicit
# region (32768 children) fail with ENOMEM, or succeed within the limit,
# or the cgroup's own OOM killer ends the process; nothing is killed
# outside the cgroup, and the layer works normally afterwards.

# shellcheck source=tests/cases/odp-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/odp-lib.sh"

limit=$((48 << 20))
cg=/sys/fs/cgroup
if [ "$(stat -fc %T $cg 2>/dev/null)" != cgroup2fs ]; then
	mount -t cgroup2 none $cg
fi
check "cgroup v2 at $cg" test "$(stat -fc %T $cg)" = cgroup2fs
echo +memory >$cg/cgroup.subtree_control
mkdir -p $cg/sodp-memcg
echo $limit >$cg/sodp-memcg/memory.max
check_eq "memory.max of the test cgroup" "$limit" "$(cat $cg/sodp-memcg/memory.max)"
oom_kills() { awk '$1 == "oom_kill" { print $2 }' $cg/sodp-memcg/memory.events; }

# in_memcg CMD...: runs CMD inside the test cgroup.
in_memcg() {
	bash -c 'echo $$ >'"$cg"'/sodp-memcg/cgroup.procs && exec "$@"' in_memcg "$@"
}

odp_load
asserts "memcg_reg" in_memcg sodp_odp_check memcg_reg $limit
odp_no_objects "no ODP object left after the registrations"

# The memcg's OOM killer may end the prefetching process: that is the
# cgroup doing its job, as long as the kill stays inside it.
kills0=$(oom_kills)
out=$(in_memcg sodp_odp_check memcg_prefetch $limit 2>&1)
rc=$?
while IFS= read -r line; do
	case $line in
	"ok - "* | "not ok - "* | "#"*) echo "$line" ;;
	*) echo "# $line" ;;
	esac
done <<<"$out"
SODP_FAILS=$((SODP_FAILS + $(grep -c '^not ok - ' <<<"$out")))
if [ $rc -eq 0 ]; then
	ok "memcg_prefetch: ENOMEM or within the limit"
elif [ $rc -eq 137 ] && [ "$(oom_kills)" -gt "$kills0" ]; then
	ok "memcg_prefetch: killed by the memory cgroup's OOM killer (oom_kill $kills0 -> $(oom_kills))"
else
	not_ok "memcg_prefetch" "exited $rc, oom_kill $kills0 -> $(oom_kills)"
fi
odp_no_objects "no ODP object left after the prefetch"

# A memcg OOM kill logs a report with a stack: judge this part here.
global=$(dmesg_since | grep -E '(^|\] )Out of memory: Killed|WARNING:|BUG:|Oops|general protection|leaked' | head -n 5)
check_eq "no OOM kill outside the cgroup, no WARN/BUG/oops" "" "$global"
dmesg_start

check "the cgroup is emptied and removed" rmdir $cg/sodp-memcg
odp basic
odp_no_objects "no ODP object left after later work"
odp_unload
