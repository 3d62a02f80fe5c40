#!/bin/bash
# hearth-install.sh — installs, upgrades or removes hearthd, the Hearth helper daemon.
#
# The one privileged program of Hearth's setup: the app runs it through one pkexec/sudo prompt,
# and the deb/rpm maintainer scripts run the same file. Every run is idempotent: what is already
# in place is left alone (same content, mode and owner), so running it twice changes nothing.
#
# Progress is machine-readable on stdout, one line each, between plain log lines:
#   ::step <id> <title>      a step begins
#   ::result <id> <changed|unchanged|skipped> [note]
#   ::fail <id> <message>    the step failed; the script exits 1
#
# Usage:
#   hearth-install.sh install   [--root DIR] [--user NAME] [--hearthd FILE] [--node FILE] [--cli FILE]
#                               [--version V] [--progress FILE] [--no-start]
#   hearth-install.sh uninstall [--root DIR] [--purge] [--progress FILE]
#   hearth-install.sh build-image [--root DIR] [--progress FILE]
#                               the local Debian image: runs the installed hearthd's build-image
#                               (which prints the ::step lines itself) into /var/lib/hearth, with
#                               its build cache in /var/cache/hearth/image-build
#   hearth-install.sh install-cloud-hypervisor [--root DIR] [--progress FILE] [--base-url URL]
#                    runs the installed hearthd's install-cloud-hypervisor: the pinned, digest-checked
#                    Cloud Hypervisor release and its firmware into /var/lib/hearth/vmm/ (steps
#                    download, verify-digest, firmware, install-vmm, with ::progress lines)
#
#   hearth-install.sh link-cli   [--root DIR] [--link PATH] [--progress FILE]
#   hearth-install.sh unlink-cli [--root DIR] [--link PATH] [--progress FILE]
#                    the `hearth` command on PATH: a symbolic link PATH -> /usr/lib/hearth/hearth
#                    (PATH is /usr/local/bin/hearth, the default, for the AppImage's offer, or
#                    /usr/bin/hearth for the deb and rpm maintainer scripts). link-cli never replaces
#                    a file that is not that link; unlink-cli removes only that link
#
#   --root DIR       install into DIR instead of / (scratch roots for tests and image builds):
#                    nothing outside DIR is touched and no service is started
#   --user NAME      the person to give socket access (default: whoever ran pkexec or sudo)
#   --hearthd FILE   the bundled hearthd (default: hearthd.mjs next to this script); its native
#                    module koffi.node is taken from beside it, as hearthd loads it from beside itself
#   --node FILE      the Node runtime to install for it (default: node next to this script)
#   --cli FILE       the bundled `hearth` command (default: hearth.cjs next to this script), installed
#                    as /usr/lib/hearth/hearth; a build without it (development) installs hearthd alone
#   --link PATH      link-cli/unlink-cli: /usr/local/bin/hearth (default) or /usr/bin/hearth
#   --version V      the hearthd version being installed (default: VERSION next to this script)
#   --progress FILE  also append progress lines to FILE, written with the caller's own identity
#   --no-start       install and enable, but do not start (package builds, image builds)
#   --purge          uninstall: also delete /var/lib/hearth, /etc/hearth and /var/cache/hearth
#                    (environments, images, settings, the local image build cache)
#   --base-url URL   install-cloud-hypervisor: fetch the pinned files from this mirror (digests still pinned)
set -euo pipefail
umask 022
export LC_ALL=C
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
action=${1:-}
shift || true
root=/
user=
hearthd_src=$here/hearthd.mjs
node_src=$here/node
cli_src=$here/hearth.cjs
link=/usr/local/bin/hearth
version=$(cat -- "$here/VERSION" 2>/dev/null || echo unknown)
progress=
start=1
purge=0
base_url=
while [ $# -gt 0 ]; do
  case $1 in
    --root) root=$2; shift 2 ;;
    --user) user=$2; shift 2 ;;
    --hearthd) hearthd_src=$2; shift 2 ;;
    --node) node_src=$2; shift 2 ;;
    --cli) cli_src=$2; shift 2 ;;
    --link) link=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --progress) progress=$2; shift 2 ;;
    --no-start) start=0; shift ;;
    --purge) purge=1; shift ;;
    --base-url) base_url=$2; shift 2 ;;
    *) echo "hearth-install.sh: unknown option $1" >&2; exit 64 ;;
  esac
done
case $action in install | uninstall | build-image | install-cloud-hypervisor | link-cli | unlink-cli) ;; *)
  echo "usage: hearth-install.sh install|uninstall|build-image|install-cloud-hypervisor|link-cli|unlink-cli [options] (see the header of this file)" >&2
  exit 64 ;;
esac
# The only places the command's link may go: a constant, never a path from the caller.
case $link in /usr/local/bin/hearth | /usr/bin/hearth) ;; *)
  echo "hearth-install.sh: --link must be /usr/local/bin/hearth or /usr/bin/hearth" >&2
  exit 64 ;;
esac
[ "$(id -u)" = 0 ] || { echo "hearth-install.sh must run as root (the app asks with pkexec or sudo)" >&2; exit 77; }
root=$(cd -- "$root" && pwd)
koffi_src=$(dirname -- "$hearthd_src")/koffi.node
live=1
[ "$root" = / ] || live=0
R=${root%/}  # prefix for every path we touch: "" on a real install

LIB=/usr/lib/hearth
UNIT=/etc/systemd/system/hearthd.service
WANTS=/etc/systemd/system/multi-user.target.wants/hearthd.service
SYSUSERS=/etc/sysusers.d/hearth.conf
TMPFILES=/etc/tmpfiles.d/hearth.conf
RUNDIR=/run/hearth
SOCKET=$RUNDIR/hearthd.sock
STATE=$LIB/installed.env
# The `hearth` command: the bundle (its first line is #!/usr/lib/hearth/node), run through links on PATH.
CLI=$LIB/hearth
CLI_SHEBANG='#!/usr/lib/hearth/node'
# Parents we may have to create; uninstall removes the ones this install created (deepest first).
OWN_DIRS="/etc/systemd/system/multi-user.target.wants /etc/systemd/system /etc/systemd /etc/sysusers.d /etc/tmpfiles.d /usr/lib /run"

# ---------------------------------------------------------------------------------------------
# Progress: everything this script and the tools it runs print goes to stdout and, with
# --progress FILE, is also appended to FILE by a writer that runs as the *caller*
# (PKEXEC_UID/SUDO_UID), so a path the caller chose can never make root write anywhere.
progress_pids=()
if [ -n "$progress" ]; then
  caller_uid=${PKEXEC_UID:-${SUDO_UID:-0}}
  caller_gid=$(id -g "$caller_uid" 2>/dev/null || echo "$caller_uid")
  if [ "$caller_uid" = 0 ]; then
    exec 3>>"$progress"
  else
    exec 3> >(exec setpriv --reuid="$caller_uid" --regid="$caller_gid" --clear-groups -- tee -a -- "$progress" >/dev/null)
    progress_pids+=($!)
  fi
  exec 4>&1
  exec 1> >(exec tee /dev/fd/3 >&4) 2>&1
  progress_pids+=($!)
fi
say() { printf '%s\n' "$*"; }
current=
step() { current=$1; shift; say "::step $current $*"; }
result() { say "::result $current $*"; current=; }
fail() { say "::fail ${current:-setup} $*"; current=; exit 1; }
finish() {
  local rc=$?
  [ $rc = 0 ] || [ -z "$current" ] || say "::fail $current command failed (exit $rc): $BASH_COMMAND"
  # Let the progress writers drain before the caller reads the file for the last time.
  if [ ${#progress_pids[@]} -gt 0 ]; then
    exec 1>&- 2>&- 3>&-
    wait "${progress_pids[@]}" 2>/dev/null || true
  fi
  exit $rc
}
trap finish EXIT

# ---------------------------------------------------------------------------------------------
# Helpers
changed=0
mark() { changed=1; }

# put SRC DEST MODE: root-owned copy, replaced atomically, only when content/mode/owner differ.
put() {
  local src=$1 dest=$R$2 mode=$3
  if [ -f "$dest" ] && [ ! -L "$dest" ] && cmp -s -- "$src" "$dest" &&
    [ "$(stat -c '%a %u %g' -- "$dest")" = "$(printf '%o' "$((8#$mode))") 0 0" ]; then
    return 0
  fi
  install -d -m 0755 -o 0 -g 0 -- "$(dirname -- "$dest")"
  install -m "$mode" -o 0 -g 0 -- "$src" "$dest.hearth-new"
  mv -f -- "$dest.hearth-new" "$dest"
  say "  wrote $2 (mode $mode)"
  mark
}

# Refuse to install below a directory someone other than root could change.
check_root_owned() {
  local dir=$R$1
  while [ "$dir" != "${R:-/}" ] && [ -n "$dir" ] && [ "$dir" != / ]; do
    if [ -e "$dir" ]; then
      local owner perm
      owner=$(stat -c '%u' -- "$dir")
      perm=$(stat -c '%a' -- "$dir")
      [ "$owner" = 0 ] || fail "$dir is not owned by root (uid $owner); refusing to install hearthd below it"
      (((8#$perm & 8#022) == 0)) || fail "$dir is writable by group or others (mode $perm); refusing to install hearthd below it"
    fi
    dir=$(dirname -- "$dir")
  done
}

has_group() { grep -q "^$1:" "$R/etc/group" 2>/dev/null; }
has_user() { grep -q "^$1:" "$R/etc/passwd" 2>/dev/null; }
in_group() { grep -E -q "^$1:[^:]*:[^:]*:(.*,)?$2(,.*)?\$" "$R/etc/group"; }
uid_of() {
  if [ $live = 1 ]; then id -u -- "$1"; else awk -F: -v u="$1" '$1 == u { print $3 }' "$R/etc/passwd"; fi
}
root_args() { [ $live = 1 ] || printf '%s\n' "$@"; }

# remove_tree PATH: rm -rf one of the trees this script owns, below the root. R is "" on a real
# install, so the guard is on PATH itself: only these absolute constants, never an empty or
# relative path, and never the root itself.
remove_tree() {
  case $1 in
    "$LIB" | "$RUNDIR" | /var/lib/hearth | /etc/hearth | /var/cache/hearth) ;;
    *) fail "refusing to delete $1: not one of the directories hearthd owns" ;;
  esac
  case $R in "" | /?*) ;; *) fail "refusing to delete below the root '$R'" ;; esac
  [ "$R$1" != / ] || fail "refusing to delete /"
  rm -rf -- "$R$1"
}

# vmm_pids UID: live processes whose real or effective uid is UID, read from /proc (procps, and so
# pgrep, is not on a minimal Debian). Zombies are skipped: they are gone but for their parent's wait.
vmm_pids() {
  local status line uid_line state
  for status in /proc/[0-9]*/status; do
    uid_line= state=
    while IFS= read -r line; do
      case $line in
        State:*) state=${line#State:} ;;
        Uid:*) uid_line=${line#Uid:}; break ;;
      esac
    done 2>/dev/null <"$status" || continue
    case $state in *Z*) continue ;; esac
    read -r ruid euid _ <<<"$uid_line" || continue
    if [ "$ruid" = "$1" ] || [ "$euid" = "$1" ]; then
      status=${status#/proc/}
      printf '%s\n' "${status%/status}"
    fi
  done
}

# signal_vmms SIGNAL UID: sends SIGNAL to every VMM process; fails when there was none.
signal_vmms() {
  local pids
  pids=$(vmm_pids "$2")
  [ -n "$pids" ] || return 1
  # shellcheck disable=SC2086 # one pid a word
  kill "-$1" $pids 2>/dev/null || true
}

# is_cli_link PATH: PATH (below the root) is this script's link to the command, and nothing else.
is_cli_link() { [ -L "$R$1" ] && [ "$(readlink -- "$R$1")" = "$CLI" ]; }

# ---------------------------------------------------------------------------------------------
do_install() {
  step preflight "Check this machine"
  [ -f "$hearthd_src" ] || fail "hearthd bundle not found at $hearthd_src"
  [ -f "$koffi_src" ] || fail "hearthd's native module not found at $koffi_src (it ships next to hearthd.mjs)"
  [ -x "$node_src" ] || fail "Node runtime not found (or not executable) at $node_src"
  if [ -f "$cli_src" ]; then
    # The command runs on the runtime installed here, by its first line: any other would run on
    # whatever node a PATH lookup finds, or nothing.
    [ "$(head -n 1 -- "$cli_src")" = "$CLI_SHEBANG" ] ||
      fail "the hearth command at $cli_src does not start with $CLI_SHEBANG"
  else
    say "  no hearth command in this build ($cli_src): installing hearthd alone"
  fi
  "$node_src" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
    fail "the Node runtime at $node_src is older than 20.19"
  for tool in install cmp stat setfacl; do command -v "$tool" >/dev/null || fail "$tool is missing (package: coreutils / acl)"; done
  if [ $live = 1 ]; then
    command -v systemctl >/dev/null || fail "systemctl not found: hearthd needs systemd"
    [ -d /run/systemd/system ] || fail "systemd is not running on this machine: hearthd needs it"
  fi
  check_root_owned "$LIB"
  if [ -z "$user" ]; then
    if [ -n "${PKEXEC_UID:-}" ] && [ "$PKEXEC_UID" != 0 ]; then user=$(id -nu "$PKEXEC_UID"); fi
    if [ -z "$user" ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then user=$SUDO_USER; fi
  fi
  say "  root: $root; hearthd $version; user: ${user:-(none)}"
  result unchanged

  # Directories this install creates, so uninstall removes exactly them (kept from a previous run).
  created_dirs=
  if [ -f "$R$STATE" ]; then
    created_dirs=$(sed -n 's/^HEARTH_CREATED_DIRS=//p' "$R$STATE")
  else
    for d in $OWN_DIRS; do [ -e "$R$d" ] || created_dirs="$created_dirs $d"; done
    created_dirs=${created_dirs# }
  fi

  step users "Create the hearth group and the hearth-vmm and hearth-git users"
  local before after kvm_existed=0
  has_group kvm && kvm_existed=1
  [ -f "$R$STATE" ] && grep -q '^HEARTH_CREATED_KVM=1' "$R$STATE" && kvm_existed=0
  changed=0
  put "$here/hearth-sysusers.conf" "$SYSUSERS" 0644
  # systemd-sysusers rewrites temporary files in /etc even when nothing is missing: only call it
  # when something is, so a second run leaves /etc untouched.
  if ! has_group hearth || ! has_user hearth-vmm || ! has_user hearth-git || ! in_group kvm hearth-vmm; then
    before=$(cat "$R/etc/passwd" "$R/etc/group" 2>/dev/null | md5sum)
    systemd-sysusers $(root_args "--root=$root") "$R$SYSUSERS"
    after=$(cat "$R/etc/passwd" "$R/etc/group" 2>/dev/null | md5sum)
    [ "$before" = "$after" ] || mark
  fi
  created_kvm=$((1 - kvm_existed))
  [ $changed = 1 ] && result changed || result unchanged

  step files "Install hearthd into $LIB"
  changed=0
  check_root_owned "$LIB"
  install -d -m 0755 -o 0 -g 0 -- "$R$LIB"
  put "$node_src" "$LIB/node" 0755
  put "$hearthd_src" "$LIB/hearthd.mjs" 0644
  put "$koffi_src" "$LIB/koffi.node" 0644
  [ ! -f "$cli_src" ] || put "$cli_src" "$CLI" 0755
  # Builds before koffi shipped sockopt.node; nothing loads it any more.
  if [ -e "$R$LIB/sockopt.node" ]; then rm -f -- "$R$LIB/sockopt.node"; mark; fi
  local tmp
  tmp=$(mktemp)
  printf 'HEARTH_VERSION=%s\nHEARTH_CREATED_KVM=%s\nHEARTH_CREATED_DIRS=%s\n' "$version" "$created_kvm" "$created_dirs" >"$tmp"
  put "$tmp" "$STATE" 0644
  rm -f -- "$tmp"
  files_changed=$changed
  [ $changed = 1 ] && result changed || result unchanged

  step unit "Install the hearthd systemd unit"
  changed=0
  put "$here/hearthd.service" "$UNIT" 0644
  put "$here/hearth-tmpfiles.conf" "$TMPFILES" 0644
  unit_changed=$changed
  [ $changed = 1 ] && result changed || result unchanged

  step runtime "Create $RUNDIR"
  changed=0
  [ -d "$R$RUNDIR" ] || mark
  systemd-tmpfiles $(root_args "--root=$root") --create "$R$TMPFILES"
  [ $changed = 1 ] && result changed || result unchanged

  step access "Give ${user:-the invoking user} access to hearthd"
  changed=0
  if [ -z "$user" ]; then
    result skipped "no invoking user; run: sudo gpasswd -a \$USER hearth"
  else
    has_user "$user" || [ $live = 1 ] || fail "user $user does not exist in $root"
    if ! in_group hearth "$user"; then
      gpasswd $(root_args -Q "$root") -a "$user" hearth >/dev/null
      say "  added $user to group hearth (takes effect at next login)"
      mark
    fi
    # Until that next login, an ACL lets the user in now: on the directory, inherited by the
    # socket hearthd creates there (also after restarts), and on a socket that already exists.
    local uid acl
    uid=$(uid_of "$user")
    [ -n "$uid" ] || fail "cannot resolve the uid of $user"
    # A file created below a default ACL takes its group entry from the default group:: entry,
    # and that entry (r-x, from the directory's 0750) would cap the socket's group at r--: the
    # hearth group could no longer connect. Default group rwx leaves the group to the file's
    # mode (0660 for the socket), as without an ACL.
    acl=$(getfacl -n -c -- "$R$RUNDIR" 2>/dev/null || true)
    if ! grep -qx "user:$uid:r-x" <<<"$acl" || ! grep -qx "default:user:$uid:rw-" <<<"$acl" ||
      ! grep -qx "default:group::rwx" <<<"$acl"; then
      setfacl -m "u:$uid:rx,d:u:$uid:rw,d:g::rwx" -- "$R$RUNDIR"
      mark
    fi
    # A socket made under the old default ACL has group::r-x; repair it along with the user entry.
    acl=$(getfacl -n -c -- "$R$SOCKET" 2>/dev/null || true)
    if [ -S "$R$SOCKET" ] && { ! grep -qE "^user:$uid:rw[-x](\s+#effective:rw-)?$" <<<"$acl" ||
      ! grep -qE "^group::rw[-x](\s+#effective:rw-)?$" <<<"$acl"; }; then
      setfacl -m "u:$uid:rw,g::rw,m::rw" -- "$R$SOCKET"
      mark
    fi
    [ $changed = 1 ] && result changed || result unchanged
  fi

  step service "Enable and start hearthd"
  changed=0
  if [ $live = 1 ]; then
    [ $unit_changed = 1 ] && systemctl daemon-reload
    systemctl is-enabled --quiet hearthd.service 2>/dev/null || { systemctl enable --quiet hearthd.service; mark; }
    if [ $start = 0 ]; then
      :
    elif ! systemctl is-active --quiet hearthd.service; then
      systemctl start hearthd.service
      mark
    elif [ $files_changed = 1 ] || [ $unit_changed = 1 ]; then
      # An upgrade: environments keep running (KillMode=process); hearthd reattaches to them.
      systemctl restart hearthd.service
      say "  restarted hearthd to run the new version"
      mark
    fi
  elif [ ! -L "$R$WANTS" ]; then
    systemctl --root="$root" enable --quiet hearthd.service 2>/dev/null ||
      { install -d -m 0755 -- "$(dirname -- "$R$WANTS")" && ln -s "$UNIT" "$R$WANTS"; }
    mark
  fi
  if [ $live = 0 ]; then
    [ $changed = 1 ] && result changed "enabled; not started (--root)" || result unchanged "enabled; not started (--root)"
  else
    [ $changed = 1 ] && result changed || result unchanged
  fi

  step socket "Wait for hearthd to answer"
  if [ $live = 0 ] || [ $start = 0 ]; then
    result skipped "not started (--root or --no-start)"
  else
    local i
    for i in $(seq 1 60); do
      if [ -S "$SOCKET" ] && "$R$LIB/node" -e 'require("net").connect(process.argv[1]).on("connect",()=>process.exit(0)).on("error",()=>process.exit(1))' "$SOCKET"; then
        say "  hearthd answers on $SOCKET"
        result unchanged
        return 0
      fi
      sleep 0.5
    done
    fail "hearthd did not open $SOCKET within 30 s; see: journalctl -u hearthd"
  fi
}

# ---------------------------------------------------------------------------------------------
do_uninstall() {
  local created_kvm=0 created_dirs=
  [ -f "$R$STATE" ] && grep -q '^HEARTH_CREATED_KVM=1' "$R$STATE" && created_kvm=1
  [ -f "$R$STATE" ] && created_dirs=$(sed -n 's/^HEARTH_CREATED_DIRS=//p' "$R$STATE")

  step stop "Stop hearthd and its environments"
  if [ $live = 1 ]; then
    changed=0
    if systemctl is-active --quiet hearthd.service 2>/dev/null; then systemctl stop hearthd.service; mark; fi
    # VMMs outlive hearthd by design (KillMode=process); they all run as hearth-vmm.
    local vmm_uid
    vmm_uid=$(has_user hearth-vmm && uid_of hearth-vmm || true)
    if [ -n "$vmm_uid" ] && signal_vmms TERM "$vmm_uid"; then
      for _ in $(seq 1 20); do [ -n "$(vmm_pids "$vmm_uid")" ] || break; sleep 0.5; done
      if signal_vmms KILL "$vmm_uid"; then
        for _ in $(seq 1 10); do [ -n "$(vmm_pids "$vmm_uid")" ] || break; sleep 0.2; done
      fi
      say "  stopped the environments' VMM processes"
      mark
    fi
    [ $changed = 1 ] && result changed || result unchanged
  else
    result skipped "--root: nothing runs"
  fi

  step network "Remove Hearth's network devices and firewall rules"
  if [ $live = 1 ]; then
    changed=0
    # hearthd's dnsmasqs (the DHCP server and each owner's DNS answerer) outlive it like the VMs
    # do; only processes that are dnsmasq and read Hearth's files, as hearthd finds its own.
    local proc
    for proc in /proc/[0-9]*; do
      [ "$(cat "$proc/comm" 2>/dev/null)" = dnsmasq ] || continue
      tr '\0' '\n' <"$proc/cmdline" 2>/dev/null |
        grep -q -e "^--dhcp-hostsfile=$RUNDIR/dnsmasq/" -e "^--addn-hosts=$RUNDIR/dnsmasq/" || continue
      kill "${proc#/proc/}" 2>/dev/null && mark
    done
    if command -v ip >/dev/null; then
      local tap
      for tap in $(ip -o link show | sed -n 's/^[0-9]*: \(hth[0-9a-f]\{12\}\)[@:].*/\1/p'); do
        ip link delete "$tap"
        mark
      done
      if ip link show hearth0 >/dev/null 2>&1; then ip link delete hearth0; mark; fi
    fi
    if command -v nft >/dev/null; then
      local table
      for table in 'inet hearth' 'bridge hearth'; do
        # shellcheck disable=SC2086 # "family name", split on purpose
        if nft list table $table >/dev/null 2>&1; then nft delete table $table; mark; fi
      done
    fi
    # Forwarding as it was before hearthd turned it on (the file exists only while hearthd held it).
    if [ -f "$RUNDIR/network/ip-forward" ]; then
      [ "$(cat "$RUNDIR/network/ip-forward")" = 1 ] || echo 0 >/proc/sys/net/ipv4/ip_forward
      rm -f -- "$RUNDIR/network/ip-forward"
      mark
    fi
    [ $changed = 1 ] && result changed || result unchanged
  else
    result skipped "--root: the host's network is not ours to change"
  fi

  step service "Disable and remove the hearthd unit"
  changed=0
  if [ $live = 1 ] && systemctl is-enabled --quiet hearthd.service 2>/dev/null; then
    systemctl disable --quiet hearthd.service
    mark
  fi
  for f in "$WANTS" "$UNIT" "$TMPFILES"; do
    if [ -e "$R$f" ] || [ -L "$R$f" ]; then rm -f -- "$R$f"; mark; fi
  done
  [ $live = 1 ] && [ $changed = 1 ] && systemctl daemon-reload
  [ $changed = 1 ] && result changed || result unchanged

  step files "Remove hearthd and its runtime directory"
  changed=0
  if [ -e "$R$LIB" ]; then remove_tree "$LIB"; mark; fi
  # The AppImage's link would point at nothing now. /usr/bin/hearth is the package's: its
  # maintainer scripts remove it with the package, and a reinstalled helper makes it work again.
  if is_cli_link /usr/local/bin/hearth; then rm -f -- "$R/usr/local/bin/hearth"; mark; fi
  if [ -e "$R$RUNDIR" ]; then remove_tree "$RUNDIR"; mark; fi
  [ $changed = 1 ] && result changed || result unchanged

  step users "Remove the hearth group and the hearth-vmm and hearth-git users"
  changed=0
  if has_user hearth-vmm; then userdel $(root_args -R "$root") hearth-vmm; mark; fi
  if has_group hearth-vmm; then groupdel $(root_args -R "$root") hearth-vmm; mark; fi
  if has_user hearth-git; then userdel $(root_args -R "$root") hearth-git; mark; fi
  if has_group hearth-git; then groupdel $(root_args -R "$root") hearth-git; mark; fi
  if has_group hearth; then groupdel $(root_args -R "$root") hearth; mark; fi
  if [ $created_kvm = 1 ] && has_group kvm; then groupdel $(root_args -R "$root") kvm; mark; fi
  if [ -e "$R$SYSUSERS" ]; then rm -f -- "$R$SYSUSERS"; mark; fi
  for d in $created_dirs; do rmdir -- "$R$d" 2>/dev/null || true; done
  [ $changed = 1 ] && result changed || result unchanged

  step data "$([ $purge = 1 ] && echo 'Delete' || echo 'Keep') environments, images and settings"
  if [ $purge = 1 ]; then
    changed=0
    for d in /var/lib/hearth /etc/hearth /var/cache/hearth; do
      if [ -e "$R$d" ]; then remove_tree "$d"; mark; fi
    done
    [ $changed = 1 ] && result changed || result unchanged
  else
    result skipped "kept /var/lib/hearth and /etc/hearth"
  fi
}

# ---------------------------------------------------------------------------------------------
# build-image: debootstrap needs chroot, mount and mknod, which hearthd's unit rightly forbids,
# so the build runs here, as root and outside the sandbox, under this script's one prompt. The
# installed hearthd does the work and prints the steps (bootstrap, packages, agent, disk, import)
# in this script's protocol itself; its exit status is ours.
do_build_image() {
  current=bootstrap
  [ -x "$R$LIB/node" ] && [ -f "$R$LIB/hearthd.mjs" ] || fail "hearthd is not installed in $LIB: install it first"
  check_root_owned "$LIB/hearthd.mjs"
  current=
  "$R$LIB/node" "$R$LIB/hearthd.mjs" build-image --state-dir "$R/var/lib/hearth" --cache-dir "$R/var/cache/hearth/image-build"
}

# The pinned Cloud Hypervisor release: hearthd itself downloads, verifies and installs it and
# prints the steps (vmm/install); this only runs the installed hearthd as root, outside its unit.
do_install_cloud_hypervisor() {
  [ -x "$R$LIB/node" ] && [ -f "$R$LIB/hearthd.mjs" ] ||
    { say "::fail download hearthd is not installed in $LIB; install it first"; exit 1; }
  local args=(install-cloud-hypervisor --state-dir "$R/var/lib/hearth")
  [ -z "$base_url" ] || args+=(--base-url "$base_url")
  "$R$LIB/node" "$R$LIB/hearthd.mjs" "${args[@]}"
}

# ---------------------------------------------------------------------------------------------
# link-cli / unlink-cli: the command on PATH, as a link to the installed file, so an upgrade of
# the helper upgrades the command too. A file of someone else's at that path is never replaced.
do_link_cli() {
  step link "Link $link to the hearth command"
  if is_cli_link "$link"; then
    result unchanged "$link -> $CLI"
    return 0
  fi
  if [ -e "$R$link" ] || [ -L "$R$link" ]; then
    local what
    what=$([ -L "$R$link" ] && echo "a link to $(readlink -- "$R$link")" || stat -c '%F' -- "$R$link")
    fail "$link already exists ($what) and is not Hearth's: refusing to replace it"
  fi
  check_root_owned "$(dirname -- "$link")"
  install -d -m 0755 -o 0 -g 0 -- "$(dirname -- "$R$link")"
  ln -sfn -- "$CLI" "$R$link.hearth-new"
  mv -Tf -- "$R$link.hearth-new" "$R$link"
  say "  linked $link -> $CLI"
  if [ -f "$R$CLI" ]; then
    result changed "$link -> $CLI"
  else
    result changed "$link -> $CLI (not installed yet: installing the helper installs it)"
  fi
}

do_unlink_cli() {
  step unlink "Remove the $link link"
  if is_cli_link "$link"; then
    rm -f -- "$R$link"
    result changed "removed $link"
  elif [ -e "$R$link" ] || [ -L "$R$link" ]; then
    result skipped "$link is not Hearth's link; left alone"
  else
    result unchanged "no $link"
  fi
}

case $action in
  install) do_install ;;
  link-cli) do_link_cli ;;
  unlink-cli) do_unlink_cli ;;
  uninstall) do_uninstall ;;
  build-image) do_build_image ;;
  install-cloud-hypervisor) do_install_cloud_hypervisor ;;
esac
say "::done $action"
