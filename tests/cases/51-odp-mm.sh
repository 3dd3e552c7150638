# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# ODP regions against what the process does to its memory: munmap,
# MADV_DONTNEED, mprotect, mremap, fork (COW), and processes exiting with
# regions registered (the notifier's release).

# shellcheck source=tests/cases/odp-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/odp-lib.sh"

odp_load
odp munmap
odp dontneed
odp mprotect
odp mremap
odp fork
odp_no_objects "no ODP object left after munmap, dontneed, mprotect, mremap, fork"
odp exit
odp_no_objects "no ODP object left after processes exited with live regions"
odp_unload
