# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Prefetch: PREFETCH, PREFETCH_WRITE, PREFETCH_NO_FAULT, synchronous and on
# the layer's workqueue, explicit and implicit, and destruction with a
# prefetch still queued.

# shellcheck source=tests/cases/odp-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/odp-lib.sh"

odp_load
odp prefetch
odp_no_objects "no ODP object left (queued prefetch finished after destroy)"
odp_unload
