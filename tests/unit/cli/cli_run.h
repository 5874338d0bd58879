#pragma once
// Running the built `qtw` binary from a test: a shell command whose stdout
// and stderr go to files in a scratch directory, read back with its exit code.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace qtw::testing_cli {

struct CliRun {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs `/bin/sh -c "<command> >dir/stdout 2>dir/stderr"`.
inline CliRun run_shell(const std::string& command, const std::filesystem::path& dir) {
  const std::string cmd = command + " >'" + (dir / "stdout").string() + "' 2>'" +
                          (dir / "stderr").string() + "'";
  const int status = std::system(cmd.c_str());
  CliRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir / "stdout");
  r.err = slurp(dir / "stderr");
  return r;
}

}  // namespace qtw::testing_cli
