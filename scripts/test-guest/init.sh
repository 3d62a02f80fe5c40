#!/bin/busybox sh
# /init of the Hearth test guest: the whole userspace of the small VM that fast tests boot under
# QEMU TCG. build-test-guest.ts packs it into the initramfs with a static busybox and the kernel
# modules named, in load order, in /lib/modules/load-order.
#
# What it prints on the serial console (tests wait for these lines):
#   HEARTH-DISK boot-count=N   only with a virtio disk: how often this disk has now been booted
#   HEARTH-GUEST-READY         booted; from now on the ACPI power button powers the guest off
#   HEARTH-GUEST-POWEROFF      the power button was pressed; the disk is being unmounted
#   HEARTH-GUEST-ERROR ...     something that should have worked did not (the boot goes on)
#
# As PID 1 it boots the guest; as `/init power-button` (run by acpid) it powers the guest off.

PATH=/bin
export PATH
READY_MARKER=HEARTH-GUEST-READY
DISK=/dev/vda
DISK_MOUNT=/mnt/disk

error() {
  echo "HEARTH-GUEST-ERROR $*" >/dev/console
}

# The initramfs holds only /bin/busybox: mount /proc first (busybox --install reads
# /proc/self/exe), then create every applet link.
mount_filesystems() {
  /bin/busybox mount -t proc proc /proc
  /bin/busybox --install -s /bin
  mount -t sysfs sysfs /sys
  mount -t devtmpfs devtmpfs /dev
}

# The builder resolved dependencies and dropped what is built into the kernel, so a plain insmod in
# file order suffices (there is no modprobe, modules.dep or depmod in here).
load_modules() {
  while read -r name; do
    insmod "/lib/modules/$name.ko" || error "insmod $name failed"
  done </lib/modules/load-order
}

# The disk counts its own boots so a test can prove it persists. The write is a rename, so a crash
# never leaves a half-written counter.
count_boot() {
  [ -b "$DISK" ] || return 0
  mkdir -p "$DISK_MOUNT"
  if ! mount -t ext4 "$DISK" "$DISK_MOUNT"; then
    error "cannot mount $DISK"
    return 0
  fi
  count=$(cat "$DISK_MOUNT/boot-count" 2>/dev/null || echo 0)
  count=$((count + 1))
  echo "$count" >"$DISK_MOUNT/boot-count.new" && mv "$DISK_MOUNT/boot-count.new" "$DISK_MOUNT/boot-count"
  sync
  echo "HEARTH-DISK boot-count=$count"
}

# The /dev node of the ACPI power button's input device.
power_button_node() {
  for input in /sys/class/input/input*; do
    [ "$(cat "$input/name" 2>/dev/null)" = "Power Button" ] || continue
    for event in "$input"/event*; do
      [ -e "$event" ] && echo "/dev/input/${event##*/}" && return 0
    done
  done
  return 1
}

# Waits (at most ~5 s) until process $1 has the file $2 open.
wait_until_open() {
  tries=0
  until ls -l "/proc/$1/fd" 2>/dev/null | grep -q " -> $2\$"; do
    [ -d "/proc/$1" ] || return 1
    tries=$((tries + 1))
    [ "$tries" -le 100 ] || return 1
    sleep 0.05
  done
}

# QEMU's system_powerdown (and Cloud Hypervisor's vm.power-button) press the ACPI power button.
# The kernel's button driver reports it as KEY_POWER on an evdev node; busybox acpid reads the
# evdev nodes and runs /etc/acpi/PWRF/00000080 for KEY_POWER.
start_acpid() {
  mkdir -p /etc/acpi/PWRF /var/log
  printf '#!/bin/busybox sh\nexec /init power-button\n' >/etc/acpi/PWRF/00000080
  chmod 0755 /etc/acpi/PWRF/00000080
  if ! node=$(power_button_node); then
    error "no ACPI power button input device"
    return 0
  fi
  # Foreground, so that $! is acpid itself: a daemonizing acpid returns before it opens the evdev
  # nodes, and a press in between is lost (under TCG, one right after the ready marker always was).
  acpid -f -c /etc/acpi -l /var/log/acpid.log &
  wait_until_open "$!" "$node" || error "acpid did not open $node"
}

boot() {
  mount_filesystems
  load_modules
  ip link set lo up || error "cannot bring up lo"
  count_boot
  start_acpid
  echo "$READY_MARKER"
  # PID 1 must never exit (the kernel would panic); sleeping in the foreground also reaps orphans.
  while :; do sleep 3600; done
}

# A clean ACPI shutdown: nothing may be left unwritten on the disk before the power goes.
power_off() {
  echo "HEARTH-GUEST-POWEROFF" >/dev/console
  if grep -q " $DISK_MOUNT " /proc/mounts; then
    sync
    umount "$DISK_MOUNT" || mount -o remount,ro "$DISK_MOUNT" || error "cannot unmount $DISK_MOUNT"
  fi
  sync
  poweroff -f
}

if [ "$$" = 1 ]; then
  boot
elif [ "$1" = power-button ]; then
  power_off
else
  echo "usage: /init power-button (as PID 1, /init boots the guest)" >&2
  exit 2
fi
