# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Concurrency: a thread munmaps, remaps, DONTNEEDs and mprotects a region's
# memory while other threads drive device reads and writes; no stale data,
# no oops; then the region is destroyed under running reads.

# shellcheck source=tests/cases/odp-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/odp-lib.sh"

odp_load
odp race 4
odp_no_objects "no ODP object left"
odp_unload
