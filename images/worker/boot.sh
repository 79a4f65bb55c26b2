#!/bin/sh
# The worker container's boot, before the worker itself (docs/docker.md, "The worker's sandbox"). It
# does what an EC2 host's own root does for the worker, with the two capabilities the container is
# started with for this purpose only, then drops both for good:
#
#   1. remounts the container's cgroup v1 controllers memory, cpu, pids and freezer read-write: they
#      are the container's own cgroups (Docker mounts them read-only), under which the worker creates a
#      cgroup per sandbox;
#   2. mounts a pid-only proc (subset=pid) at /run/faas-proc: Docker hides parts of /proc (kcore, keys,
#      ...) with mounts on top, and the kernel lets a user namespace mount a new proc (bubblewrap's
#      --proc) only when a proc without such covers is visible; this one has no /proc/sys, no kcore,
#      nothing that Docker's masks hide, so the masks stay in place for everything else;
#   3. enters a new cgroup namespace, so that /proc/self/cgroup shows the container's own cgroup as `/`
#      and `/sys/fs/cgroup/<controller>/<path>` names the same cgroup it does on a host;
#   4. makes /proc/sys/user writable (below);
#   5. drops CAP_SYS_ADMIN and CAP_SETPCAP from the bounding set and runs the worker (root, with
#      CAP_SETUID, CAP_SETGID and CAP_KILL) under tini's supervision.
set -eu
say() { printf 'worker-boot: %s\n' "$*" >&2; }
for c in memory cpu pids freezer; do
  mount -o remount,bind,rw "/sys/fs/cgroup/$c" 2>/dev/null ||
    say "cannot make /sys/fs/cgroup/$c writable (the container needs CAP_SYS_ADMIN): sandboxes get no $c limit"
done
mount -t proc -o subset=pid,nosuid,nodev,noexec proc /run/faas-proc 2>/dev/null ||
  say "cannot mount a pid-only proc (needs CAP_SYS_ADMIN and Linux 5.8+): bubblewrap's --proc will fail"
# bubblewrap's --disable-userns writes the sandbox's own user-namespace limit through the /proc it
# started in, and Docker mounts /proc/sys read-only. Only /proc/sys/user is made writable: its files
# (max_*_namespaces) take writes only from CAP_SYS_RESOURCE in the namespace they belong to, which the
# worker lacks in the container's and bubblewrap has in the sandbox's.
{ mount --bind /proc/sys/user /proc/sys/user && mount -o remount,bind,rw /proc/sys/user; } 2>/dev/null ||
  say "cannot make /proc/sys/user writable: bubblewrap's --disable-userns will fail"
unshare --cgroup true 2>/dev/null && cgroupns=--cgroup || cgroupns=
# setpriv ignores a failed bounding-set drop, so check that it holds before trusting it.
case $(setpriv --bounding-set -sys_admin,-setpcap -- setpriv --dump) in *sys_admin*)
  say "cannot drop CAP_SYS_ADMIN (the container needs CAP_SETPCAP too): refusing to run the worker with it"
  exit 1 ;;
esac
exec unshare $cgroupns -- setpriv --bounding-set -sys_admin,-setpcap -- "$@"
