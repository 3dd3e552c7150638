# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Implicit ODP: one region over the whole address space, children of 2 MiB
# created on first use and reclaimed when they become empty.

# shellcheck source=tests/cases/odp-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/odp-lib.sh"

odp_load
odp implicit
odp_no_objects "no ODP object left (children reclaimed, parent destroyed)"
odp_unload
