#!/usr/bin/env bash
# A throw-away single-node Slurm cluster for the tests (docs/sweeps.md, "Testing on a real Slurm").
#
#   tests/slurm/cluster.sh start    install slurmctld/slurmd/slurm-client/munge if missing (apt-get, as root),
#                                   write slurm.conf and a munge key under $FWA_SLURM_DIR (default /tmp/fwa-slurm),
#                                   start munged, slurmctld and slurmd, wait until the node is idle, and print
#                                   `export SLURM_CONF=...` on stdout (eval "$(tests/slurm/cluster.sh start)")
#   tests/slurm/cluster.sh stop     kill exactly the daemons `start` started (by their pid files), wait until gone
#   tests/slurm/cluster.sh status   exit 0 and print `up` if the node answers idle or busy, else exit 1
#
# Everything lives in $FWA_SLURM_DIR: config, key, sockets, pid files, logs, state. One node named after
# `hostname -s` with this machine's CPUs (at least 4: a task that only waits, as the tests' stalled runs do,
# must not hold back the others), one partition `debug`, no accounting (so `sacct` fails, as on many
# small clusters), a 5 s KillWait so that scancel and time limits act quickly.
set -euo pipefail

DIR="${FWA_SLURM_DIR:-/tmp/fwa-slurm}"
CONF="$DIR/slurm.conf"
PKGS=(slurmctld slurmd slurm-client munge)
export SLURM_CONF="$CONF"

log() { echo "cluster.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

alive() {  # alive PIDFILE: the pid in it is a running process
    [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

node_state() {
    timeout 5 sinfo -h -N -o '%T' 2>/dev/null | head -1
}

status() {
    local s
    alive "$DIR/slurmctld.pid" && alive "$DIR/slurmd.pid" || return 1
    s=$(node_state) || return 1
    [[ "$s" == idle* || "$s" == mixed* || "$s" == allocated* || "$s" == completing* ]]
}

install_packages() {
    local missing=()
    for b in slurmctld slurmd sbatch munged; do
        command -v "$b" >/dev/null 2>&1 || missing+=("$b")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    [[ $(id -u) -eq 0 ]] || die "not root and ${missing[*]} missing: cannot install ${PKGS[*]}"
    command -v apt-get >/dev/null 2>&1 || die "${missing[*]} missing and no apt-get to install ${PKGS[*]}"
    log "installing ${PKGS[*]} (apt-get, about 30 s)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${PKGS[@]}" >"$DIR/apt.log" 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$DIR/apt.log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${PKGS[@]}" >>"$DIR/apt.log" 2>&1 \
            || die "apt-get install ${PKGS[*]} failed (see $DIR/apt.log)"
    fi
}

write_config() {
    local host cpus
    host=$(hostname -s)
    cpus=$(nproc)
    (( cpus < 4 )) && cpus=4
    mkdir -p "$DIR"/{munge,state,spool,log}
    chmod 700 "$DIR/munge"
    if [[ ! -s "$DIR/munge/munge.key" ]]; then
        (umask 077 && head -c 1024 /dev/urandom >"$DIR/munge/munge.key")
    fi
    cat >"$CONF.tmp" <<EOF
# written by tests/slurm/cluster.sh: a single-node test cluster
ClusterName=fwatest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket.2
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=${FWA_SLURM_PORT:-6817}
SlurmdPort=$(( ${FWA_SLURM_PORT:-6817} + 1 ))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
KillWait=5
MinJobAge=3600
InactiveLimit=0
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$CONF.tmp" "$CONF"
}

start() {
    mkdir -p "$DIR"
    if status; then
        log "already up ($CONF)"
        echo "export SLURM_CONF=$CONF"
        return 0
    fi
    install_packages
    [[ $(id -u) -eq 0 ]] || die "the test cluster runs its daemons as root; run as root"
    stop_daemons quiet
    write_config
    munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket.2" \
        --pid-file="$DIR/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed" \
        && wait_pidfile munged || start_failed "munged did not start (see $DIR/log/munged.log)"
    slurmctld -f "$CONF" -c && wait_pidfile slurmctld || start_failed "slurmctld did not start (see $DIR/log/slurmctld.log)"
    slurmd -f "$CONF" && wait_pidfile slurmd || start_failed "slurmd did not start (see $DIR/log/slurmd.log)"
    local s=""
    for _ in $(seq 1 60); do
        s=$(node_state || true)
        if [[ "$s" == idle* ]]; then
            log "up: node $(hostname -s) idle, partition debug ($CONF)"
            echo "export SLURM_CONF=$CONF"
            return 0
        fi
        sleep 0.5
    done
    start_failed "the node did not become idle within 30 s (state: ${s:-none}; logs in $DIR/log)"
}

wait_pidfile() {  # wait_pidfile NAME: a daemon writes its pid file after it forks; wait (10 s at most)
    for _ in $(seq 1 100); do
        alive "$DIR/$1.pid" && return 0
        sleep 0.1
    done
    return 1
}

start_failed() {  # a half-started cluster is stopped again: no daemon is left behind
    stop_daemons quiet
    die "$@"
}

cancel_jobs() {  # cancel every job of this cluster and wait (30 s at most) until none is left, so that no
    local ids    # job step (slurmstepd and its task) outlives the daemons
    alive "$DIR/slurmctld.pid" || return 0
    ids=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ') || return 0
    [[ -n "${ids// /}" ]] || return 0
    log "cancelling jobs still queued or running: $ids"
    # shellcheck disable=SC2086
    timeout 10 scancel $ids 2>/dev/null || true
    for _ in $(seq 1 60); do
        [[ -z "$(timeout 10 squeue -h -o %A 2>/dev/null)" ]] && return 0
        sleep 0.5
    done
    log "jobs still there after 30 s: $(timeout 10 squeue -h -o '%A %T' 2>/dev/null | tr '\n' ' ')"
}

stop_daemons() {  # stop_daemons [quiet]: SIGTERM each daemon named by a pid file, SIGKILL it after 10 s
    local name f pid
    cancel_jobs
    for name in slurmd slurmctld munged; do
        f="$DIR/$name.pid"
        [[ -s "$f" ]] || continue
        pid=$(cat "$f")
        # only a process that is that daemon (a stale pid file may name an unrelated process now)
        if kill -0 "$pid" 2>/dev/null && grep -q "$name" "/proc/$pid/comm" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            if kill -0 "$pid" 2>/dev/null; then
                kill -KILL "$pid" 2>/dev/null || true
                [[ -n "${1:-}" ]] || log "$name (pid $pid) killed after 10 s"
            fi
            [[ -n "${1:-}" ]] || log "stopped $name (pid $pid)"
        fi
        rm -f "$f"
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop_daemons ;;
    status)
        if status; then echo "up ($CONF)"; else echo "down"; exit 1; fi ;;
    *) echo "usage: $0 start|stop|status   (state in \$FWA_SLURM_DIR, default /tmp/fwa-slurm)" >&2; exit 2 ;;
esac
