# shellcheck shell=bash
# Helpers shared by the tests/vm scripts (sourced, never executed).
# Callers set PROG before sourcing and run under `set -euo pipefail`.

SODP_VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SODP_REPO_DIR=$(cd "$SODP_VM_DIR/../.." && pwd)
SODP_KERNELS_CONF=${SODP_KERNELS_CONF:-$SODP_VM_DIR/kernels.conf}

die() {
	echo "${PROG:-sodp}: error: $*" >&2
	exit 1
}

note() {
	echo "${PROG:-sodp}: $*" >&2
}

# The download/build cache, outside the repository. Paths in it are printed as shell-sourceable
# KEY=VALUE lines without quoting, so refuse characters that would need quoting.
sodp_cache_init() {
	local home=${HOME:-}
	[[ -n $home ]] || home=$(getent passwd "$(id -u)" | cut -d: -f6)
	SODP_CACHE=${SODP_CACHE:-$home/.cache/sodp}
	mkdir -p "$SODP_CACHE"
	SODP_CACHE=$(cd "$SODP_CACHE" && pwd -P)
	[[ $SODP_CACHE =~ ^[A-Za-z0-9_./+-]+$ ]] ||
		die "SODP_CACHE=$SODP_CACHE contains characters this rig does not quote (use [A-Za-z0-9_./+-])"
	case "$SODP_CACHE/" in
	"$SODP_REPO_DIR"/*) die "SODP_CACHE=$SODP_CACHE is inside the repository; keep the cache out of it" ;;
	esac
	export SODP_CACHE
}

# Take a lock for the rest of the process' life (or until the fd is closed).
# usage: sodp_lock FILE [waiting-message]   -> sets SODP_LOCK_FD
sodp_lock() {
	local file=$1 msg=${2:-}
	mkdir -p "$(dirname "$file")"
	exec {SODP_LOCK_FD}>>"$file"
	if ! flock -n "$SODP_LOCK_FD"; then
		[[ -n $msg ]] && note "$msg"
		flock "$SODP_LOCK_FD"
	fi
}

sodp_unlock() {
	exec {SODP_LOCK_FD}>&-
}

# The host's Debian codename (bookworm on the machines this project runs on).
sodp_host_codename() {
	local VERSION_CODENAME=''
	# shellcheck disable=SC1091
	[[ -r /etc/os-release ]] && . /etc/os-release
	[[ -n $VERSION_CODENAME ]] || die "cannot tell the host's Debian codename from /etc/os-release"
	echo "$VERSION_CODENAME"
}

# Print "URI SUITE" for every enabled deb source of the host (both sources.list formats).
sodp_host_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -r $f ]] || continue
		awk '{ sub(/#.*/, "") }
			$1 == "deb" {
				i = 2
				if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
				if (i + 1 <= NF) print $i, $(i + 1)
			}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r $f ]] || continue
		awk 'function flush(   n, m, u, s, U, S) {
				if (types ~ /(^| )deb( |$)/ && enabled != "no") {
					n = split(uris, U, " "); m = split(suites, S, " ")
					for (u = 1; u <= n; u++) for (s = 1; s <= m; s++) print U[u], S[s]
				}
				types = uris = suites = ""; enabled = "yes"; last = ""
			}
			BEGIN { enabled = "yes" }
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]/ { if (last == "uris") uris = uris " " $0; else if (last == "suites") suites = suites " " $0; next }
			{
				key = tolower($1); sub(/:$/, "", key); val = $0; sub(/^[^:]*:[ \t]*/, "", val)
				last = key
				if (key == "types") types = val
				else if (key == "uris") uris = val
				else if (key == "suites") suites = val
				else if (key == "enabled") enabled = tolower(val)
			}
			END { flush() }' "$f"
	done
}

# Sets SODP_MIRROR (Debian archive) and SODP_SECURITY_MIRROR (Debian security archive) from the
# host's apt sources, unless given in the environment. Nothing here names a mirror host.
sodp_mirrors() {
	[[ -n ${SODP_MIRROR:-} && -n ${SODP_SECURITY_MIRROR:-} ]] && return 0
	local codename uri suite main='' sec=''
	codename=$(sodp_host_codename)
	while read -r uri suite; do
		uri=${uri%/}
		case "$suite" in
		"$codename" | "$codename-updates" | "$codename-backports") [[ -n $main ]] || main=$uri ;;
		"$codename-security" | "$codename/updates") [[ -n $sec ]] || sec=$uri ;;
		esac
	done < <(sodp_host_sources)
	SODP_MIRROR=${SODP_MIRROR:-$main}
	SODP_SECURITY_MIRROR=${SODP_SECURITY_MIRROR:-$sec}
	[[ -n $SODP_MIRROR ]] ||
		die "no '$codename' source in /etc/apt/sources.list{,.d/*}: set SODP_MIRROR to a Debian mirror URI"
	[[ -n $SODP_SECURITY_MIRROR ]] ||
		die "no '$codename-security' source in /etc/apt/sources.list{,.d/*}: set SODP_SECURITY_MIRROR to a Debian security mirror URI"
}

# Private APT configuration: sources, lists and archives live in $SODP_CACHE/apt; the host's
# /etc/apt and dpkg database are never touched. usage: sodp_apt_init SUITE...
sodp_apt_init() {
	local d=$SODP_CACHE/apt suite uri list='' keyring=${SODP_APT_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
	[[ -r $keyring ]] || die "$keyring is missing (install debian-archive-keyring; run scripts/setup-host)"
	sodp_mirrors
	mkdir -p "$d/etc/sources.list.d" "$d/etc/preferences.d" "$d/etc/apt.conf.d" "$d/lists/partial" \
		"$d/cache/archives/partial" "$d/log"
	for suite in "$@"; do
		uri=$(sodp_suite_uri "$suite")
		list+="deb [signed-by=$keyring] $uri $suite main"$'\n'
	done
	if [[ ! -f $d/etc/sources.list || $(cat "$d/etc/sources.list") != "${list%$'\n'}" ]]; then
		printf '%s' "$list" >"$d/etc/sources.list.tmp.$$"
		mv "$d/etc/sources.list.tmp.$$" "$d/etc/sources.list"
		rm -f "$d/lists/.updated"
	fi
	# The host's apt.conf.d is not read (Dir::Etc::parts): container images switch off the
	# package cache there, which makes every apt-cache call parse all lists again (0.8 s each).
	cat >"$d/apt.conf.tmp.$$" <<EOF
Dir::Etc::main "/dev/null";
Dir::Etc::parts "$d/etc/apt.conf.d";
Dir::Cache::pkgcache "pkgcache.bin";
Dir::Cache::srcpkgcache "srcpkgcache.bin";
Dir::Etc::sourcelist "$d/etc/sources.list";
Dir::Etc::sourceparts "$d/etc/sources.list.d";
Dir::Etc::preferences "$d/etc/preferences";
Dir::Etc::preferencesparts "$d/etc/preferences.d";
Dir::State::lists "$d/lists";
Dir::State::status "/dev/null";
Dir::Cache "$d/cache";
Dir::Log "$d/log";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::Retries "3";
EOF
	mv "$d/apt.conf.tmp.$$" "$d/apt.conf"
	export APT_CONFIG=$d/apt.conf
}

# If apt's output OUT says that a mirror could not be reached, set APT_REASON to apt's words for
# it (one line) and return 0.
apt_unreachable_reason() { # OUT
	APT_REASON=$(grep -m1 -E 'Could not (connect|resolve)|Temporary failure resolving|Connection (timed out|refused|failed)|No route to host|Network is unreachable|Unable to connect|Could not open TCP|Failed to connect' <<<"$1" |
		sed -E 's/^[[:space:]]+//; s/^(Err|E|W):[0-9]* *//') || true
	[[ -n $APT_REASON ]]
}

# Refresh the private package lists (once per process; callers hold no apt lock). apt-get update
# goes on past a suite it cannot fetch; what happened to each is kept for sodp_apt_suite_state.
sodp_apt_update() {
	[[ ${SODP_APT_UPDATED:-0} == 1 ]] && return 0
	local out suite line
	declare -gA SODP_APT_ERR=()
	sodp_lock "$SODP_CACHE/apt/lock" "waiting for another apt-get update on $SODP_CACHE/apt"
	out=$(apt-get -q update 2>&1) || true
	# "Err:N URI SUITE FILE" followed by an indented line that says why.
	while IFS=$'\t' read -r suite line; do
		[[ -n ${SODP_APT_ERR[$suite]:-} ]] || SODP_APT_ERR[$suite]=$line
	done < <(awk '/^Err:/ { s = $3; getline; sub(/^[ \t]+/, ""); print s "\t" $0 }' <<<"$out")
	touch "$SODP_CACHE/apt/lists/.updated"
	sodp_unlock
	SODP_APT_UPDATED=1
}

# The URI the private configuration fetches SUITE from.
sodp_suite_uri() { # SUITE
	case "$1" in
	*-security) echo "$SODP_SECURITY_MIRROR" ;;
	*) echo "$SODP_MIRROR" ;;
	esac
}

# After sodp_apt_update, set SUITE_STATE to "ok" (SUITE was fetched), "missing" (the mirror
# answered but has no such suite) or "unreachable" (the mirror did not answer); APT_REASON says
# why for the latter two.
# shellcheck disable=SC2034  # SUITE_STATE and APT_REASON are for the caller
sodp_apt_suite_state() { # SUITE
	local err=${SODP_APT_ERR[$1]:-}
	if apt_unreachable_reason "$err"; then
		SUITE_STATE=unreachable
	elif [[ -z $err ]]; then
		SUITE_STATE=ok APT_REASON=''
	else
		SUITE_STATE=missing APT_REASON=$err
	fi
}

# Read kernels.conf. usage: sodp_conf SERIES -> sets K_SERIES K_SUITES K_LAYOUT K_CC K_KVER K_DEBVER K_FALLBACK
sodp_conf() {
	local want=$1 s su la cc kv dv fb
	[[ -r $SODP_KERNELS_CONF ]] || die "cannot read $SODP_KERNELS_CONF"
	while read -r s su la cc kv dv fb; do
		[[ -z $s || $s == \#* ]] && continue
		if [[ $s == "$want" ]]; then
			[[ -n $fb ]] || die "$SODP_KERNELS_CONF: line for '$s' has fewer than 7 fields"
			# shellcheck disable=SC2034  # used by the callers
			K_SERIES=$s K_SUITES=$su K_LAYOUT=$la K_CC=$cc K_KVER=$kv K_DEBVER=$dv K_FALLBACK=$fb
			return 0
		fi
	done <"$SODP_KERNELS_CONF"
	die "unknown kernel series '$want' (known: $(sodp_series | tr '\n' ' '))"
}

# All series names in kernels.conf, default first.
sodp_series() {
	awk '!/^[ \t]*(#|$)/ { print $1 }' "$SODP_KERNELS_CONF"
}

# All suites named in kernels.conf.
sodp_conf_suites() {
	awk '!/^[ \t]*(#|$)/ { n = split($2, S, ","); for (i = 1; i <= n; i++) print S[i] }' \
		"$SODP_KERNELS_CONF" | awk '!seen[$0]++'
}
