#!/usr/bin/env bash
# A one-node Slurm cluster on this host, for tests: munged (as user munge),
# slurmctld and slurmd, every file under one directory, on ports of its own,
# so that it neither needs nor touches /etc/slurm or a site's daemons.
#
#   tests/slurm/local_cluster.sh start DIR   # prints `export SLURM_CONF=...`
#   tests/slurm/local_cluster.sh stop DIR    # stops what start started, by PID
#
# start exits 77 (the "skipped" status of the test) when Slurm or MUNGE is not
# installed or cannot run here; stop is safe to call any number of times.
set -uo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$2
skip() { echo "local_cluster.sh: SKIP: $*" >&2; exit 77; }
fail() { echo "local_cluster.sh: $*" >&2; exit 1; }

stop_cluster() {
  # Stop the Slurm daemons first: they talk to munged until they exit.
  local name pid
  for name in slurmd slurmctld munged; do
    [ -f "$dir/$name.pid" ] || continue
    pid=$(cat "$dir/$name.pid" 2>/dev/null) || continue
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || { rm -f "$dir/$name.pid"; continue; }
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    rm -f "$dir/$name.pid"
  done
  # Job steps whose slurmstepd outlived slurmd would keep ranks running.
  pkill -KILL -f "slurmstepd.*$dir" 2>/dev/null
  return 0
}

# A free TCP port pair for slurmctld and slurmd, in the range Linux does not
# hand out to outgoing connections.
free_port_pair() {
  local port
  for port in $(shuf -i 20000-30000 -n 50); do
    if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null &&
       ! (exec 3<>/dev/tcp/127.0.0.1/$((port + 1))) 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

start_cluster() {
  local tool
  for tool in munged mungekey slurmctld slurmd sbatch srun scontrol sinfo; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
      skip "$tool is not installed (Debian/Ubuntu: apt-get install slurm-wlm)"
  done
  export PATH="$PATH:/usr/sbin"
  [ "$(id -u)" -eq 0 ] || skip "the daemons need root (slurmd starts jobs as their users)"
  id munge >/dev/null 2>&1 || skip "no user 'munge' (installed by the munge package)"

  mkdir -p "$dir" || fail "cannot create $dir"
  dir=$(cd "$dir" && pwd)
  stop_cluster
  rm -rf "$dir/munge" "$dir/state" "$dir/spool"
  mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
  # munged refuses keys that others could read and sockets that others
  # could replace or not reach.
  chmod 0755 "$dir"
  chown munge:munge "$dir/munge"
  chmod 0755 "$dir/munge"  # the socket must be reachable by every user
  runuser -u munge -- mungekey --create --keyfile="$dir/munge/munge.key" ||
    fail "mungekey failed"
  runuser -u munge -- munged --socket="$dir/munge/munge.socket" \
    --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" ||
    fail "munged did not start: $(tail -3 "$dir/munge/munged.log" 2>/dev/null)"
  cp "$dir/munge/munged.pid" "$dir/munged.pid"

  local host port cpus
  host=$(hostname -s)
  port=$(free_port_pair) || fail "no free TCP port pair in 20000-30000"
  # Not nproc: it follows OMP_NUM_THREADS, which tests set to 1.
  cpus=$(getconf _NPROCESSORS_ONLN)
  cat >"$dir/slurm.conf" <<CONF
# One-node test cluster written by tests/slurm/local_cluster.sh.
ClusterName=rsotest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
JobRequeue=1
ReturnToService=2
SchedulerType=sched/builtin
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# The test's jobs are short: notice the signal and the exit quickly.
KillWait=10
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start: $(tail -5 "$dir/slurmctld.log" 2>/dev/null)"
  wait_for 30 slurmctld scontrol ping ||
    fail "slurmctld does not answer: $(tail -5 "$dir/slurmctld.log" 2>/dev/null)"
  slurmd -f "$SLURM_CONF" || fail "slurmd did not start: $(tail -5 "$dir/slurmd.log" 2>/dev/null)"
  node_idle() { sinfo -h -N -o '%t' | grep -q '^idle'; }
  wait_for 60 "node idle" node_idle ||
    fail "node $host did not become idle: $(sinfo -N 2>&1 | tail -2); $(tail -5 "$dir/slurmd.log" 2>/dev/null)"
  echo "export SLURM_CONF=$SLURM_CONF"
}

case "$action" in
  start) start_cluster ;;
  stop) stop_cluster ;;
  *) usage ;;
esac
