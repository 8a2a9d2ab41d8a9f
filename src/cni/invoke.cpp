// Plugin invocation: lookup in CNI_PATH, the CNI_* environment, and turning a plugin's exit into a
// result or an error that names the plugin, the verb and the CNI error code.
#include "podns/cni/invoke.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "podns/cni/config.hpp"
#include "podns/cni/types.hpp"
#include "podns/json_dump.hpp"
#include "podns/json_parse.hpp"

extern char** environ;

namespace podns::cni {
namespace {

using nlohmann::json;

constexpr const char* kCniVars[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"};

// Plugin text in an error message: one line, bounded, printable.
std::string clean(std::string_view s, std::size_t max = 400) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    if (c == '\n' || c == '\t') out += ' ';
    else if (std::isprint(c) || c >= 0x80) out += static_cast<char>(c);
    else out += '?';
  }
  return out;
}

// The spec's error object. Returns nullopt when `text` is not one.
std::optional<std::string> describe_error_object(std::string_view text) {
  auto j = parse_json(text, {.max_bytes = 1u << 20});
  if (!j || !j->is_object()) return std::nullopt;
  auto code = j->find("code");
  auto msg = j->find("msg");
  if (code == j->end() || !code->is_number_integer()) return std::nullopt;
  long long c = code->get<long long>();
  std::string out = fmt::format("CNI error {}", c);
  if (auto name = cni_error_name(static_cast<int>(c)); !name.empty() && c == static_cast<int>(c))
    out += fmt::format(" ({})", name);
  if (msg != j->end() && msg->is_string()) out += ": " + clean(msg->get<std::string>());
  if (auto d = j->find("details"); d != j->end() && d->is_string() && !d->get<std::string>().empty())
    out += ": " + clean(d->get<std::string>());
  return out;
}

std::string join_args(const std::vector<std::pair<std::string, std::string>>& args) {
  std::string s;
  for (auto& [k, v] : args) {
    if (!s.empty()) s += ';';
    s += k + "=" + v;
  }
  return s;
}

}  // namespace

std::vector<std::string> default_plugin_dirs() { return {"/opt/cni/bin", "/usr/lib/cni"}; }

std::vector<std::string> plugin_dirs_from_environment() {
  const char* cni_path = std::getenv("CNI_PATH");
  return cni_path && *cni_path ? split_path_list(cni_path) : default_plugin_dirs();
}

std::vector<std::string> split_path_list(std::string_view value) {
  std::vector<std::string> out;
  while (!value.empty()) {
    auto c = value.find(':');
    std::string_view part = value.substr(0, c);
    if (!part.empty()) out.emplace_back(part);
    if (c == std::string_view::npos) break;
    value.remove_prefix(c + 1);
  }
  return out;
}

std::string_view cni_error_name(int code) {
  switch (code) {
    case 1: return "incompatible CNI version";
    case 2: return "unsupported field in network configuration";
    case 3: return "container unknown or does not exist";
    case 4: return "invalid necessary environment variables";
    case 5: return "I/O failure";
    case 6: return "failed to decode content";
    case 7: return "invalid network config";
    case 11: return "try again later";
    case 50: return "plugin not available";
    case 51: return "plugin not available, existing containers may have limited connectivity";
    default: return {};
  }
}

Result<std::string> find_plugin(std::string_view type, const std::vector<std::string>& dirs) {
  if (auto st = validate_plugin_type(type); !st) return std::unexpected(st.error());
  if (dirs.empty()) return fail(Errc::not_found, fmt::format("plugin \"{}\": CNI_PATH is empty", type));
  for (auto& d : dirs) {
    std::string path = d + "/" + std::string(type);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
    if (!S_ISREG(st.st_mode))
      return fail(Errc::invalid_argument, fmt::format("plugin \"{}\": {} is not a regular file", type, path));
    if (::access(path.c_str(), X_OK) != 0)
      return fail(Errc::invalid_argument, fmt::format("plugin \"{}\": {} is not executable", type, path));
    return path;
  }
  return fail(Errc::not_found, fmt::format("plugin \"{}\" in CNI_PATH {}", type, fmt::join(dirs, ":")));
}

std::vector<std::string> plugin_environment(const PluginCall& call) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv = *e;
    bool ours = std::any_of(std::begin(kCniVars), std::end(kCniVars), [&](const char* v) {
      return kv.starts_with(v) && kv.size() > std::strlen(v) && kv[std::strlen(v)] == '=';
    });
    if (!ours) env.emplace_back(kv);
  }
  env.push_back("CNI_COMMAND=" + call.command);
  env.push_back("CNI_CONTAINERID=" + call.container_id);
  env.push_back("CNI_NETNS=" + call.netns);
  env.push_back("CNI_IFNAME=" + call.ifname);
  env.push_back("CNI_ARGS=" + join_args(call.args));
  env.push_back(fmt::format("CNI_PATH={}", fmt::join(call.plugin_dirs, ":")));
  return env;
}

Result<std::string> invoke_plugin(PluginExec& exec, std::string_view type, const std::string& path,
                                  const PluginCall& call, const json& config, std::chrono::milliseconds deadline) {
  const std::string who = fmt::format("plugin {} ({})", type, call.command);
  ExecRequest req;
  req.path = path;
  req.env = plugin_environment(call);
  req.input = json_dump(config);
  req.deadline = deadline;
  auto out = exec.run(req);
  if (!out) return fail_with(out, who);
  if (out->timed_out)
    return fail(Errc::timed_out, fmt::format("{}: no answer within {} ms; killed its process group", who,
                                             deadline.count()));
  if (out->exit_code == 0 && out->signal == 0) return std::move(out->out);
  // The error object belongs on stdout; some plugins print it (or plain text) on stderr instead.
  std::string why;
  if (auto e = describe_error_object(out->out)) why = *e;
  else if (auto e2 = describe_error_object(out->err)) why = *e2;
  else if (!clean(out->out).empty()) why = "unparseable error output: " + clean(out->out);
  else if (!clean(out->err).empty()) why = clean(out->err);
  if (out->signal)
    return fail(Errc::plugin_failed, fmt::format("{}: killed by signal {} ({}){}{}", who, out->signal,
                                                 strsignal(out->signal), why.empty() ? "" : ": ", why));
  if (why.empty()) why = "no error message";
  return fail(Errc::plugin_failed, fmt::format("{}: exit status {}: {}", who, out->exit_code, why));
}

bool PluginVersionInfo::supports(std::string_view version) const {
  return std::find(supported.begin(), supported.end(), version) != supported.end();
}

Result<PluginVersionInfo> probe_plugin_version(PluginExec& exec, std::string_view type, const std::string& path,
                                               const std::vector<std::string>& plugin_dirs,
                                               std::chrono::milliseconds deadline) {
  PluginCall call;
  call.command = "VERSION";
  call.plugin_dirs = plugin_dirs;
  auto out = invoke_plugin(exec, type, path, call, json{{"cniVersion", std::string(kSpecVersion)}}, deadline);
  if (!out) return std::unexpected(out.error());
  const std::string who = fmt::format("plugin {} (VERSION)", type);
  auto j = parse_json(*out, {.max_bytes = 1u << 20});
  if (!j) return fail_with(j, who);
  PluginVersionInfo info;
  info.type = std::string(type);
  info.path = path;
  if (!j->is_object()) return fail(Errc::corrupt, who + ": answer is not a JSON object");
  if (auto v = j->find("cniVersion"); v != j->end() && v->is_string()) info.cni_version = v->get<std::string>();
  auto sv = j->find("supportedVersions");
  if (sv == j->end() || !sv->is_array()) {
    // Pre-0.3 plugins answer without a list; they support what they say they speak.
    if (info.cni_version.empty()) return fail(Errc::corrupt, who + ": answer has no supportedVersions");
    info.supported.push_back(info.cni_version);
    return info;
  }
  for (auto& v : *sv) {
    if (!v.is_string()) return fail(Errc::corrupt, who + ": supportedVersions is not a list of strings");
    info.supported.push_back(v.get<std::string>());
  }
  return info;
}

}  // namespace podns::cni
