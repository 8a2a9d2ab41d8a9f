#!/usr/bin/env bash
# What a podns test could leak on the host, one line per object, sorted: nsfs mounts, /run/netns
# entries, interfaces, nft rules (counters stripped), podns/slirp4netns/pasta processes.
{
  awk '/ - nsfs /{print "mount " $5}' /proc/self/mountinfo
  ls /run/netns 2>/dev/null | sed 's/^/netns /'
  ls /sys/class/net | sed 's/^/link /'
  command -v nft >/dev/null && nft list ruleset 2>/dev/null | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/; s/^/nft /'
  ps -eo pid=,comm= | awk '$2 ~ /^(podns|podns-pidns|slirp4netns|pasta|passt)/ {print "proc " $1 " " $2}'
} | sort
