#pragma once
// What main() does around the registered commands: the global options on
// every command, --version, unknown-command suggestions, shell completion.
#include <optional>
#include <string>

#include "commands.h"

namespace qtw::cli {

// "qtw 0.1.0 (git v0.1.0-3-gabc1234)": the CMake project version and, when
// the build had a git checkout, `git describe`.
std::string version_string();

// Adds --config, --store, --rpc-url/-u/--url, --json and -o/--output to
// `app` and to every subcommand registered so far, at any depth, bound to
// `global`, in a "Global options" group. A name a command already uses
// itself (keygen's -o) stays the command's.
void add_global_options_everywhere(CLI::App& app, GlobalOptions& global);

// The first word that should name a command but names none: "unknown command
// 'stauts'; did you mean `status`?". nullopt when every command word is known.
[[nodiscard]] std::optional<std::string> check_command_names(CLI::App& app, int argc,
                                                             char** argv);

// Whether argv asks for JSON (--json, -o json, --output json), for errors
// found before or while parsing.
[[nodiscard]] bool json_requested(int argc, char** argv);

// Edit distance with adjacent transpositions (optimal string alignment).
[[nodiscard]] std::size_t edit_distance(const std::string& a, const std::string& b);

// qtw completion bash|zsh|fish: generated from the registered commands.
void register_completion_command(CLI::App& app, GlobalOptions& global);

}  // namespace qtw::cli
