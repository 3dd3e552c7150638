# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
#
# Helpers shared by the RC data path cases (tests/cases/7*-rc-*.sh), which
# source this file; not a case itself (no leading number).
#
# The cases run on sodp0. With SODP_RC_DEV=rxe0 in the environment
# (tests/vm/vm-run --env SODP_RC_DEV=rxe0 -- tests/cases/run-case BUILD CASE)
# they run on rdma_rxe instead: that is how the tests themselves are
# validated. Assertions about sodp's own counters (debugfs) and sodp-only
# behaviour (ODP is required, no XRC...) are skipped there.

# shellcheck source=tests/cases/mr-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mr-lib.sh"

RC_DEV=${SODP_RC_DEV:-sodp0}
RC_PORT=18600
rc_is_sodp() { [ "$RC_DEV" = sodp0 ]; }

# rc_gid_index: the RoCEv2 GID of RC_DEV with an IPv4-mapped address.
rc_gid_index() {
	local p=/sys/class/infiniband/$RC_DEV/ports/1 f i
	for f in "$p"/gids/*; do
		i=${f##*/}
		[ "$(cat "$p/gid_attrs/types/$i" 2>/dev/null)" = "RoCE v2" ] || continue
		case $(cat "$f") in
		0000:0000:0000:0000:0000:ffff:*) echo "$i"; return 0 ;;
		esac
	done
	return 1
}

rc_setup() {
	if rc_is_sodp; then
		mr_setup
	else
		eth0_up
		modprobe crc32_generic 2>/dev/null
		check "modprobe rdma_rxe" modprobe rdma_rxe
		check "rdma link add $RC_DEV type rxe netdev eth0" \
			rdma link add "$RC_DEV" type rxe netdev eth0
	fi
	wait_until 20 rc_gid_index >/dev/null
	RC_GID=$(rc_gid_index)
	check "$RC_DEV has a RoCEv2 IPv4 GID (index ${RC_GID:-none})" test -n "$RC_GID"
	RC_GID=${RC_GID:-1}
}

rc_teardown() {
	if rc_is_sodp; then
		mr_teardown
	else
		check "rdma link delete $RC_DEV" rdma link delete "$RC_DEV"
		check "rmmod rdma_rxe" rmmod rdma_rxe
	fi
}

# rc SCENARIO ARGS...: sodp_rc_check on RC_DEV.
rc() { asserts "sodp_rc_check $*" timeout 150 sodp_rc_check "$RC_DEV" "$@"; }

# rc_objs: "cqs srqs qps mrs" from debugfs.
rc_objs() {
	echo "$(sodp_objects cqs) $(sodp_objects srqs) $(sodp_objects qps) $(sodp_objects mrs)"
}
# rc_no_objects WHAT: no CQ, SRQ, QP or MR is left (waits up to 30 s).
rc_no_objects() {
	if ! rc_is_sodp; then
		echo "# $1: no object counters on $RC_DEV"
		return
	fi
	wait_until 30 eval '[ "$(rc_objs)" = "0 0 0 0" ]'
	check_eq "$1: no CQ, SRQ, QP or MR left (debugfs cqs srqs qps mrs)" \
		"0 0 0 0" "$(rc_objs)"
}

# rc_listening PORT: a TCP socket listens on PORT.
rc_listening() { ss -Hltn "sport = :$1" | grep -q .; }

# rc_pair NAME SERVER_OUT CLIENT_OUT CMD ARGS...: runs "CMD ARGS -p PORT"
# as a server, waits until it listens, then "CMD ARGS -p PORT 127.0.0.1"
# as the client; both under timeout. Sets RC_SRV_RC and RC_CLI_RC. Returns
# 0 if both exited 0.
rc_pair() {
	local name=$1 sout=$2 cout=$3 spid port
	shift 3
	RC_PORT=$((RC_PORT + 1))
	port=$RC_PORT
	RC_SRV_RC=255
	RC_CLI_RC=255
	timeout 150 "$@" -p "$port" >"$sout" 2>&1 &
	spid=$!
	if ! wait_until 60 rc_listening "$port"; then
		echo "# $name: the server did not listen on $port" >>"$sout"
		kill "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
		return 1
	fi
	timeout 120 "$@" -p "$port" 127.0.0.1 >"$cout" 2>&1
	RC_CLI_RC=$?
	wait "$spid"
	RC_SRV_RC=$?
	[ "$RC_SRV_RC" -eq 0 ] && [ "$RC_CLI_RC" -eq 0 ]
}

# rc_show FILE: a file's last lines on one line, for a failure message.
rc_show() { tail -n 12 "$1" | tr '\n' '|'; }

# rc_dmesg_clean: dmesg_clean on sodp. rxe logs every error completion at
# err level, so there only WARN/BUG/oops count.
rc_dmesg_clean() {
	local bad
	if rc_is_sodp; then
		dmesg_clean
		return
	fi
	bad=$(dmesg_since | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection' | head -n 20)
	check_eq "kernel log has no WARN/BUG/oops ($RC_DEV logs errors at err level)" "" "$bad"
}
