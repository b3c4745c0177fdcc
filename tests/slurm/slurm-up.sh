#!/usr/bin/env bash
# slurm-up.sh - single-node SLURM cluster for the tests on Debian bookworm, as root,
# without systemd. Idempotent: daemons already running are left alone (they are
# restarted only if the generated config changed); missing pieces are started.
#
# Env knobs:
#   PREFIX      config/state/logs/pids (default /tmp/slurm-ci)
#   FAKE_GPUS   fake GPUs advertised as gres/gpu (default 1; 0 = none)
#   ACCOUNTING  slurmdbd (default: MariaDB + slurmdbd, so `sacct` works)
#               none     (no database; snakemake needs --slurm-status-command squeue)
# Afterwards:   export SLURM_CONF=$PREFIX/etc/slurm.conf   (optional, see below)
# Tear down:    bash $PREFIX/slurm-down.sh                  (kills by recorded PID)
set -euo pipefail

PREFIX=${PREFIX:-/tmp/slurm-ci}
FAKE_GPUS=${FAKE_GPUS:-1}
ACCOUNTING=${ACCOUNTING:-slurmdbd}
NODE=localhost
PARTITION=debug
export SLURM_CONF=$PREFIX/etc/slurm.conf
RUN=$PREFIX/run
t0=$(date +%s.%N)

log() { printf '[slurm-up] %s\n' "$*"; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop_pid() {  # stop one of our daemons by its recorded PID
  if alive "$1"; then
    local p; p=$(cat "$1"); kill "$p"
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$1"
}
wait_for() {  # wait_for SECONDS CMD... : poll until CMD succeeds
  local n=$(( $1 * 5 )); shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}

# ---- 1. packages (no-op when already installed) -----------------------------
pkgs=(slurmctld slurmd slurm-client munge)
[ "$ACCOUNTING" = slurmdbd ] && pkgs+=(slurmdbd mariadb-server)
need=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p "$PREFIX"/{etc,state/ctld,state/d,log} "$RUN"

# ---- 2. munge ---------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
  mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "munged already running"
else
  log "starting munged"
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  wait_for 10 sh -c 'munge -n | unmunge'
  cp /run/munge/munged.pid "$RUN/munged.pid"   # recorded only if we started it
fi

# ---- 3. config --------------------------------------------------------------
# This machine's real topology and memory, as slurmd sees it.
hw=$(SLURM_CONF=/dev/null slurmd -C 2>/dev/null | head -1 | sed -e 's/^NodeName=[^ ]* //')
mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
hw=$(sed "s/RealMemory=[0-9]*/RealMemory=$(( mem - 256 ))/" <<<"$hw")  # headroom: never "Low RealMemory"

gres_node=""; gres_types=""
: > "$PREFIX/etc/gres.conf.new"
if [ "$FAKE_GPUS" -gt 0 ]; then
  # slurmd 22.05 drops a file-less GPU ("Name=gpu Count=1": "Removing file-less
  # GPU gpu:(null) from final GRES list"), so give each fake GPU a device file:
  # a char device with /dev/null's numbers, or a plain file where mknod is not
  # allowed (slurmd then logs "not a valid character or block device" but counts it).
  mkdir -p "$PREFIX/dev"
  for i in $(seq 0 $(( FAKE_GPUS - 1 ))); do
    f=$PREFIX/dev/fakegpu$i
    [ -e "$f" ] || mknod -m 666 "$f" c 1 3 2>/dev/null || touch "$f"
    echo "NodeName=$NODE Name=gpu File=$f" >> "$PREFIX/etc/gres.conf.new"
  done
  gres_node="Gres=gpu:$FAKE_GPUS"; gres_types="GresTypes=gpu"
fi

if [ "$ACCOUNTING" = slurmdbd ]; then
  acct="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux"
else
  acct="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
fi

cat > "$PREFIX/etc/slurm.conf.new" <<EOF
ClusterName=ci
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$PREFIX/state/ctld
SlurmdSpoolDir=$PREFIX/state/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$PREFIX/log/slurmctld.log
SlurmdLogFile=$PREFIX/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
JobCompType=jobcomp/none
$acct
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=1,sched_min_interval=100000
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
ReturnToService=2
# Finished jobs stay visible to squeue for MinJobAge s; snakemake's slurm plugin
# trusts squeue only if MinJobAge >= 3 * --slurm-init-seconds-before-status-checks.
MinJobAge=600
$gres_types
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE $hw $gres_node State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

cat > "$PREFIX/etc/slurmdbd.conf.new" <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
PidFile=$RUN/slurmdbd.pid
LogFile=$PREFIX/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=3306
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
chmod 600 "$PREFIX/etc/slurmdbd.conf.new"

changed=0
for f in slurm.conf gres.conf slurmdbd.conf; do
  if cmp -s "$PREFIX/etc/$f.new" "$PREFIX/etc/$f"; then rm -f "$PREFIX/etc/$f.new"
  else mv "$PREFIX/etc/$f.new" "$PREFIX/etc/$f"; changed=1; fi
done

# snakemake-executor-plugin-slurm-jobstep drops every SLURM_* variable except
# a few job ids (SLURM_CONF included) before its nested `srun`, so inside a
# job srun only finds the config at the compiled-in path. Link it there
# (never overwriting a real, non-link /etc/slurm/slurm.conf).
mkdir -p /etc/slurm
if [ -L /etc/slurm/slurm.conf ] || [ ! -e /etc/slurm/slurm.conf ]; then
  ln -sfn "$SLURM_CONF" /etc/slurm/slurm.conf
else
  log "WARNING: /etc/slurm/slurm.conf is a real file; srun inside snakemake jobs will use it"
fi

if [ $changed = 1 ] && { alive "$RUN/slurmd.pid" || alive "$RUN/slurmctld.pid" || alive "$RUN/slurmdbd.pid"; }; then
  log "config changed: restarting slurm daemons"
  stop_pid "$RUN/slurmd.pid"; stop_pid "$RUN/slurmctld.pid"; stop_pid "$RUN/slurmdbd.pid"
fi

# ---- 4. accounting database (ACCOUNTING=slurmdbd) ----------------------------
if [ "$ACCOUNTING" = slurmdbd ]; then
  DB=$PREFIX/mysql SOCK=$RUN/mysqld.sock
  if [ ! -d "$DB/mysql" ]; then
    log "initialising MariaDB in $DB"
    mariadb-install-db --no-defaults --user=root --datadir="$DB" --skip-test-db \
      --auth-root-authentication-method=socket > "$PREFIX/log/mariadb-install.log" 2>&1
  fi
  if alive "$RUN/mariadbd.pid"; then
    log "mariadbd already running (pid $(cat "$RUN/mariadbd.pid"))"
  else
    log "starting mariadbd (127.0.0.1:3306)"
    setsid mariadbd --no-defaults --user=root --datadir="$DB" --socket="$SOCK" \
      --port=3306 --bind-address=127.0.0.1 --pid-file="$RUN/mariadbd.pid" \
      --log-error="$PREFIX/log/mariadbd.log" --innodb-buffer-pool-size=64M \
      </dev/null >/dev/null 2>&1 &
    wait_for 60 mariadb --no-defaults -S "$SOCK" -u root -e 'select 1' \
      || { tail -20 "$PREFIX/log/mariadbd.log"; exit 1; }
  fi
  mariadb --no-defaults -S "$SOCK" -u root -e "
    CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
    CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
  if alive "$RUN/slurmdbd.pid"; then
    log "slurmdbd already running (pid $(cat "$RUN/slurmdbd.pid"))"
  else
    log "starting slurmdbd"
    slurmdbd   # reads slurmdbd.conf next to $SLURM_CONF
    wait_for 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/6819" \
      || { tail -20 "$PREFIX/log/slurmdbd.log"; exit 1; }
  fi
fi

# ---- 5. slurmctld + slurmd --------------------------------------------------
if alive "$RUN/slurmctld.pid"; then
  log "slurmctld already running (pid $(cat "$RUN/slurmctld.pid"))"
else
  log "starting slurmctld"
  slurmctld -f "$SLURM_CONF"
fi
wait_for 30 sh -c "scontrol ping | grep -q 'is UP'" || { tail -20 "$PREFIX/log/slurmctld.log"; exit 1; }

if alive "$RUN/slurmd.pid"; then
  log "slurmd already running (pid $(cat "$RUN/slurmd.pid"))"
else
  log "starting slurmd"
  slurmd -f "$SLURM_CONF" -N "$NODE"   # -N: the node is "localhost" whatever the hostname
fi
st=""
for i in $(seq 150); do
  st=$(sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -1)
  case "$st" in idle|mixed|allocated|completing) break;; esac
  # drained by an earlier bad registration: put it back in service
  case "$st" in drain*|down*) [ $(( i % 10 )) = 5 ] && scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true;; esac
  sleep 0.2
done
case "$st" in
  idle|mixed|allocated|completing) ;;
  *) log "node not usable (state '$st')"; scontrol show node "$NODE" | grep -E 'State|Reason'
     tail -20 "$PREFIX/log/slurmd.log"; exit 1;;
esac

# ---- 6. teardown script -----------------------------------------------------
cat > "$PREFIX/slurm-down.sh" <<EOF
#!/usr/bin/env bash
# Stops what slurm-up.sh started, by recorded PID only.
for d in slurmd slurmctld slurmdbd mariadbd munged; do
  f=$RUN/\$d.pid
  if [ -s "\$f" ] && kill -0 "\$(cat "\$f")" 2>/dev/null; then
    pid=\$(cat "\$f"); kill "\$pid"
    for _ in \$(seq 100); do kill -0 "\$pid" 2>/dev/null || break; sleep 0.1; done
    echo "stopped \$d (pid \$pid)"
  fi
  rm -f "\$f"
done
[ "\$(readlink /etc/slurm/slurm.conf)" = "$SLURM_CONF" ] && rm -f /etc/slurm/slurm.conf
true
EOF
chmod +x "$PREFIX/slurm-down.sh"

pids=""
for d in munged mariadbd slurmdbd slurmctld slurmd; do
  [ -s "$RUN/$d.pid" ] && pids+="$d=$(cat "$RUN/$d.pid") "
done
log "cluster up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s (accounting: $ACCOUNTING)"
log "PIDs: $pids"
sinfo -o '%P %a %D %t %c %m %G'
cat <<EOF
Use it:     export SLURM_CONF=$SLURM_CONF   (also linked from /etc/slurm/slurm.conf)
Tear down:  bash $PREFIX/slurm-down.sh
EOF
