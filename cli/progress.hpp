// A progress line for long commands (gc, network reload, pod rm of many pods): "[3/9] gc: pending
// CNI DELs", rewritten in place on stderr while the work runs and gone when it ends. Only on a
// terminal and never with --json, so scripts, pipes and logs never see it.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace podns::cli::progress {

// Turns progress lines on for this command when stderr is a terminal and `json` is false.
void enable(bool json);
// Shows step `done + 1` of `total` (when enabled).
void show(std::string_view step, std::size_t done, std::size_t total);
// Takes the line off the terminal: before any other output, and at the end of the command.
void clear();
// show() as a PodEnv::on_progress.
std::function<void(std::string_view, std::size_t, std::size_t)> callback();

}  // namespace podns::cli::progress
