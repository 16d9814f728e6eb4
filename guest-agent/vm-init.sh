#!/bin/busybox sh
# PID 1 of a switchyard guest VM (the qemu, vfkit and krunkit drivers): sets
# the machine up, runs the agent, and powers off when it ends. Settings come
# from the kernel command line as sy_* environment variables (the driver's
# GuestKernelCmdline): sy_hostname, sy_agent_args (|-separated), sy_shares
# (tag:path,…), sy_translators (names under /etc/switchyard/binfmt),
# sy_data_disk (default /dev/vda; krunkit's boot disk comes first). With
# sy_settings=disk (the EFI disk's entry) they come from a settings disk.

# runc cannot pivot_root out of the initramfs (rootfs): move everything to a
# tmpfs and make that the root, so containers get pivot_root's isolation.
if [ ! -e /.root-is-tmpfs ]; then
  /bin/busybox mkdir -p /newroot
  /bin/busybox mount -t tmpfs -o mode=0755 guestroot /newroot
  for entry in /*; do
    case "$entry" in /newroot | /proc | /sys | /dev) ;; *) /bin/busybox cp -a "$entry" /newroot/ ;; esac
  done
  /bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev
  /bin/busybox touch /newroot/.root-is-tmpfs
  exec /bin/busybox switch_root /newroot /init
fi
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "switchyard-init: $*" > /dev/console; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup

while read -r module; do
  insmod "/lib/modules/$module" 2>/dev/null || say "module $module not loaded"
done < /lib/modules/load-order

# Booted from the EFI disk (krunkit), whose one entry serves every VM: this
# VM's settings are on the small disk its driver wrote (GuestSettingsDisk),
# found by its first line.
if [ "$sy_settings" = disk ]; then
  for dev in /dev/vd?; do
    [ "$(dd if="$dev" bs=21 count=1 2>/dev/null)" = "#switchyard-settings" ] || continue
    dd if="$dev" bs=4096 count=1 2>/dev/null | tr -d '\000' > /run/settings
    while IFS= read -r line; do
      case "$line" in
        sy_hostname=* | sy_agent_args=* | sy_shares=* | sy_translators=* | sy_data_disk=*) export "$line" ;;
      esac
    done < /run/settings
    say "settings from $dev"
    break
  done
  [ -n "$sy_agent_args" ] || say "no settings disk found"
fi

hostname "${sy_hostname:-switchyard}"
ip link set lo up
# The address comes by DHCP, which every network the drivers use serves:
# QEMU's user networking, vfkit's NAT (vmnet) and gvproxy or passt under
# krunkit. udhcpc stays to renew the lease.
cat > /run/udhcpc.script <<'SCRIPT'
#!/bin/busybox sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound | renew)
    # A renewal of the same address changes nothing: connections stay.
    if ! ip addr show dev "$interface" | grep -q " $ip/"; then
      ip addr flush dev "$interface"
      ip addr add "$ip/${mask:-24}" dev "$interface"
    fi
    for gateway in $router; do ip route replace default via "$gateway" dev "$interface"; break; done
    : > /etc/resolv.conf
    for server in $dns; do echo "nameserver $server" >> /etc/resolv.conf; done
    ;;
esac
SCRIPT
chmod 0755 /run/udhcpc.script
ip link set eth0 up
# Without -f it goes to the background once bound; -n: fail when no answer.
if ! udhcpc -i eth0 -s /run/udhcpc.script -t 5 -T 1 -n >/dev/null 2>&1; then
  # QEMU user networking's fixed plan: the host is 10.0.2.2, its DNS 10.0.2.3.
  say "no DHCP answer on eth0: using 10.0.2.15"
  ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2
  echo "nameserver 10.0.2.3" > /etc/resolv.conf
fi

# The data disk keeps dockerd's images, containers and volumes across boots.
# Formatted only when it holds no ext4 (magic 0xEF53 at byte 1080), so a
# mount that fails for another reason never wipes it.
disk=${sy_data_disk:-/dev/vda}
magic=$(dd if="$disk" bs=1 skip=1080 count=2 2>/dev/null | od -An -tx1 | tr -d ' \n')
if [ "$magic" != "53ef" ]; then
  say "formatting the data disk"
  /usr/sbin/mke2fs -q -t ext4 -L switchyard-data "$disk" || say "cannot format $disk"
fi
mount -t ext4 "$disk" /var/lib/switchyard || say "cannot mount the data disk: running on memory"

# Host directories at the same paths, so `-v /host/dir:/x` works.
for share in $(echo "$sy_shares" | tr ',' ' '); do
  tag=${share%%:*}
  path=${share#*:}
  mkdir -p "$path"
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 "$tag" "$path" 2>/dev/null ||
    mount -t virtiofs "$tag" "$path" || say "cannot mount share $tag at $path"
done

mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
for name in $(echo "$sy_translators" | tr ',' ' '); do
  # vfkit's Rosetta device is a virtio-fs share holding the translator.
  if [ "$name" = rosetta ]; then
    mkdir -p /mnt/rosetta
    mount -t virtiofs rosetta /mnt/rosetta || say "cannot mount the Rosetta share"
  fi
  cat "/etc/switchyard/binfmt/$name" > /proc/sys/fs/binfmt_misc/register || say "translator $name not registered"
done

IFS='|'
set -- $sy_agent_args
unset IFS
say "starting the agent"
/usr/bin/switchyard-agent "$@" &
agent=$!
# Signals to PID 1 go to the agent: it stops dockerd and its containers.
trap 'kill -TERM $agent' TERM INT
while kill -0 "$agent" 2>/dev/null; do wait "$agent"; done
say "agent ended: powering off"
sync
umount /var/lib/switchyard 2>/dev/null
poweroff -f
