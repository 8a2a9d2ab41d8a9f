#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace podns::cli::progress {
namespace {

// One command, one thread printing: plain state is enough.
bool enabled = false;
bool shown = false;

}  // namespace

void enable(bool json) { enabled = !json && ::isatty(STDERR_FILENO) == 1; }

void show(std::string_view step, std::size_t done, std::size_t total) {
  if (!enabled) return;
  // \r and "erase to end of line" rewrite the line in place on any ANSI terminal.
  fmt::print(stderr, "\r\x1b[K[{}/{}] {}", done + 1, total, step);
  std::fflush(stderr);
  shown = true;
}

void clear() {
  if (!shown) return;
  std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
  shown = false;
}

std::function<void(std::string_view, std::size_t, std::size_t)> callback() {
  return [](std::string_view step, std::size_t done, std::size_t total) { show(step, done, total); };
}

}  // namespace podns::cli::progress
