#include "podns/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "podns/fd.hpp"

namespace podns {
namespace {

// O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting for one (it is
// then refused as not regular); O_NOCTTY: a terminal never becomes our controlling one.
Result<UniqueFd> open_regular(const std::string& path, struct stat& st, Errc bad_file) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return fail_errno("open " + path);
  if (::fstat(fd.get(), &st) < 0) return fail_errno("stat " + path);
  if (!S_ISREG(st.st_mode)) return fail(bad_file, path + ": not a regular file");
  return fd;
}

// Reads `fd` to its end, handing each chunk to `take`; false (errno set) on a read error, or as
// soon as `take` returns false.
template <class Take>
bool read_chunks(int fd, Take take) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    if (!take(std::string_view(buf, static_cast<std::size_t>(n)))) return true;
  }
}

}  // namespace

Result<std::string> read_regular_file(const std::string& path, std::size_t max_bytes, Errc bad_file) {
  struct stat st {};
  auto fd = open_regular(path, st, bad_file);
  if (!fd) return fail(fd.error());
  auto too_large = [&] { return fail(bad_file, fmt::format("{}: larger than {} bytes", path, max_bytes)); };
  if (static_cast<std::size_t>(st.st_size) > max_bytes) return too_large();
  // /proc and /sys files report size 0 and are read to EOF; the bound applies all the same, and a
  // file that grew while we read is cut off as soon as it passes it.
  std::string out;
  bool ok = read_chunks(fd->get(), [&](std::string_view chunk) {
    out.append(chunk);
    return out.size() <= max_bytes;
  });
  if (!ok) return fail_errno("read " + path);
  if (out.size() > max_bytes) return too_large();
  return out;
}

Result<std::string> read_file_tail(const std::string& path, std::size_t max_bytes, Errc bad_file) {
  struct stat st {};
  auto fd = open_regular(path, st, bad_file);
  if (!fd) return fail(fd.error());
  auto size = static_cast<std::size_t>(st.st_size);
  if (size > max_bytes && ::lseek(fd->get(), static_cast<off_t>(size - max_bytes), SEEK_SET) < 0)
    return fail_errno("seek " + path);
  // A log still being written may have grown since the stat: read to its end, keeping the tail.
  std::string out;
  bool ok = read_chunks(fd->get(), [&](std::string_view chunk) {
    out.append(chunk);
    if (out.size() > 2 * max_bytes) out.erase(0, out.size() - max_bytes);
    return true;
  });
  if (!ok) return fail_errno("read " + path);
  if (out.size() > max_bytes) out.erase(0, out.size() - max_bytes);
  return out;
}

}  // namespace podns
