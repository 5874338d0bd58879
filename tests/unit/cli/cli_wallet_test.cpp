// The built `qtw` binary: init, keys list, export-seed (exit codes, --json,
// the confirmation guard, wrong passphrase).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "qtw/solana/encoding.h"
#include "qtw/vault/hot_keys.h"

namespace qtw {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class CliWalletTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qtw-cli-wallet-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    store_ = (dir_ / "qtw.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  // Runs `qtw --store <store> <args>` with QTW_PASSPHRASE=`passphrase`.
  CliRun qtw(const std::string& args, const std::string& stdin_text = "",
          const std::string& passphrase = "test pass") {
    std::ofstream(dir_ / "stdin") << stdin_text;
    const std::string cmd = "cd " + dir_.string() + " && env -u CREDENTIALS_DIRECTORY " +
                            (passphrase.empty() ? "-u QTW_PASSPHRASE" : "QTW_PASSPHRASE='" + passphrase + "'") +
                            " " QTW_CLI_PATH " --store " + store_ + " " + args +
                            " <stdin >stdout 2>stderr";
    const int status = std::system(cmd.c_str());
    CliRun r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(dir_ / "stdout");
    r.err = slurp(dir_ / "stderr");
    return r;
  }

  CliRun init(const std::string& extra) {
    return qtw("--json init --kdf-opslimit 1 --kdf-memlimit-kib 8 " + extra);
  }

  std::filesystem::path dir_;
  std::string store_;
};

TEST_F(CliWalletTest, InitListExport) {
  auto kg = qtw("keygen --outfile " + (dir_ / "hodl.json").string());
  ASSERT_EQ(kg.exit_code, 0) << kg.err;
  const std::string hodl_pubkey = kg.out.substr(0, kg.out.find('\n'));
  const std::string watch = "9iPsPavwxhtv7m1fmSZ44CXJdf7ADthRJjKyM8d7Jwjq";

  auto r = init("--banks 2 --hodl-keypair " + (dir_ / "hodl.json").string() +
                " --hodl-pubkey " + watch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["banks"].size(), 2u);
  EXPECT_EQ(j["banks"][1]["path"], "m/44'/501'/1000'/1'/0'");
  ASSERT_EQ(j["hodl"].size(), 2u);
  EXPECT_EQ(j["hodl"][0]["pubkey"], hodl_pubkey);
  EXPECT_EQ(j["hodl"][1]["watch_only"], true);

  // Never a second master seed over the first.
  auto again = init("--banks 1");
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already holds a wallet"), std::string::npos) << again.err;

  auto list = qtw("--json keys list");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto keys = nlohmann::json::parse(list.out);
  ASSERT_EQ(keys.size(), 4u);
  EXPECT_EQ(keys[0]["tier"], "hodl");
  EXPECT_EQ(keys[1]["watch_only"], true);
  auto banks = nlohmann::json::parse(qtw("--json keys list --tier bank").out);
  ASSERT_EQ(banks.size(), 2u);
  EXPECT_EQ(banks[0]["state"], "active");
  EXPECT_EQ(banks[0]["pubkey"], j["banks"][0]["pubkey"]);
  auto table = qtw("keys list");
  EXPECT_NE(table.out.find("PUBKEY"), std::string::npos);
  EXPECT_NE(table.out.find("(watch-only)"), std::string::npos);
  EXPECT_EQ(qtw("keys list --tier cold").exit_code, 2);

  // export-seed: refused without the typed confirmation.
  auto refused = qtw("export-seed", "yes\n");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(refused.out.empty());
  auto typed = qtw("export-seed", "export my seed\n");
  ASSERT_EQ(typed.exit_code, 0) << typed.err;
  const std::string hex = typed.out.substr(0, typed.out.find('\n'));
  ASSERT_EQ(hex.size(), 64u);
  auto flagged = qtw("export-seed --yes-i-understand");
  EXPECT_EQ(flagged.out, typed.out);
  auto wrong = qtw("export-seed --yes-i-understand", "", "not the passphrase");
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("wrong passphrase"), std::string::npos) << wrong.err;
  EXPECT_TRUE(wrong.out.empty());
  auto none = qtw("export-seed --yes-i-understand", "", "");
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("QTW_PASSPHRASE"), std::string::npos) << none.err;

  // The exported seed re-derives the Banks init registered (rescue relies on it).
  auto bytes = solana::hex_decode(hex);
  ASSERT_TRUE(bytes.has_value());
  auto hk = vault::HotKeys::create(SecureBytes::copy_of(*bytes));
  ASSERT_TRUE(hk.has_value());
  for (std::uint32_t i = 0; i < 2; ++i) {
    EXPECT_EQ((*hk)->bank_keypair(i)->pubkey().to_base58(), j["banks"][i]["pubkey"]);
  }
}

// A wrong passphrase is bad input on every command that unseals the wallet:
// exit 2 and the reason, never a crash (KeyManager's destructor once stopped
// a pool that open() never created: SIGSEGV, exit 139). A passphrase file
// with one newline too many is a wrong passphrase too.
TEST_F(CliWalletTest, WrongPassphraseOnEveryCommand) {
  ASSERT_EQ(init("--banks 1").exit_code, 0);
  std::ofstream(dir_ / "pass2") << "test pass\n\n";
  std::filesystem::permissions(dir_ / "pass2", std::filesystem::perms(0600));
  std::ofstream(dir_ / "token") << "0123456789abcdef0123456789abcdef\n";
  std::filesystem::permissions(dir_ / "token", std::filesystem::perms(0600));
  const std::string rpc = " --rpc-url http://127.0.0.1:9 ";
  const std::vector<std::string> commands = {
      "balance",
      "--json balance",
      "sweep --to-hodl --yes",
      "serve --listen 127.0.0.1:0 --token-file " + (dir_ / "token").string(),
      "acquire --outfile " + (dir_ / "explorer.json").string(),
      "export-seed --yes-i-understand",
  };
  for (const auto& c : commands) {
    SCOPED_TRACE(c);
    auto r = qtw(rpc + c, "", "not the passphrase");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("wrong passphrase"), std::string::npos) << r.err;
    auto f = qtw(rpc + c + " --passphrase-file " + (dir_ / "pass2").string(), "", "");
    EXPECT_EQ(f.exit_code, 2) << f.err;
    EXPECT_NE(f.err.find("wrong passphrase"), std::string::npos) << f.err;
  }
}

TEST_F(CliWalletTest, InputErrorsCreateNothing) {
  std::ofstream(dir_ / "loose.json") << "[1,2,3]";
  auto r = init("--hodl-keypair " + (dir_ / "missing.json").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(store_));
  r = init("--hodl-pubkey not-base58!");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(store_));
  r = qtw("keys list");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("qtw init"), std::string::npos) << r.err;
  std::ofstream(dir_ / "pass") << "secret\n";
  std::filesystem::permissions(dir_ / "pass", std::filesystem::perms(0644));
  r = init("--passphrase-file " + (dir_ / "pass").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(store_));
}

}  // namespace
}  // namespace qtw
