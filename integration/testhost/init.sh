#!/bin/busybox sh
# PID 1 of the test host. Loads KVM and 9p, mounts the host's root read-only
# and the results share, runs results/run.sh chrooted into the host root,
# records its exit status, and powers off. Every failure powers off too, so a
# broken test host never hangs: the launcher sees no exit status and says so.
/bin/busybox --install -s /bin
export PATH=/bin

say() { echo "testhost-init: $*"; }

halt_now() {
  sync
  poweroff -f
  # poweroff -f returns only if ACPI failed; exiting PID 1 panics the kernel,
  # and panic=-1 on the command line turns that into a reset.
  exit 1
}

fail() {
  say "FAILED: $*"
  if grep -q " /results 9p " /proc/mounts 2>/dev/null; then
    echo "$*" >/results/init_error
  fi
  halt_now
}

# The initramfs has no device nodes: the console exists once devtmpfs does.
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
# Serial output without carriage returns, so the streamed console reads
# like a plain log.
stty -F /dev/console -onlcr 2>/dev/null

for module in irqbypass kvm ccp kvm-amd netfs 9pnet 9pnet_virtio 9p; do
  insmod "/lib/modules/$module.ko" || fail "insmod $module"
done

[ -e /dev/kvm ] || fail "no /dev/kvm after loading kvm-amd (does the CPU model offer SVM?)"
# KVM's static keys flip on now, once, while nothing else runs (kvm_keys.cc).
mkfifo /keys.ready
kvm_keys >/keys.ready &
keys_pid=$!
read -r keys_line </keys.ready
[ "$keys_line" = "kvm_keys: ready" ] || fail "kvm_keys: ${keys_line:-no answer}"

mkdir -p /results /hostroot
# 512000 is the most virtio transport takes (more is clamped with a warning).
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results /results \
  || fail "mount the results share (9p tag results)"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /hostroot \
  || fail "mount the host root (9p tag hostroot)"

# The host root is read-only: fresh kernel file systems and writable scratch
# space are mounted over it; the results share appears under /tmp.
root=/hostroot
mount -t proc proc $root/proc || fail "mount $root/proc"
mount -t sysfs sysfs $root/sys || fail "mount $root/sys"
mount -t devtmpfs devtmpfs $root/dev || fail "mount $root/dev"
mkdir -p $root/dev/shm $root/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $root/dev/shm || fail "mount $root/dev/shm"
mount -t devpts devpts $root/dev/pts || fail "mount $root/dev/pts"
mount -t tmpfs -o mode=1777 tmpfs $root/tmp || fail "mount $root/tmp"
mount -t tmpfs -o mode=755 tmpfs $root/run || fail "mount $root/run"
mkdir -p $root/tmp/testhost-results
mount -o bind /results $root/tmp/testhost-results || fail "bind the results share"
[ -r /results/run.sh ] || fail "no run.sh in the results share"

# A backstop for a launcher that died without destroying the domain.
deadline=$(sed -n 's/.*testhost\.deadline=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$deadline" ] || deadline=3600

say "running the command"
timeout -s KILL "$deadline" chroot $root /bin/sh /tmp/testhost-results/run.sh </dev/null
status=$?
echo "$status" >/results/exit_status.tmp && mv /results/exit_status.tmp /results/exit_status \
  || fail "record the exit status"
say "command exited with status $status"
umount $root/tmp/testhost-results
umount /results
kill "$keys_pid" 2>/dev/null
halt_now
