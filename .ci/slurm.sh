#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for tests/test_slurm.py (CI).
#
#   bash .ci/slurm.sh start   install Debian's slurm and munge if missing, write a
#                             slurm.conf for this machine, start munged, slurmctld
#                             and slurmd (as root), wait until the node is idle
#   bash .ci/slurm.sh stop    stop those daemons
#
# Everything (configuration, munge key and socket, state, spool, logs) lives in
# $COMMITTEE_SLURM_DIR (default /tmp/committee-slurm).  The one change outside
# it: /etc/slurm/slurm.conf becomes a symbolic link to our slurm.conf (only if
# no other slurm.conf is there; `stop` removes it), because the executor
# plugin's job step strips SLURM_CONF from the environment of the `srun` it
# runs inside each job, and srun then looks only at the default path.
# No accounting database: `sacct` does not work, the plugin must poll `squeue`.
#
# `start` writes $COMMITTEE_SLURM_DIR/env (shell syntax), read by `stop` and the test:
#   SLURM_CONF  SLURM_PARTITION  SLURM_NODE_CPUS  SLURM_NODE_MEM_MB
#   MUNGED_PID  SLURMCTLD_PID  SLURMD_PID
set -euo pipefail

DIR=${COMMITTEE_SLURM_DIR:-/tmp/committee-slurm}
ENV_FILE=$DIR/env
CONF=$DIR/slurm.conf
DEFAULT_CONF=/etc/slurm/slurm.conf
PARTITION=ci
TIMEOUT=${COMMITTEE_SLURM_TIMEOUT:-60}   # seconds to wait for each daemon and the node

say() { echo "slurm.sh: $*" >&2; }
die() { say "$*"; exit 1; }

install_packages() {
    local missing=() pkg
    for pkg in slurmctld slurmd slurm-client munge; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "apt-get not found: cannot install ${missing[*]}"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # the package lists may be missing or stale on a fresh machine: update on failure
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$DIR/apt.log" 2>&1; then
        apt-get update -qq >>"$DIR/apt.log" 2>&1 || true
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$DIR/apt.log" 2>&1 \
            || { tail -n 20 "$DIR/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
    fi
}

# a PID of ours: alive and running the named daemon (a stale state file from an
# earlier boot must not make us kill whatever process now has that PID)
ours() { [ -n "${1:-}" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }

stop() {
    [ -f "$ENV_FILE" ] || { say "not running (no $ENV_FILE)"; return 0; }
    local SLURMD_PID="" SLURMCTLD_PID="" MUNGED_PID=""
    # shellcheck disable=SC1090
    . "$ENV_FILE"
    local daemons=("$SLURMD_PID slurmd" "$SLURMCTLD_PID slurmctld" "$MUNGED_PID munged") entry
    for entry in "${daemons[@]}"; do
        set -- $entry
        [ $# -eq 2 ] && ours "$1" "$2" && kill "$1" 2>/dev/null || true
    done
    for _ in $(seq 50); do   # up to 5 s for a clean exit, then SIGKILL
        local left=0
        for entry in "${daemons[@]}"; do
            set -- $entry
            [ $# -eq 2 ] && ours "$1" "$2" && left=1
        done
        [ $left -eq 0 ] && break
        sleep 0.1
    done
    for entry in "${daemons[@]}"; do
        set -- $entry
        [ $# -eq 2 ] && ours "$1" "$2" && kill -9 "$1" 2>/dev/null || true
    done
    if [ -L "$DEFAULT_CONF" ] && [ "$(readlink "$DEFAULT_CONF")" = "$CONF" ]; then
        rm -f "$DEFAULT_CONF"
    fi
    rm -f "$ENV_FILE"
    say "stopped"
}

# start a daemon that forks, wait for its PID file, record the PID in the state file
launch() {   # name, pid file, log file, command...
    local name=$1 pidfile=$2 log=$3
    shift 3
    rm -f "$pidfile"
    "$@" || { tail -n 10 "$log" >&2 2>/dev/null; die "$name failed to start (log: $log)"; }
    for _ in $(seq $((TIMEOUT * 10))); do
        if [ -s "$pidfile" ] && ours "$(cat "$pidfile")" "$name"; then
            echo "$(echo "$name" | tr '[:lower:]' '[:upper:]')_PID=$(cat "$pidfile")" >>"$ENV_FILE"
            return 0
        fi
        sleep 0.1
    done
    tail -n 10 "$log" >&2 2>/dev/null || true
    die "$name did not start within ${TIMEOUT}s (log: $log)"
}

start() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (daemons, apt-get)"
    [ -f "$ENV_FILE" ] && stop
    mkdir -p "$DIR"
    install_packages

    # munge: a key of our own; the socket in a directory everyone may traverse
    mkdir -p "$DIR/munge" "$DIR/run" "$DIR/state" "$DIR/spool" "$DIR/log"
    chmod 700 "$DIR/munge"
    chmod 755 "$DIR" "$DIR/run"
    [ -s "$DIR/munge/munge.key" ] || mungekey --create --keyfile="$DIR/munge/munge.key"
    chmod 600 "$DIR/munge/munge.key"
    local socket=$DIR/run/munge.socket

    # one node: this machine, its CPUs, its memory less a margin for the system
    # and the Snakemake that submits (a job asking for more than the node has is
    # refused by sbatch at once instead of pending for ever)
    local host cpus mem_mb margin
    host=$(hostname -s)
    cpus=$(nproc)
    mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
    margin=$((mem_mb / 10 > 1024 ? mem_mb / 10 : 1024))
    mem_mb=$((mem_mb - margin))
    [ "$mem_mb" -ge 1024 ] || die "too little memory for a node (${mem_mb} MB after the margin)"

    cat >"$CONF" <<EOF
# written by .ci/slurm.sh: a one-node cluster for CI
ClusterName=committee-ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
# finished jobs stay visible to squeue for 300 s: the plugin's status polls need
# that (and use squeue only if MinJobAge >= 3 x their first interval)
MinJobAge=300
# a job asking for more than the partition or the node has is refused at submission
EnforcePartLimits=ALL
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
    cat >"$ENV_FILE" <<EOF
SLURM_CONF=$CONF
SLURM_PARTITION=$PARTITION
SLURM_NODE_CPUS=$cpus
SLURM_NODE_MEM_MB=$mem_mb
EOF
    export SLURM_CONF=$CONF
    # ours to (re)place: none there, or a link left dangling by an earlier start
    if [ ! -e "$DEFAULT_CONF" ] || [ "$(readlink "$DEFAULT_CONF")" = "$CONF" ]; then
        mkdir -p "$(dirname "$DEFAULT_CONF")"
        ln -sfn "$CONF" "$DEFAULT_CONF"
    else
        say "warning: $DEFAULT_CONF is not ours: srun inside jobs will read it, not $CONF"
    fi

    # from here on, a failure stops what did start
    trap 'status=$?; [ $status -ne 0 ] && stop; exit $status' EXIT
    rm -f "$socket"
    launch munged "$DIR/run/munged.pid" "$DIR/log/munged.log" \
        munged --key-file="$DIR/munge/munge.key" --socket="$socket" \
        --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" \
        --seed-file="$DIR/munge/munged.seed"
    # -c: a clean state, no jobs or node state from an earlier start
    launch slurmctld "$DIR/run/slurmctld.pid" "$DIR/log/slurmctld.log" slurmctld -f "$CONF" -c
    launch slurmd "$DIR/run/slurmd.pid" "$DIR/log/slurmd.log" slurmd -f "$CONF"

    local state=""
    for _ in $(seq $((TIMEOUT * 2))); do
        state=$(sinfo -h -n "$host" -o %t 2>/dev/null | head -n 1 || true)
        [ "$state" = "idle" ] && break
        case $state in down*|drain*) scontrol update NodeName="$host" State=RESUME 2>/dev/null || true ;; esac
        sleep 0.5
    done
    if [ "$state" != "idle" ]; then
        tail -n 10 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
        die "node $host not idle after ${TIMEOUT}s (sinfo state: '${state:-none}')"
    fi
    trap - EXIT
    say "running: node $host ($cpus CPUs, $mem_mb MB), partition $PARTITION, SLURM_CONF=$CONF"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) die "usage: $0 start|stop" ;;
esac
