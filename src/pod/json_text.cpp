// `pod ls --json` written straight into a string. Building an nlohmann object per pod and dumping
// it took ~15 ms for 1000 pods, most of `podns pod ls --json`; this writes the same bytes as
// dumping an array of to_json(pod) with indent 2 (a test holds the two to it): the same keys in
// the same (sorted) order, the same escapes.
#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <map>

#include "podns/pod/pod.hpp"
#include "podns/json_dump.hpp"
#include "pod/userns_map.hpp"

namespace podns::pod {
namespace {

// The layout of nlohmann's dump(2): "{\n  \"key\": value,\n ...\n}", "[]" and "{}" when empty.
class PrettyJson {
 public:
  explicit PrettyJson(std::string& out) : out_(out) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  void key(std::string_view k) {
    next_item();
    quoted(k);
    out_ += ": ";
    after_key_ = true;
  }
  void string(std::string_view s) {
    next_item();
    quoted(s);
  }
  void number(int64_t v) {
    next_item();
    fmt::format_to(std::back_inserter(out_), "{}", v);
  }
  void boolean(bool b) {
    next_item();
    out_ += b ? "true" : "false";
  }
  // A member of the object being written.
  void string(std::string_view k, std::string_view v) {
    key(k);
    string(v);
  }
  void number(std::string_view k, int64_t v) {
    key(k);
    number(v);
  }
  void boolean(std::string_view k, bool v) {
    key(k);
    boolean(v);
  }
  // Any nlohmann value (the stored id mappings).
  void value(const nlohmann::json& j) {
    if (j.is_object()) {
      begin_object();
      for (const auto& [k, v] : j.items()) {
        key(k);
        value(v);
      }
      end_object();
    } else if (j.is_array()) {
      begin_array();
      for (const auto& v : j) value(v);
      end_array();
    } else {
      next_item();
      out_ += json_dump(j);
    }
  }

 private:
  void open(char c) {
    next_item();
    out_ += c;
    has_items_.push_back(false);
  }
  void close(char c) {
    bool had = has_items_.back();
    has_items_.pop_back();
    if (had) {
      out_ += '\n';
      out_.append(2 * has_items_.size(), ' ');
    }
    out_ += c;
  }
  // Where a value starts: right after its key, or on a new line after a comma in a container.
  void next_item() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (has_items_.empty()) return;
    out_ += has_items_.back() ? ",\n" : "\n";
    has_items_.back() = true;
    out_.append(2 * has_items_.size(), ' ');
  }
  void quoted(std::string_view s) {
    // Bytes >= 0x80 may be invalid UTF-8 (paths and names from the kernel): nlohmann's replacing
    // dump gives U+FFFD for them, as every other JSON podns writes (podns/json_dump.hpp).
    if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
      out_ += json_dump(nlohmann::json(std::string(s)));
      return;
    }
    out_ += '"';
    for (char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\b': out_ += "\\b"; break;
        case '\f': out_ += "\\f"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20)
            fmt::format_to(std::back_inserter(out_), "\\u{:04x}", static_cast<unsigned>(c));
          else
            out_ += c;
      }
    }
    out_ += '"';
  }

  std::string& out_;
  std::vector<bool> has_items_;  // per open container: has it an item yet
  bool after_key_ = false;
};

void write_network(PrettyJson& w, const NetworkInfo& n) {
  w.begin_object();
  w.key("addresses");
  w.begin_array();
  for (const auto& a : n.addresses) {
    w.begin_object();
    w.string("address", a.address);
    w.string("family", a.ipv6 ? "ipv6" : "ipv4");
    w.string("gateway", a.gateway);
    w.end_object();
  }
  w.end_array();
  w.string("interface", n.ifname);
  if (n.live) {
    w.key("live");
    w.begin_object();
    if (n.live->present) {
      w.key("addresses");
      w.begin_array();
      for (const auto& a : n.live->addresses) w.string(a);
      w.end_array();
      w.string("mac", n.live->mac);
      w.number("mtu", n.live->mtu);
      w.string("operstate", n.live->operstate);
    }
    w.boolean("present", n.live->present);
    if (n.live->present) w.boolean("up", n.live->admin_up);
    w.end_object();
  }
  w.string("mac", n.mac);
  w.string("network", n.network);
  w.key("portMappings");
  w.begin_array();
  for (const auto& p : n.ports) {
    w.begin_object();
    w.number("containerPort", p.container_port);
    w.string("hostIP", p.host_ip);
    w.number("hostPort", p.host_port);
    w.string("protocol", p.protocol);
    if (p.range > 1) w.number("range", p.range);
    w.end_object();
  }
  w.end_array();
  w.string("state", to_string(n.state));
  w.end_object();
}

void write_pod(PrettyJson& w, const PodInfo& info) {
  w.begin_object();
  w.number("created", info.created_at);
  w.key("helpers");
  w.begin_array();
  for (const auto& [kind, pid] : info.helpers) {
    const HelperLive* live = nullptr;
    if (info.live) {
      for (const auto& l : info.live->helpers)
        if (l.kind == kind) live = &l;  // the last one of the kind
    }
    w.begin_object();
    w.string("kind", rootless::driver_name(kind));
    if (live && !live->log_tail.empty()) w.string("log", live->log_tail);
    w.number("pid", pid);
    if (live) w.boolean("running", live->running);
    w.end_object();
  }
  w.end_array();
  w.key("idMappings");
  w.value(info.userns_mappings ? detail::mappings_to_json(*info.userns_mappings) : nlohmann::json());
  if (info.live) {
    w.key("live");
    w.begin_object();
    if (!info.live->error.empty()) w.string("error", info.live->error);
    w.string("netns", to_string(info.live->netns));
    w.end_object();
  }
  w.string("name", info.name);
  // A JSON object: sorted by type, the last path of a type counts (as to_json's pins[t] = p).
  std::map<std::string_view, std::string_view> pins;
  for (const auto& [type, path] : info.pins) pins[to_string(type)] = path;
  w.key("namespaces");
  w.begin_object();
  for (const auto& [type, path] : pins) w.string(type, path);
  w.end_object();
  w.key("networks");
  w.begin_array();
  for (const auto& n : info.networks) write_network(w, n);
  w.end_array();
  w.string("phase", state::to_string(info.phase));
  w.string("sandboxKey", info.netns_path);
  w.string("userns", info.userns_path);
  w.end_object();
}

}  // namespace

std::string to_json_text(std::span<const PodInfo> pods) {
  std::string out;
  out.reserve(1024 * pods.size() + 2);
  PrettyJson w(out);
  w.begin_array();
  for (const auto& p : pods) write_pod(w, p);
  w.end_array();
  return out;
}

}  // namespace podns::pod
