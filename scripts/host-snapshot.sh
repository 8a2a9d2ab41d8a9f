#!/usr/bin/env bash
# What a podns test could leak on the host, one line per object, sorted: nsfs mounts, /run/netns
# entries, interfaces, nft rules (counters stripped), podns/slirp4netns/pasta processes that run.
{
  awk '/ - nsfs /{print "mount " $5}' /proc/self/mountinfo
  ls /run/netns 2>/dev/null | sed 's/^/netns /'
  ls /sys/class/net | sed 's/^/link /'
  command -v nft >/dev/null && nft list ruleset 2>/dev/null | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/; s/^/nft /'
  # A pod rm's closer (podns-close) lives for one RCU grace period after the command returned:
  # give it time, then list it like any other helper that stayed. Zombies are left out: an exited
  # helper reparented to init holds nothing, and reaping it is init's work.
  for _ in $(seq 100); do
    ps -eo stat=,comm= | awk '$1 !~ /^Z/ && $2 == "podns-close" {found=1} END {exit !found}' || break
    sleep 0.05
  done
  ps -eo pid=,stat=,comm= | awk '$2 !~ /^Z/ && $3 ~ /^(podns|podns-pidns|slirp4netns|pasta|passt)/ {print "proc " $1 " " $3}'
} | sort
