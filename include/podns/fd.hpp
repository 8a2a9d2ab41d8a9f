// One owner per kernel object: UniqueFd owns a file descriptor (closes it on destruction, move-only,
// leaves only through release()); FdView borrows one. Every fd podns opens is O_CLOEXEC from birth.
#pragma once

#include <unistd.h>

#include <utility>

namespace podns {

class FdView {
 public:
  constexpr FdView() = default;
  constexpr explicit FdView(int fd) : fd_(fd) {}
  constexpr int get() const noexcept { return fd_; }
  constexpr explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

class UniqueFd {
 public:
  constexpr UniqueFd() = default;
  constexpr explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  FdView view() const noexcept { return FdView(fd_); }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  // Hand ownership to the caller.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    int old = std::exchange(fd_, fd);
    if (old >= 0) ::close(old);  // close() may fail with EINTR; the fd is gone either way on Linux.
  }

 private:
  int fd_ = -1;
};

}  // namespace podns
