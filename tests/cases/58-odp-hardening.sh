# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Hardening of the ODP layer (review finding F3): implicit children
# created while DONTNEED and mprotect empty them (no ESTALE, no oops, every
# read returns).

# shellcheck source=tests/cases/odp-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/odp-lib.sh"

odp_load
odp implicit_race 8
odp_no_objects "no ODP object left after the implicit race"
odp_unload
