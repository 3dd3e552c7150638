# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# 2 MiB translation entries: transparent huge pages (and their split by a
# partial munmap), hugetlbfs pages.

# shellcheck source=tests/cases/odp-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/odp-lib.sh"

odp_load
echo always >/sys/kernel/mm/transparent_hugepage/enabled
echo madvise >/sys/kernel/mm/transparent_hugepage/defrag
odp thp
echo 8 >/proc/sys/vm/nr_hugepages
check_eq "8 hugetlbfs pages reserved" 8 "$(awk '/^HugePages_Total/ { print $2 }' /proc/meminfo)"
odp hugetlb
odp_no_objects "no ODP object left"
echo 0 >/proc/sys/vm/nr_hugepages
odp_unload
