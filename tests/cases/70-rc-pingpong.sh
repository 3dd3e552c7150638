# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# rdma-core's RC examples on sodp0, server and client in one guest:
# ibv_rc_pingpong plain, with events, the new post-send API, ODP, implicit
# ODP and prefetch (all with -c: the receiver checks the data);
# ibv_srq_pingpong; ibv_xsrq_pingpong fails cleanly (no XRC).

# shellcheck source=tests/cases/rc-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rc-lib.sh"

rc_setup

# pp NAME ITERS SIZE PROG ARGS...: a server/client pair; both print
# "BYTES bytes in ..." with BYTES = 2 * ITERS * SIZE and "ITERS iters in".
pp() {
	local name=$1 iters=$2 size=$3 bytes re1 re2
	shift 3
	bytes=$((2 * iters * size))
	re1="^$bytes bytes in [0-9.]+ seconds = [0-9.]+ Mbit/sec"
	re2="^$iters iters in [0-9.]+ seconds = [0-9.]+ usec/iter"
	if rc_pair "$name" /tmp/pp.s /tmp/pp.c "$@" -d "$RC_DEV" -g "$RC_GID" \
		-n "$iters" -s "$size" &&
	   grep -Eq "$re1" /tmp/pp.s && grep -Eq "$re1" /tmp/pp.c &&
	   grep -Eq "$re2" /tmp/pp.s && grep -Eq "$re2" /tmp/pp.c; then
		ok "$name: $bytes bytes, $iters iterations each side"
	else
		not_ok "$name" "server rc=$RC_SRV_RC: $(rc_show /tmp/pp.s) client rc=$RC_CLI_RC: $(rc_show /tmp/pp.c)"
	fi
	grep -E 'bytes in|iters in' /tmp/pp.c | sed 's/^/# client: /'
}

pp "ibv_rc_pingpong" 200 4096 ibv_rc_pingpong -c
pp "ibv_rc_pingpong 64 KiB messages" 50 65536 ibv_rc_pingpong -c
pp "ibv_rc_pingpong 1-byte messages" 200 1 ibv_rc_pingpong -c
pp "ibv_rc_pingpong -e (CQ events)" 100 4096 ibv_rc_pingpong -c -e
pp "ibv_rc_pingpong -N (ibv_wr_* API)" 100 4096 ibv_rc_pingpong -c -N
if rc_is_sodp; then
	pp "ibv_rc_pingpong -o (ODP)" 200 4096 ibv_rc_pingpong -c -o
	pp "ibv_rc_pingpong -o 64 KiB messages" 50 65536 ibv_rc_pingpong -c -o
	pp "ibv_rc_pingpong -O (implicit ODP)" 200 4096 ibv_rc_pingpong -c -O
	pp "ibv_rc_pingpong -o -P (ODP, prefetch)" 200 4096 ibv_rc_pingpong -c -o -P
	pp "ibv_rc_pingpong -O -P (implicit ODP, prefetch)" 100 4096 ibv_rc_pingpong -c -O -P
else
	echo "# ODP pingpongs: sodp only"
fi
pp "ibv_srq_pingpong (16 QPs on one SRQ)" 100 4096 ibv_srq_pingpong
pp "ibv_srq_pingpong -q 4 -e" 100 1024 ibv_srq_pingpong -q 4 -e

# XRC does not exist on sodp: the server fails before it listens.
check_fail "ibv_xsrq_pingpong fails with an XRC error" '[Xx][Rr][Cc]' \
	timeout 60 ibv_xsrq_pingpong -d "$RC_DEV" -g "$RC_GID" -p 18599

rc_no_objects "after the pingpongs"
rc_teardown
rc_dmesg_clean
