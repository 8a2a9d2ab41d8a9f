// The two drivers behind start_rootless_net(), and what they share: where a pod's helper keeps
// its files, and the wait for readiness with a deadline.
#pragma once

#include <string>
#include <vector>

#include "podns/rootless/driver.hpp"

namespace podns::rootless::detail {

// Files of pod `name`'s helper in run_dir; the suffixes let gc() recognise them.
struct HelperFiles {
  std::string api_socket;  // slirp4netns
  std::string pid_file;    // pasta
  std::string log;
};
HelperFiles helper_files(DriverKind kind, const std::string& run_dir, const std::string& name);
inline constexpr const char* kSlirpSocketSuffix = ".slirp4netns.sock";
inline constexpr const char* kSlirpLogSuffix = ".slirp4netns.log";
inline constexpr const char* kPastaPidSuffix = ".pasta.pid";
inline constexpr const char* kPastaLogSuffix = ".pasta.log";

// What slirp4netns --help says it supports (podman probes the same way).
struct SlirpFeatures {
  bool sandbox = false;             // --enable-sandbox
  bool seccomp = false;             // --enable-seccomp
  bool netns_type = false;          // --netns-type=path (since 0.4)
  bool userns_path = false;         // --userns-path
  bool disable_host_loopback = false;
  bool mtu = false;
  bool may_sandbox = false;         // we hold CAP_SYS_ADMIN, which the sandbox needs
};
Result<SlirpFeatures> probe_slirp4netns(const std::string& binary);

std::vector<std::string> slirp4netns_argv(const std::string& binary, const RootlessNetRequest& req,
                                          const SlirpFeatures& features, const std::string& api_socket,
                                          int ready_fd, int exit_fd);
std::vector<std::string> pasta_argv(const std::string& binary, const RootlessNetRequest& req,
                                    const std::string& pid_file);

Result<RootlessNet> start_slirp4netns(const RootlessNetRequest& req);
Result<RootlessNet> start_pasta(const RootlessNetRequest& req);

// Checks both drivers share: name, netns path, run dir, ports (privileged, duplicates).
Status validate_request(const RootlessNetRequest& req);

// When a helper could not publish a port: say "already in use" if binding it ourselves says so.
std::string diagnose_port(const PortForward& f);

}  // namespace podns::rootless::detail
