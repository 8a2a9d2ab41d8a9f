#include "podns/namespace_type.hpp"

#include <sched.h>

#include <array>
#include <string>

#include <fmt/format.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace podns {
namespace {

// The one table. Order is the join order: user first (it grants the rights to join the rest),
// mnt late (setns into it resets root and cwd), time last (applies to children only).
constexpr std::array<NamespaceInfo, 8> kTable{{
    {NamespaceType::user, "user", "user", "user", CLONE_NEWUSER, "user"},
    {NamespaceType::pid, "pid", "pid", "pid_for_children", CLONE_NEWPID, "pid"},
    {NamespaceType::uts, "uts", "uts", "uts", CLONE_NEWUTS, "uts"},
    {NamespaceType::ipc, "ipc", "ipc", "ipc", CLONE_NEWIPC, "ipc"},
    {NamespaceType::net, "net", "net", "net", CLONE_NEWNET, "network"},
    {NamespaceType::cgroup, "cgroup", "cgroup", "cgroup", CLONE_NEWCGROUP, "cgroup"},
    {NamespaceType::mnt, "mnt", "mnt", "mnt", CLONE_NEWNS, "mount"},
    {NamespaceType::time, "time", "time", "time_for_children", CLONE_NEWTIME, "time"},
}};

constexpr std::array<int, 8> index_by_type() {
  std::array<int, 8> idx{};
  for (int i = 0; i < 8; ++i) idx[static_cast<int>(kTable[i].type)] = i;
  return idx;
}
constexpr auto kIndex = index_by_type();

}  // namespace

const NamespaceInfo& namespace_info(NamespaceType type) noexcept { return kTable[kIndex[static_cast<int>(type)]]; }

std::span<const NamespaceInfo> all_namespaces() noexcept { return kTable; }

Result<NamespaceType> parse_namespace_type(std::string_view name) {
  for (const auto& info : kTable)
    if (name == info.name || name == info.oci_name) return info.type;
  std::string known;
  for (const auto& info : kTable) known += (known.empty() ? "" : ", ") + std::string(info.name);
  return fail(Errc::invalid_argument, fmt::format("namespace type \"{}\": unknown (one of {})", name, known));
}

Result<NamespaceType> namespace_type_from_clone_flag(int clone_flag) {
  for (const auto& info : kTable)
    if (info.clone_flag == clone_flag) return info.type;
  return fail(Errc::unsupported, fmt::format("namespace type with CLONE flag {:#x}", clone_flag));
}

}  // namespace podns
