#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host removal under load: while rsg_stress keeps 8 threads of 16 requests
# each going (SG_IO, write()/read(), rsg's queue/get ioctls) against the
# nodes of several scsi_debug hosts, the newest host is removed and a new
# one added, RSG_REMOVAL_CYCLES times (100). Every cycle the nodes must go
# and come with their host; at the end every thread must have ended (only
# errnos a removal explains), and rsg must be back where it started: module
# references (its own and scsi_debug's), class devices, /proc/scsi/rsg
# (devices, debug, pinned_pages) and unreclaimable slab memory, and rmmod
# must succeed.
#
# sg takes the same load at the same time on the same hosts, and must end
# and clean up the same way; only that is compared, since how many requests
# get through depends on timing.
#
# usage: removal_load.sh [DRIVER...]   (default: rsg sg; sg alone with
# RSG_SELF_TEST=1). Expects scsi_debug and the drivers loaded (rsg is
# loaded if it is not). Changes the device set and unloads and reloads
# rsg: run it last.
cd "$(dirname "$0")/../.." || exit 1
. selftests/rsg/tap.sh
. tools/vm/guest.sh

stress=selftests/rsg/out/rsg_stress
cycles=${RSG_REMOVAL_CYCLES:-100}
# Hosts added for the run: the newest one churns, the others stay, so
# there is always a node to go on with.
extra=3
sdebug=/sys/bus/pseudo/drivers/scsi_debug
adder=$sdebug/add_host
drivers=${*:-rsg sg}
[ "${RSG_SELF_TEST:-0}" = 1 ] && drivers=sg
# scsi_debug's delay in jiffies (40 ms at HZ=250).
delay=${RSG_REMOVAL_DELAY:-10}
# Unreclaimable slab may grow this much over the run (see mem_ok).
slab_slack_kb=${RSG_REMOVAL_SLAB_KB:-1024}
tmp=$(mktemp -d)
declare -A pid
cleanup() {
	local d
	for d in "${!pid[@]}"; do
		kill -KILL "${pid[$d]}" 2> /dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

tap_begin

declare -A class=([rsg]=scsi_rsg [sg]=scsi_generic)
class_of() {
	echo "${class[$1]}"
}

# Forks cost tens of ms each under emulation, so what runs every cycle
# keeps to shell builtins.

# scsi_debug's hosts, in ascending order, into HOSTS (an array).
get_hosts() {
	local h n name
	HOSTS=()
	for h in /sys/class/scsi_host/host*; do
		read -r name < "$h/proc_name" 2> /dev/null || continue
		[ "$name" = scsi_debug ] || continue
		n=${h##*/host}
		HOSTS[n]=$n
	done
	HOSTS=(${HOSTS[@]})
}

hosts() {
	get_hosts
	echo "${HOSTS[@]}"
}

# get_node DRIVER HOST: the node of HOST's LU (H:0:0:0) into NODE.
get_node() {
	local f
	NODE=
	for f in /sys/class/scsi_device/$2:0:0:0/device/${class[$1]}/*; do
		[ -e "$f" ] && NODE=/dev/${f##*/} && return 0
	done
	return 1
}

# present DRIVER HOST: the node and class device of HOST's LU.
present() {
	get_node "$1" "$2" && [ -c "$NODE" ] &&
		[ -e "/sys/class/${class[$1]}/${NODE#/dev/}" ]
}

# busy_on DRIVER NODE: /proc/scsi/DRIVER/debug shows a request of NODE
# running.
busy_on() {
	local line dev=${2#/dev/} in=0
	while read -r line; do
		case $line in
		">>> device=$dev "*) in=1 ;;
		">>>"*) in=0 ;;
		*act:*) [ $in = 1 ] && return 0 ;;
		esac
	done < "/proc/scsi/$1/debug"
	return 1
}

all_busy() {
	local d
	for d in $drivers; do
		get_node $d "$1" && busy_on $d "$NODE" || return 1
	done
}

# Milliseconds, into MS.
get_ms() {
	MS=${EPOCHREALTIME/./}
	MS=$((MS / 1000))
}

# A FIFO nobody writes: read -t on it sleeps without a fork.
mkfifo "$tmp/nap"
exec {nap}<> "$tmp/nap"
nap() {
	read -r -t "$1" -u "$nap"
}

# poll SECONDS COMMAND...: wait_for, at a finer grain.
poll() {
	local t=$(($1 * 50))
	shift
	while [ $t -gt 0 ]; do
		"$@" && return 0
		nap 0.02
		t=$((t - 1))
	done
	return 1
}

# A hang here is bounded by the suite's timeout (run.sh).
sysfs_write() {
	echo "$1" > $adder
}

# What must be as before the run, per driver: module references, class
# devices, the devices table and the open files /proc/scsi shows.
state() {
	local d=$1
	echo "refcnt $(cat /sys/module/$d/refcnt)"
	echo "scsi_debug refcnt $(cat /sys/module/scsi_debug/refcnt)"
	echo "class devices $(ls /sys/class/${class[$d]} | wc -l)"
	echo "devices:"
	cat /proc/scsi/$d/devices
	echo "open devices in debug: $(grep -c '>>>' /proc/scsi/$d/debug)"
	echo "files in debug: $(grep -c 'FD(' /proc/scsi/$d/debug)"
	[ "$d" = rsg ] && echo "pinned_pages $(cat /proc/scsi/rsg/pinned_pages)"
	return 0
}

same_state() {
	state "$1" > "$tmp/state.$1.now"
	cmp -s "$tmp/state.$1.base" "$tmp/state.$1.now"
}

# scsi_debug's delay in jiffies (40 ms at HZ=250).
delay=${RSG_REMOVAL_DELAY:-10}
# Unreclaimable slab in kB, after what can be freed is freed.
slab_kb() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	sed -n 's/^SUnreclaim: *\([0-9]*\) kB/\1/p' /proc/meminfo
}

# A run under emulation is some 4·10^4 requests per driver: a leak of one
# object per request (64 bytes at least) grows unreclaimable slab past
# 1 MiB. What else moves (per-CPU caches, kernfs and idr nodes, workqueue
# items) stayed at 300-400 kB in trial runs, whatever the number of
# cycles. Leaked devices show in the class devices and /proc counts.
mem_ok() {
	local now
	now=$(slab_kb)
	mem_delta=$((now - slab_base))
	[ "$mem_delta" -le "$slab_slack_kb" ]
}

# --- Setup
check "rsg_stress built" test -x $stress
check "scsi_debug loaded" test -d $sdebug
if [ ! -x $stress ] || [ ! -d $sdebug ]; then
	tap_end
	exit
fi
for d in $drivers; do
	if [ "$d" = rsg ] && [ ! -d /sys/module/rsg ]; then
		check "load rsg" load_rsg
	fi
	check "$d loaded" test -d /sys/module/$d
done
initial_hosts=$(hosts)
keep_args=
for h in $initial_hosts; do
	keep_args="$keep_args -x $h"
done
old_delay=$(cat $sdebug/delay)
old_ndelay=$(cat $sdebug/ndelay)

for d in $drivers; do
	state $d > "$tmp/state.$d.base"
done
slab_base=$(slab_kb)
echo "# hosts before: $initial_hosts; unreclaimable slab ${slab_base} kB"

# Commands stay in flight a while, so that removals meet them; it also
# keeps the load from taking all the CPU time the removals need.
check "scsi_debug: commands delayed" sdebug_set delay "$delay"
added=0
for i in $(seq 1 $extra); do
	sysfs_write 1 && added=$((added + 1))
done
check_eq "$extra scsi_debug hosts added" $extra $added
for h in $(hosts); do
	for d in $drivers; do
		poll 10 present $d "$h" || not_ok "$d: node of host $h"
	done
done

# --- Load
for d in $drivers; do
	# shellcheck disable=SC2086
	$stress -d $d -t 8 -n 16 -w 120 $keep_args > "$tmp/stress.$d" 2>&1 &
	pid[$d]=$!
done
sleep 1
for d in $drivers; do
	check "$d: load running" kill -0 "${pid[$d]}"
done

# --- Removal cycles
bad=0
done_cycles=0
in_flight=0
t0=$(date +%s)
for c in $(seq 1 "$cycles"); do
	get_hosts
	h=${HOSTS[-1]}
	declare -A node=()
	for d in $drivers; do
		get_node $d "$h"
		node[$d]=$NODE
	done
	get_ms
	ta=$MS
	if ! sysfs_write -1; then
		echo "# cycle $c: removing host $h failed or hung"
		bad=$((bad + 1))
		break
	fi
	get_ms
	tb=$MS
	if ! poll 10 gone "/sys/class/scsi_host/host$h"; then
		echo "# cycle $c: host $h still there"
		bad=$((bad + 1))
	fi
	for d in $drivers; do
		if ! poll 10 gone "${node[$d]}" ||
		   ! poll 10 gone "/sys/class/${class[$d]}/${node[$d]#/dev/}"; then
			echo "# cycle $c: $d: ${node[$d]} of host $h still there"
			bad=$((bad + 1))
		fi
	done
	get_hosts
	before=" ${HOSTS[*]} "
	get_ms
	tc=$MS
	if ! sysfs_write 1; then
		echo "# cycle $c: adding a host failed or hung"
		bad=$((bad + 1))
		break
	fi
	get_ms
	td=$MS
	# Host numbers are reused: the new one is the one not there before.
	nh=
	get_hosts
	for x in "${HOSTS[@]}"; do
		[[ "$before" == *" $x "* ]] || nh=$x
	done
	if [ -z "$nh" ]; then
		echo "# cycle $c: no new host"
		bad=$((bad + 1))
		continue
	fi
	for d in $drivers; do
		if ! poll 10 present $d "$nh"; then
			echo "# cycle $c: $d: no node for new host $nh"
			bad=$((bad + 1))
		fi
	done
	done_cycles=$c
	get_ms
	te=$MS
	# Let the load reach the new host before it goes: then the removal
	# meets requests running through every driver (or the wait ends).
	poll 5 all_busy "$nh" && in_flight=$((in_flight + 1))
	get_ms
	[ -n "$RSG_REMOVAL_TRACE" ] && echo "# cycle $c: remove $((tb - ta)) gone $((tc - tb)) add $((td - tc)) present $((te - td)) busy $((MS - te)) ms"
done
secs=$(($(date +%s) - t0))
if [ "$done_cycles" -eq "$cycles" ] && [ "$bad" -eq 0 ]; then
	ok "$done_cycles removal cycles, nodes followed their hosts (${secs}s)"
	echo "# $in_flight removals met requests running through every driver"
else
	not_ok "$cycles removal cycles, nodes followed their hosts" \
		"$done_cycles cycles done, $bad problems"
fi
for d in $drivers; do
	check "$d: load still running after the cycles" kill -0 "${pid[$d]}"
done

# ended PID: every task of PID has exited (gone, or a zombie). A zombie is
# not waited on until the shell reaps it, which bash, in a loop of builtins,
# has been seen to put off for minutes.
ended() {
	local t st
	for t in "/proc/$1/task/"*; do
		read -r st 2> /dev/null < "$t/stat" || continue
		st=${st##*) }
		[ "${st%% *}" = Z ] || return 1
	done
	return 0
}

# --- Stop the load: every thread must end, and the process with them.
for d in $drivers; do
	kill -TERM "${pid[$d]}" 2> /dev/null
done
get_ms
t_term=$MS
for d in $drivers; do
	if poll 180 ended "${pid[$d]}"; then
		wait "${pid[$d]}"
		rc=$?
		unset "pid[$d]"
		get_ms
		echo "# $d: load gone $((MS - t_term)) ms after SIGTERM"
	else
		rc=hung
		for t in /proc/${pid[$d]}/task/*; do
			read -r st < "$t/stat"
			st=${st##*) }
			echo "# $d: task ${t##*/}: state ${st%% *}," \
				"wchan $(cat "$t/wchan" 2> /dev/null)," \
				"syscall $(cat "$t/syscall" 2> /dev/null)"
		done
	fi
	sed -n 's/^# /# '"$d"': /p' "$tmp/stress.$d" | head -n 20
	line=$(grep '^stress ' "$tmp/stress.$d")
	echo "# $line"
	check_eq "$d: load ended cleanly" 0 "$rc"
	ended=$(sed -n 's/.* ended=\([0-9]*\).*/\1/p' <<< "$line")
	reqs=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<< "$line")
	okn=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<< "$line")
	newok=$(sed -n 's/.* ok_new_hosts=\([0-9]*\).*/\1/p' <<< "$line")
	reopens=$(sed -n 's/.* reopens=\([0-9]*\).*/\1/p' <<< "$line")
	unexp=$(sed -n 's/.* unexpected=\([0-9]*\).*/\1/p' <<< "$line")
	check_eq "$d: all 8 threads ended" 8 "$ended"
	check_eq "$d: only errnos removal explains" 0 "$unexp"
	check "$d: $reqs requests completed ($okn good)" test "${okn:-0}" -gt 0
	check "$d: threads reopened nodes ($reopens) and got $newok good requests on hosts added during the run" \
		test "${reopens:-0}" -gt 0 -a "${newok:-0}" -gt 0
done

# --- Back to the start
for i in $(seq 1 "$extra"); do
	sysfs_write -1
done
check_eq "hosts back to those before" "$initial_hosts" "$(hosts)"
check "scsi_debug delay restored" sdebug_delay_restore "$old_delay" "$old_ndelay"
for d in $drivers; do
	if poll 30 same_state $d; then
		ok "$d: references, class devices and /proc/scsi/$d as before"
	else
		not_ok "$d: references, class devices and /proc/scsi/$d as before" \
			"$(diff "$tmp/state.$d.base" "$tmp/state.$d.now")"
	fi
done
# Freed objects may wait for RCU and workqueues a moment.
mem_delta=
if poll 10 mem_ok; then
	ok "unreclaimable slab within ${slab_slack_kb} kB of the start (${mem_delta} kB)"
else
	not_ok "unreclaimable slab within ${slab_slack_kb} kB of the start" \
		"grew by ${mem_delta} kB"
fi
if [[ " $drivers " == *" rsg "* ]]; then
	check "rmmod rsg" rmmod rsg
	check "rsg unloaded" poll 5 gone /sys/module/rsg
	check "reload rsg" load_rsg
	check "rsg nodes back" poll 10 present rsg "${initial_hosts%% *}"
fi

tap_end
