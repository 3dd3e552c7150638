# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Hardening of the ODP layer (review findings F3 and F6): implicit children
# created while DONTNEED and mprotect empty them (no ESTALE, no oops, every
# read returns), a NO_FAULT prefetch over 64 TiB creates no child and
# returns at once, the registration of a huge region can be killed.

# shellcheck source=tests/cases/odp-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/odp-lib.sh"

odp_load
odp implicit_race 8
odp_no_objects "no ODP object left after the implicit race"
odp huge
odp_no_objects "no ODP object left after the huge ranges (killed registration included)"
odp_unload
