// The built `qtw` binary and the conventions a new operator brings: global
// options after the command, -u/--url shorthands, -o json, JSON errors,
// QTW_* environment and the config lookup, --version, unknown-command
// suggestions, shell completion, the non-loopback --listen refusal, the
// Argon2id cost confirmation and the passphrase prompt. Offline: no node.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_run.h"

namespace qtw {
namespace {

namespace fs = std::filesystem;
using testing_cli::CliRun;
using testing_cli::run_shell;
using testing_cli::slurp;

class CliConventions : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qtw-cli-conv-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    store_ = (dir_ / "w.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `env <env> qtw <args>` in dir_ with a clean QTW_* environment,
  // HOME and XDG_CONFIG_HOME inside dir_ (no config of the machine leaks in).
  CliRun qtw(const std::string& args, const std::string& env = "",
             const std::string& stdin_text = "") {
    std::ofstream(dir_ / "stdin") << stdin_text;
    const std::string cmd = "cd " + dir_.string() +
                            " && env -u QTW_CONFIG -u QTW_STORE -u QTW_RPC_URL -u "
                            "CREDENTIALS_DIRECTORY -u XDG_CONFIG_HOME HOME=" +
                            dir_.string() + " QTW_PASSPHRASE='test pass' " + env + " " +
                            QTW_CLI_PATH + " " + args + " <stdin";
    return run_shell(cmd, dir_);
  }

  void init_wallet() {
    auto r = qtw("--store " + store_ + " init --banks 2 --kdf-opslimit 1 --kdf-memlimit-kib 8");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  static nlohmann::json parse(const std::string& text) {
    return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  }

  fs::path dir_;
  std::string store_;
};

TEST_F(CliConventions, GlobalOptionsWorkAfterTheCommand) {
  init_wallet();
  auto before = qtw("--json --store " + store_ + " keys list");
  ASSERT_EQ(before.exit_code, 0) << before.err;
  auto after = qtw("keys list --json --store " + store_);
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, before.out);
  ASSERT_TRUE(parse(after.out).is_array()) << after.out;
  EXPECT_EQ(parse(after.out).size(), 2u);

  auto status = qtw("status --no-balances --json --store " + store_ +
                    " --rpc-url http://127.0.0.1:9");
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto j = parse(status.out);
  EXPECT_EQ(j["rpc_url"], "http://127.0.0.1:9");
  EXPECT_EQ(j["keys"]["bank"]["active"], 2);

  // -o json is --json; -o display is the table.
  auto o = qtw("keys list -o json --store " + store_);
  EXPECT_EQ(o.out, before.out);
  auto o2 = qtw("--output json keys list --store " + store_);
  EXPECT_EQ(o2.out, before.out);
  auto display = qtw("keys list -o display --store " + store_);
  EXPECT_NE(display.out.find("PUBKEY"), std::string::npos) << display.out;
  EXPECT_EQ(qtw("keys list -o yaml --store " + store_).exit_code, 2);

  // keygen keeps its own -o (the outfile), as solana-keygen does.
  auto kg = qtw("keygen -o k.json --json");
  ASSERT_EQ(kg.exit_code, 0) << kg.err;
  EXPECT_TRUE(parse(kg.out).contains("pubkey")) << kg.out;
  EXPECT_TRUE(fs::exists(dir_ / "k.json"));
}

TEST_F(CliConventions, EveryCommandHelpListsTheGlobalOptions) {
  for (const char* cmd : {"status", "balance", "keys list", "keys", "sweep", "serve", "init",
                          "resume", "completion", "transfer"}) {
    SCOPED_TRACE(cmd);
    auto r = qtw(std::string(cmd) + " --help");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const char* opt : {"Global options", "--config", "--store", "--rpc-url", "--url",
                            "--json", "--output"}) {
      EXPECT_NE(r.out.find(opt), std::string::npos) << opt << "\n" << r.out;
    }
  }
}

TEST_F(CliConventions, UrlShorthandsAsTheSolanaCli) {
  init_wallet();
  const std::pair<const char*, const char*> cases[] = {
      {"l", "http://127.0.0.1:8899"},
      {"localhost", "http://127.0.0.1:8899"},
      {"d", "https://api.devnet.solana.com"},
      {"t", "https://api.testnet.solana.com"},
      {"m", "https://api.mainnet-beta.solana.com"},
      {"mainnet-beta", "https://api.mainnet-beta.solana.com"},
      {"http://127.0.0.1:1234", "http://127.0.0.1:1234"},
  };
  for (const auto& [given, url] : cases) {
    SCOPED_TRACE(given);
    // --no-balances: nothing is sent anywhere.
    for (const std::string flag : {"-u ", "--url ", "--rpc-url "}) {
      auto r = qtw("status --no-balances --json --store " + store_ + " " + flag + given);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(parse(r.out)["rpc_url"], url);
    }
  }
  auto env = qtw("status --no-balances --json --store " + store_, "QTW_RPC_URL=d");
  EXPECT_EQ(parse(env.out)["rpc_url"], "https://api.devnet.solana.com") << env.err;
  // The flag beats the environment.
  auto both = qtw("status --no-balances --json -u l --store " + store_, "QTW_RPC_URL=d");
  EXPECT_EQ(parse(both.out)["rpc_url"], "http://127.0.0.1:8899");
  auto bad = qtw("status --no-balances -u x --store " + store_);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("mainnet-beta"), std::string::npos) << bad.err;
}

TEST_F(CliConventions, ErrorsAreJsonUnderJson) {
  // A command's own error (no wallet), a bad value, a parse error, an
  // unknown command: every one is one JSON object on stderr, stdout empty.
  const std::pair<std::string, int> cases[] = {
      {"keys list --json --store " + store_, 2},
      {"--json keys list --tier cold --store " + store_, 2},
      {"-o json transfer --to x", 2},
      {"stauts --json", 2},
      {"release 11111111111111111111111111111111 --keep --retire -o json", 2},
  };
  for (const auto& [args, code] : cases) {
    SCOPED_TRACE(args);
    auto r = qtw(args);
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    auto j = parse(r.err);
    ASSERT_TRUE(j.is_object()) << r.err;
    EXPECT_TRUE(j["error"].is_string());
    EXPECT_FALSE(j["error"].get<std::string>().empty());
    EXPECT_EQ(j["exit_code"], code);
  }
  // Without --json: the plain line.
  auto plain = qtw("keys list --store " + store_);
  EXPECT_EQ(plain.err.rfind("qtw: error: ", 0), 0u) << plain.err;
}

TEST_F(CliConventions, UnknownCommandSuggestsTheNearest) {
  auto r = qtw("stauts");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'stauts'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean `qtw status`"), std::string::npos) << r.err;
  auto nested = qtw("--store x.db keys lsit");
  EXPECT_EQ(nested.exit_code, 2);
  EXPECT_NE(nested.err.find("did you mean `qtw keys list`"), std::string::npos) << nested.err;
  auto far = qtw("frobnicate");
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
  EXPECT_NE(far.err.find("qtw --help"), std::string::npos) << far.err;
  // Option values are not taken for commands.
  EXPECT_EQ(qtw("--store stauts keys list").err.find("unknown command"), std::string::npos);
}

TEST_F(CliConventions, VersionNamesTheProjectVersion) {
  for (const char* flag : {"--version", "-V"}) {
    auto r = qtw(flag);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("qtw 0.", 0), 0u) << r.out;
  }
}

TEST_F(CliConventions, CompletionScriptsComeFromTheRegisteredCommands) {
  auto bash = qtw("completion bash");
  ASSERT_EQ(bash.exit_code, 0) << bash.err;
  std::ofstream(dir_ / "qtw.bash") << bash.out;
  // bash sources it, and completing "qtw sta", "qtw keys l", "qtw status --n"
  // offers the registered words.
  std::ofstream(dir_ / "probe.sh")
      << "source " << (dir_ / "qtw.bash").string() << " || exit 3\n"
      << "complete -p qtw >/dev/null || exit 4\n"
      << "c() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); _qtw; echo \"${COMPREPLY[*]}\"; }\n"
      << "c qtw sta\nc qtw keys l\nc qtw status --no\nc qtw --json resu\n";
  const int status = std::system(("bash --noprofile --norc " + (dir_ / "probe.sh").string() +
                                  " >" + (dir_ / "probe.out").string() + " 2>&1")
                                     .c_str());
  ASSERT_TRUE(WIFEXITED(status));
  const std::string probe = slurp(dir_ / "probe.out");
  ASSERT_EQ(WEXITSTATUS(status), 0) << probe;
  EXPECT_EQ(probe, "status\nlist\n--no-balances\nresume\n");

  auto zsh = qtw("completion zsh");
  EXPECT_EQ(zsh.exit_code, 0);
  EXPECT_EQ(zsh.out.rfind("#compdef qtw", 0), 0u);
  auto fish = qtw("completion fish");
  EXPECT_EQ(fish.exit_code, 0);
  EXPECT_NE(fish.out.find("-a status"), std::string::npos);
  EXPECT_NE(fish.out.find("-l no-balances"), std::string::npos);
  EXPECT_EQ(qtw("completion tcsh").exit_code, 2);
}

TEST_F(CliConventions, ConfigAndStoreLookupAndStatusSaysWhich) {
  // No config anywhere: built-in defaults, store ./qtw.db.
  auto none = qtw("status --no-balances --json");
  EXPECT_EQ(none.exit_code, 2);  // no wallet there yet
  init_wallet();
  // QTW_STORE names the store.
  auto env = qtw("status --no-balances --json", "QTW_STORE=" + store_);
  ASSERT_EQ(env.exit_code, 0) << env.err;
  auto j = parse(env.out);
  EXPECT_TRUE(j["config"].is_null());
  EXPECT_NE(j["store"].get<std::string>().find("w.db"), std::string::npos) << env.out;

  // $XDG_CONFIG_HOME/qtw/qtw.toml, then ./qtw.toml wins over it.
  fs::create_directories(dir_ / "xdg" / "qtw");
  std::ofstream(dir_ / "xdg" / "qtw" / "qtw.toml")
      << "[store]\npath = \"" << store_ << "\"\n[rpc]\nurl = \"http://127.0.0.1:7\"\n";
  auto xdg = qtw("status --no-balances --json", "XDG_CONFIG_HOME=" + (dir_ / "xdg").string());
  ASSERT_EQ(xdg.exit_code, 0) << xdg.err;
  EXPECT_EQ(parse(xdg.out)["config"], (dir_ / "xdg" / "qtw" / "qtw.toml").string());
  EXPECT_EQ(parse(xdg.out)["rpc_url"], "http://127.0.0.1:7");
  // ~/.config/qtw/qtw.toml when XDG_CONFIG_HOME is unset (HOME is dir_).
  fs::create_directories(dir_ / ".config" / "qtw");
  fs::copy_file(dir_ / "xdg" / "qtw" / "qtw.toml", dir_ / ".config" / "qtw" / "qtw.toml");
  auto home = qtw("status --no-balances --json");
  EXPECT_EQ(parse(home.out)["config"], (dir_ / ".config" / "qtw" / "qtw.toml").string())
      << home.err;
  std::ofstream(dir_ / "qtw.toml") << "[store]\npath = \"" << store_
                                   << "\"\n[rpc]\nurl = \"http://127.0.0.1:6\"\n";
  auto local = qtw("status --no-balances --json", "XDG_CONFIG_HOME=" + (dir_ / "xdg").string());
  EXPECT_EQ(parse(local.out)["config"], "qtw.toml") << local.err;
  EXPECT_EQ(parse(local.out)["rpc_url"], "http://127.0.0.1:6");
  // The text form says it too.
  auto text = qtw("status --no-balances");
  EXPECT_NE(text.out.find("config: qtw.toml"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("store:  " ), std::string::npos) << text.out;
  // QTW_CONFIG and --config must exist.
  auto missing = qtw("status --no-balances", "QTW_CONFIG=" + (dir_ / "nope.toml").string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.toml"), std::string::npos) << missing.err;
  auto explicit_cfg = qtw("status --no-balances --json --config " +
                          (dir_ / "xdg" / "qtw" / "qtw.toml").string());
  EXPECT_EQ(parse(explicit_cfg.out)["rpc_url"], "http://127.0.0.1:7") << explicit_cfg.err;
}

TEST_F(CliConventions, StatusShowsKeyCountsWhenTheNodeIsDown) {
  init_wallet();
  auto r = qtw("status --json --store " + store_ + " -u http://127.0.0.1:9");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = parse(r.out);
  EXPECT_EQ(j["keys"]["bank"]["active"], 2);
  EXPECT_TRUE(j["balances_lamports"].is_null());
  EXPECT_EQ(j["warnings"].size(), 1u);
  EXPECT_NE(r.err.find("warning: balances not read"), std::string::npos) << r.err;
  auto text = qtw("status --store " + store_ + " -u http://127.0.0.1:9");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("TIER"), std::string::npos) << text.out;
}

TEST_F(CliConventions, NonLoopbackListenIsRefusedWithoutAllowRemote) {
  std::ofstream(dir_ / "token") << "0123456789abcdef0123456789abcdef\n";
  fs::permissions(dir_ / "token", fs::perms(0600));
  for (const char* listen : {"0.0.0.0:0", "[::]:0", "10.1.2.3:8686", "example.com:80"}) {
    SCOPED_TRACE(listen);
    auto r = qtw(std::string("serve --listen ") + listen + " --token-file token --store " + store_);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--allow-remote"), std::string::npos) << r.err;
  }
  // Loopback passes the check (and then stops at the missing wallet).
  auto local = qtw("serve --listen 127.0.0.1:0 --token-file token --store " + store_);
  EXPECT_EQ(local.err.find("--allow-remote"), std::string::npos) << local.err;
  // --allow-remote passes it with a warning (then the missing wallet).
  auto allowed = qtw("serve --listen 0.0.0.0:0 --allow-remote --token-file token --store " + store_);
  EXPECT_NE(allowed.err.find("other hosts can reach"), std::string::npos) << allowed.err;
  EXPECT_NE(allowed.err.find("qtw init"), std::string::npos) << allowed.err;
}

TEST_F(CliConventions, HugeArgon2MemoryAsksFirst) {
  auto r = qtw("init --store " + store_ + " --kdf-memlimit-kib 2000000", "", "no\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not confirmed"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(store_));
}

// The passphrase prompt needs a terminal: `script` gives qtw one (a pty on
// stdin), and reads what we type from its own stdin.
TEST_F(CliConventions, PassphraseIsPromptedOnATerminal) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1)";
  init_wallet();
  auto run_on_tty = [&](const std::string& typed) {
    std::ofstream(dir_ / "typed") << typed;
    const std::string inner = std::string(QTW_CLI_PATH) + " --store " + store_ +
                              " export-seed --yes-i-understand";
    const std::string cmd = "cd " + dir_.string() +
                            " && (sleep 1; cat typed) | env -u QTW_PASSPHRASE -u "
                            "CREDENTIALS_DIRECTORY script -qec '" + inner + "' /dev/null";
    return run_shell(cmd, dir_);
  };
  auto ok = run_on_tty("test pass\n");
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("Wallet passphrase: "), std::string::npos) << ok.out;
  // The seed's 64 hex characters follow the prompt.
  EXPECT_NE(ok.out.find_first_of("0123456789abcdef", ok.out.find("passphrase: ")),
            std::string::npos);
  auto wrong = run_on_tty("not it\n");
  EXPECT_EQ(wrong.exit_code, 2) << wrong.out << wrong.err;
  EXPECT_NE((wrong.out + wrong.err).find("wrong passphrase"), std::string::npos) << wrong.out;
  // Without a terminal (stdin a file) there is no prompt: the error lists
  // the sources.
  auto none = qtw("export-seed --yes-i-understand --store " + store_, "QTW_PASSPHRASE=");
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("on a terminal"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace qtw
