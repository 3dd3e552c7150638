# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
#
# Helpers for test cases. Cases run inside the guest (see tests/run), as
# root, with bash; they print one line per assertion:
#   ok - <what>            or
#   not ok - <what>: <why>
# and nothing else on stdout that starts with "ok" or "not ok".
#
# Environment set by tests/cases/run-case:
#   SODP_BUILD   the CMake build directory (provider and test programs)
#   SODP_KVER    the guest's kernel release

SODP_FAILS=0
export RDMAV_DRIVERS="$SODP_BUILD/lib/libsodp"
export PATH="$SODP_BUILD/bin:$PATH"

ok()     { echo "ok - $1"; }
not_ok() { echo "not ok - $1${2:+: $2}"; SODP_FAILS=$((SODP_FAILS + 1)); }

# check NAME CMD...: passes if CMD exits 0; on failure shows its output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name" "'$*' exited $?: $(echo "$out" | tail -n 5 | tr '\n' '|')"
	fi
}

# check_out NAME REGEX CMD...: CMD exits 0 and its output matches REGEX
# (grep -E, any line). check_fail: CMD fails and its output matches REGEX.
check_out() { check_re 0 "$@"; }
check_fail() { check_re 1 "$@"; }
check_re() { # check_re WANT_FAIL(0|1) NAME REGEX CMD...
	local want_fail=$1 name=$2 re=$3 out rc=0
	shift 3
	out=$("$@" 2>&1) || rc=$?
	if [ $((rc != 0)) -eq "$want_fail" ] && grep -Eq -- "$re" <<<"$out"; then
		ok "$name"
	else
		not_ok "$name" "rc=$rc, /$re/ not in: $(echo "$out" | head -n 40 | tr '\n' '|')"
	fi
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s until it succeeds or
# SECONDS have passed; returns CMD's last status. Guests under TCG on a
# loaded CI host can be 10x slower than here: wait on a condition, never
# on a fixed sleep.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

# check_eq NAME WANT GOT
check_eq() {
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "want '$2', got '$3'"
	fi
}

# Kernel log hygiene: remember where the log is now; dmesg_clean reports
# anything since then at level err or worse, and any WARN/BUG/oops.
# What no case may leave in the kernel log: oopses, WARN/BUG, and every report of the debug
# kernel's checkers (KASAN, lockdep, sleeping in atomic context, ODEBUG, list corruption, kmemleak).
SODP_DMESG_BAD='WARNING:|BUG:|Oops|Call Trace|general protection|leaked|KASAN|UBSAN|ODEBUG|corruption|INFO: trying to register non-static key|unreferenced object|Disabling lock debugging'
dmesg_mark() { SODP_DMESG_MARK=$(dmesg | wc -l); }
dmesg_since() { dmesg | tail -n "+$((SODP_DMESG_MARK + 1))"; }
dmesg_clean() {
	local bad
	bad=$( { dmesg --level=emerg,alert,crit,err | tail -n "+$((SODP_DMESG_ERR_MARK + 1))";
		 dmesg_since | grep -E "$SODP_DMESG_BAD"; } | head -n 20)
	if [ -z "$bad" ]; then
		ok "${1:-kernel log has nothing at err level or above, no WARN/BUG}"
	else
		not_ok "${1:-kernel log clean}" "$(echo "$bad" | tr '\n' '|')"
	fi
}
dmesg_start() {
	dmesg_mark
	SODP_DMESG_CASE_MARK=$SODP_DMESG_MARK
	SODP_DMESG_ERR_MARK=$(dmesg --level=emerg,alert,crit,err | wc -l)
	SODP_DEBUG_LOCKS=$(debug_locks)
}

# 1 or 0 on a kernel with lockdep (/proc/lockdep_stats), empty elsewhere.
debug_locks() {
	awk '/debug_locks:/ { print $2 }' /proc/lockdep_stats 2>/dev/null || true
}

# On a debug kernel (lockdep present), every case ends with these two assertions: no checker
# reported anything during the case, and lock debugging is still on (lockdep switches itself off
# after its first report, which would make the rest of the run look clean).
debug_checks() {
	[ -n "$SODP_DEBUG_LOCKS" ] || return 0
	local bad
	bad=$(dmesg | tail -n "+$((SODP_DMESG_CASE_MARK + 1))" | grep -E "$SODP_DMESG_BAD" | head -n 20)
	if [ -z "$bad" ]; then
		ok "debug kernel: no KASAN, lockdep, atomic-sleep, ODEBUG or list report during the case"
	else
		not_ok "debug kernel: checker reports during the case" "$(echo "$bad" | tr '\n' '|')"
	fi
	check_eq "debug kernel: lock debugging still on (debug_locks)" "1 1" "$SODP_DEBUG_LOCKS $(debug_locks)"
}

# asserts LABEL CMD...: runs CMD, passes its "ok"/"not ok" lines on.
asserts() {
	local label=$1 out rc=0 line
	shift
	out=$("$@" 2>&1) || rc=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) echo "$line" ;;
		"not ok - "*) echo "$line"; SODP_FAILS=$((SODP_FAILS + 1)) ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done <<<"$out"
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok - ' <<<"$out"; then
		not_ok "$label" "exited $rc"
	fi
}

# live_objs REGEX: live kmalloc objects whose allocation stack has a frame
# matching REGEX.
live_objs() {
	# The regex goes through the environment: awk -v would eat backslashes.
	cat /sys/kernel/debug/slab/kmalloc-*/alloc_traces 2>/dev/null | RE=$1 awk '
		BEGIN { re = ENVIRON["RE"] }
		function flush() { if (hit) total += n; hit = 0; n = 0 }
		/^ *[0-9]+ / { flush(); n = $1; hit = ($0 ~ re); next }
		$0 ~ re { hit = 1 }
		END { flush(); print total + 0 }'
}
# ib_core frees an ib_device and its port data with kfree_rcu(), which
# batches frees and drains them seconds later: sample until the count has
# not changed for 6 s (at most 60 s).
settled_objs() { # settled_objs REGEX
	local last=-1 now stable=0
	for _ in $(seq 60); do
		now=$(live_objs "$1")
		if [ "$now" = "$last" ]; then
			stable=$((stable + 1))
			[ $stable -ge 6 ] && break
		else
			stable=0
		fi
		last=$now
		sleep 1
	done
	echo "$now"
}

# Live sodp objects from debugfs: sodp_objects devices|ucontexts|pds
sodp_objects() {
	awk -v k="$1" '$1 == k { print $2 }' /sys/kernel/debug/sodp/objects
}

sodp_load() { modprobe sodp; }

# Bring up the guest's eth0 the way every case expects it.
eth0_up() { ip link set eth0 up; }

finish() {
	debug_checks
	exit $((SODP_FAILS > 0))
}
