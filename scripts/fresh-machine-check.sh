#!/usr/bin/env bash
# Runs the README's two commands as a new user would: on a bare Debian 12 (bookworm) root made with
# `debootstrap --variant=minbase` plus only build-essential, cmake, git and ca-certificates.
#
#   sudo scripts/fresh-machine-check.sh            # prints "make demo: ok|FAILED" and "make test: ok|FAILED"
#   sudo scripts/fresh-machine-check.sh --new-root # rebuild the cached bare root first
#
# The bare root is built once and kept as a tarball (ROTOR_FRESH_CACHE, default
# ${XDG_CACHE_HOME:-~/.cache}/rotor/fresh-machine); every run unpacks a new copy of it, so whatever
# `make` installs there is gone the next time. The repository is cloned (its committed state, HEAD)
# into /work/main inside the root, with ../shared copied beside it as /work/shared, as on the machines
# CI runs on. Logs: demo.log and test.log in the work folder (ROTOR_FRESH_WORK, default the cache
# folder's run/), which is left in place for reading. Needs root (debootstrap, chroot, mounts) and
# Debian's mirror; installs debootstrap on the host if it is missing.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$repo/../shared" 2>/dev/null && pwd || true)
cache=${ROTOR_FRESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rotor/fresh-machine}
work=${ROTOR_FRESH_WORK:-$cache/run}
mirror=${ROTOR_FRESH_MIRROR:-http://deb.debian.org/debian}
tarball=$cache/bookworm-minbase.tar

die() { echo "fresh-machine-check: error: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and bind mounts); run it with sudo"
[ -n "$shared" ] || die "no ../shared beside the repository ($repo/../shared)"
[ "${1:-}" = "--new-root" ] && rm -f "$tarball"
[ $# -le 1 ] && { [ $# -eq 0 ] || [ "$1" = "--new-root" ]; } || die "usage: $0 [--new-root]"

mkdir -p "$cache"
if [ ! -f "$tarball" ]; then
  command -v debootstrap >/dev/null || {
    echo "fresh-machine-check: installing debootstrap on the host"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
  }
  build=$cache/root.building
  rm -rf "$build"
  echo "fresh-machine-check: building a bare Debian 12 root (debootstrap minbase) in $build"
  debootstrap --variant=minbase --include=build-essential,cmake,git,ca-certificates bookworm "$build" "$mirror" \
    >"$cache/debootstrap.log" 2>&1 || die "debootstrap failed; see $cache/debootstrap.log"
  tar -C "$build" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -rf "$build"
fi

root=$work/root
cleanup() {
  for m in dev/pts dev proc sys; do mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"; done
  return 0
}
trap cleanup EXIT
cleanup
rm -rf "$work" && mkdir -p "$root"
tar -C "$root" -xf "$tarball"
cp /etc/resolv.conf "$root/etc/resolv.conf"
for m in proc sys dev dev/pts; do mount --bind "/$m" "$root/$m"; done

mkdir -p "$root/work"
git clone -q --no-local "$repo" "$root/work/main"
cp -a "$shared" "$root/work/shared"

run() {  # run NAME COMMAND: inside the root, as root, with a clean environment; prints ok/FAILED
  local name=$1 cmd=$2 started=$SECONDS
  if chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      LANG=C.UTF-8 TERM=dumb bash -c "cd /work/main && $cmd" >"$work/$name.log" 2>&1; then
    echo "$cmd: ok ($((SECONDS - started)) s)"
  else
    echo "$cmd: FAILED ($((SECONDS - started)) s; last lines of $work/$name.log follow)"
    tail -n 15 "$work/$name.log" | sed 's/^/    /'
    return 1
  fi
}

status=0
run demo "make demo" || status=1
run test "make test" || status=1
exit $status
