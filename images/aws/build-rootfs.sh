#!/usr/bin/env bash
# The AWS emulator: moto server on this host's CPython (pyenv 3.11.7 with moto 5.2.1 here, or
# $FAAS_MOTO_PYTHON), relocated to /opt/python with only the standard library and the packages moto
# server needs (images/aws/select-packages.py). No debootstrap, no pip, no network.
set -euo pipefail
ROOT=$1
# shellcheck source=../lib/rootfs.sh
source "$(dirname "$0")/../lib/rootfs.sh"
PY=${FAAS_MOTO_PYTHON:-$(readlink -f "$(command -v moto_server | xargs head -1 | sed 's/^#!//')" 2>/dev/null || true)}
if [ -z "$PY" ] || ! "$PY" -c 'import moto.server' 2>/dev/null; then
  PY=$(pyenv which python 2>/dev/null || command -v python3)
fi
"$PY" -c 'import moto.server, packaging' || { echo "images: no Python with moto here: pip install 'moto[server]'" >&2; exit 1; }
PREFIX=$("$PY" -c 'import sys; print(sys.base_prefix)')
VER=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
STDLIB=$PREFIX/lib/python$VER

rootfs_init
rootfs_add_tini
rootfs_add_users moto:10003
dest=$ROOT/opt/python
mkdir -p "$dest/bin" "$dest/lib/python$VER/site-packages"
rootfs_add_binary "$(readlink -f "$PY")" "/opt/python/bin/python$VER"
ln -s "python$VER" "$dest/bin/python3"
for so in "$PREFIX"/lib/libpython*.so*; do [ -f "$so" ] && cp -a "$so" "$dest/lib/"; done
# The standard library without tests, GUI, REPL helpers and the static library in config-*.
tar -C "$STDLIB" -cf - \
  --exclude=./site-packages --exclude=./test --exclude=./idlelib --exclude=./tkinter \
  --exclude=./turtledemo --exclude=./ensurepip --exclude=./lib2to3 --exclude='./config-*' \
  --exclude='./lib-dynload/_test*' --exclude='./lib-dynload/_tkinter*' --exclude='./lib-dynload/_curses*' \
  --exclude='./lib-dynload/readline*' --exclude='./lib-dynload/nis*' --exclude='./lib-dynload/xx*' \
  --exclude='./lib-dynload/_ctypes_test*' --exclude='./lib-dynload/_xxtestfuzz*' . \
  | tar -C "$dest/lib/python$VER" -xf -
"$PY" "$(dirname "$0")/select-packages.py" "$SITE" \
  | tar -C "$SITE" -cf - --no-recursion --ignore-failed-read -T - 2>/dev/null \
  | tar -C "$dest/lib/python$VER/site-packages" -xf -
while IFS= read -r -d '' so; do rootfs_add_libs "$so"; done \
  < <(find "$dest/lib" -name '*.so*' -type f -print0)
