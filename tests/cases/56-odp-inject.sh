# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Fault injection: every allocation of the layer's failure paths fails in
# turn (clean ENOMEM, nothing leaked), EBUSY storms (bounded retries, clean
# EBUSY after the timeout).

# shellcheck source=tests/cases/odp-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/odp-lib.sh"

odp_load
odp inject
odp_no_objects "no ODP object left after the injected failures"
odp_unload
