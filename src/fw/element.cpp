#include "fw/element.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace podns::fw {
namespace {

constexpr std::size_t kRegister = 4;

std::size_t padded(std::size_t n) { return (n + kRegister - 1) / kRegister * kRegister; }

// Appends fields at register boundaries.
struct Writer {
  std::uint8_t* out;
  std::size_t at = 0;
  void bytes(const std::uint8_t* p, std::size_t n) {
    std::memcpy(out + at, p, n);
    at += padded(n);
  }
  void addr(const IpAddress& a) { bytes(a.bytes.data(), a.size()); }
  void u8(std::uint8_t v) { bytes(&v, 1); }
  void port(std::uint16_t p) {  // inet_service: big-endian
    std::uint8_t be[2] = {static_cast<std::uint8_t>(p >> 8), static_cast<std::uint8_t>(p & 0xff)};
    bytes(be, 2);
  }
};

struct Reader {
  std::span<const std::uint8_t> in;
  std::size_t at = 0;
  const std::uint8_t* take(std::size_t n) {
    const std::uint8_t* p = in.data() + at;
    at += padded(n);
    return p;
  }
  std::string addr(int family) {
    IpAddress a;
    a.family = family;
    std::memcpy(a.bytes.data(), take(a.size()), a.size());
    return a.str();
  }
  std::uint8_t u8() { return *take(1); }
  std::uint16_t port() {
    const std::uint8_t* p = take(2);
    return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
  }
};

}  // namespace

ElementBytes encode_element(const CheckedForward& f) {
  ElementBytes e;
  e.map = f.map;
  Writer key{e.key.data()};
  if (f.map->bound) key.addr(f.host);
  key.u8(f.proto->ipproto);
  key.port(f.host_port);
  Writer data{e.data.data()};
  data.addr(f.pod);
  data.port(f.pod_port);
  return e;
}

Result<PortForward> decode_element(const layout::MapInfo& map, std::span<const std::uint8_t> key,
                                   std::span<const std::uint8_t> data) {
  if (key.size() != map.key_len || data.size() != map.data_len)
    return fail(Errc::corrupt, fmt::format("element of map {}: key {} and data {} bytes, expected {} and {}", map.name,
                                           key.size(), data.size(), map.key_len, map.data_len));
  PortForward f;
  Reader k{key};
  if (map.bound) f.host_ip = k.addr(map.family);
  std::uint8_t ipproto = k.u8();
  const layout::ProtoInfo* proto = layout::proto_by_number(ipproto);
  if (!proto) return fail(Errc::corrupt, fmt::format("element of map {}: IP protocol {}", map.name, ipproto));
  f.proto = proto->proto;
  f.host_port = k.port();
  Reader d{data};
  f.pod_ip = d.addr(map.family);
  f.pod_port = d.port();
  return f;
}

}  // namespace podns::fw
