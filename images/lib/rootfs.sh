# Helpers for building an image root from this host's own files, so that no image is ever pulled
# (no registry is reachable from this machine). Sourced by images/*/build-rootfs.sh; every function takes the root as $ROOT.
#
# The root is merged-/usr like Debian bookworm: /bin, /lib, /lib64 and /sbin are links into /usr, so
# a binary's ELF interpreter (/lib64/ld-linux-x86-64.so.2) and its libraries resolve as on the host.

rootfs_init() {
  mkdir -p "$ROOT"/usr/bin "$ROOT"/usr/sbin "$ROOT"/usr/lib "$ROOT"/usr/lib64 "$ROOT"/etc "$ROOT"/tmp
  chmod 1777 "$ROOT/tmp"
  ln -sfn usr/bin "$ROOT/bin"
  ln -sfn usr/sbin "$ROOT/sbin"
  ln -sfn usr/lib "$ROOT/lib"
  ln -sfn usr/lib64 "$ROOT/lib64"
  # Docker bind-mounts its own hosts and resolv.conf; glibc needs to be told to read them in order.
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$ROOT/etc/nsswitch.conf"
}

# The path a host file has under the merged-/usr layout (/lib/x -> /usr/lib/x).
usr_path() {
  case "$1" in
    /lib/* | /lib64/* | /bin/* | /sbin/*) echo "/usr$1" ;;
    *) echo "$1" ;;
  esac
}

# Copies one file (following links) to the same place in the root.
rootfs_add_file() {
  local src=$1 dest
  dest=$ROOT$(usr_path "${2:-$1}")
  mkdir -p "$(dirname "$dest")"
  cp -L --preserve=mode "$src" "$dest"
}

# Copies the shared libraries an ELF file needs (as ldd resolves them here), and its interpreter.
rootfs_add_libs() {
  local lib
  while read -r lib; do
    [ -n "$lib" ] && [ -e "$ROOT$(usr_path "$lib")" ] && continue
    [ -n "$lib" ] && rootfs_add_file "$lib"
  done < <(ldd "$1" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\/[^ ]+ \(/{print $1}')
}

# A binary and everything it links.
rootfs_add_binary() {
  rootfs_add_file "$1" "${2:-$1}"
  rootfs_add_libs "$1"
}

# /etc/passwd and /etc/group with root, nobody and the given "name:uid" service users.
rootfs_add_users() {
  local entry name uid
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\n' >"$ROOT/etc/passwd"
  printf 'root:x:0:\n' >"$ROOT/etc/group"
  for entry in "$@"; do
    name=${entry%%:*} uid=${entry##*:}
    printf '%s:x:%s:%s:%s:/tmp:/usr/sbin/nologin\n' "$name" "$uid" "$uid" "$name" >>"$ROOT/etc/passwd"
    printf '%s:x:%s:\n' "$name" "$uid" >>"$ROOT/etc/group"
  done
  printf 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >>"$ROOT/etc/passwd"
  printf 'nogroup:x:65534:\n' >>"$ROOT/etc/group"
}

# tini as PID 1: reaps zombies and forwards signals, so `docker stop` and `docker-compose down` are
# prompt. The static build needs no libraries.
rootfs_add_tini() {
  local tini=${TINI_STATIC:-/usr/bin/tini-static}
  [ -x "$tini" ] || { echo "images: $tini is missing: apt-get install -y tini" >&2; return 1; }
  rootfs_add_file "$tini" /usr/bin/tini
}
