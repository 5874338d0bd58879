// Runs the real qtw binary (QTW_CLI_PATH) on bad inputs and on offline
// (--sign-only) transfers. Bad input must exit 2 and say what was wrong on
// stderr as "qtw: error: ..."; a sign-only transfer prints one line of base64
// that libqtw parses into a fully signed, verifying transaction.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.h"
#include "qtw/solana/encoding.h"
#include "qtw/solana/keypair_file.h"
#include "qtw/solana/programs.h"
#include "qtw/solana/transaction.h"

namespace qtw::solana {
namespace {

namespace fs = std::filesystem;

using testing_cli::CliRun;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("qtw_cli_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Arguments are single-quoted for /bin/sh; none of ours contain a quote.
  CliRun run(const std::vector<std::string>& args) {
    std::string cmd = std::string("'") + QTW_CLI_PATH + "'";
    for (const auto& a : args) cmd += " '" + a + "'";
    return testing_cli::run_shell(cmd + " </dev/null", dir_);
  }

  std::string write_text(const std::string& name, const std::string& text, mode_t mode = 0600) {
    const auto p = dir_ / name;
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
    return p.string();
  }

  std::string write_key(const std::string& name, std::uint8_t fill) {
    const auto p = dir_ / name;
    auto kp = Keypair::from_seed(std::vector<std::uint8_t>(32, fill));
    EXPECT_TRUE(write_keypair_file(p, *kp));
    return p.string();
  }

  static Pubkey pubkey_of(std::uint8_t fill) {
    return Keypair::from_seed(std::vector<std::uint8_t>(32, fill))->pubkey();
  }

  void expect_bad_input(const std::vector<std::string>& args, const std::string& says) {
    const CliRun r = run(args);
    EXPECT_EQ(r.exit_code, 2) << says << "\nstderr: " << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << "stderr: " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }

  fs::path dir_;
};

const std::string kBlockhash = "Bp3BbhbyBNoTt3LgewDgCf2ckx5pHoUyPxdEMC6KHgyL";

TEST_F(Cli, KeygenWrites0600RefusesOverwriteUnlessForced) {
  const auto file = (dir_ / "sub" / "id.json").string();
  const CliRun r = run({"keygen", "--outfile", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto kp = read_keypair_file(file);
  ASSERT_TRUE(kp) << kp.error().message;
  EXPECT_EQ(r.out, kp->pubkey().to_base58() + "\n");

  expect_bad_input({"keygen", "--outfile", file}, "already exists");
  EXPECT_EQ(read_keypair_file(file)->pubkey(), kp->pubkey());  // untouched

  const CliRun forced = run({"keygen", "--outfile", file, "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(read_keypair_file(file)->pubkey(), kp->pubkey());

  const CliRun p = run({"pubkey", file});
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_EQ(p.out, read_keypair_file(file)->pubkey().to_base58() + "\n");
}

TEST_F(Cli, PubkeyBadKeypairFilesExit2NamingTheProblem) {
  expect_bad_input({"pubkey", (dir_ / "missing.json").string()}, "cannot open keypair file");
  expect_bad_input({"pubkey", write_text("obj.json", "{\"secret\": 1}")}, "not a JSON array");
  std::string n63 = "[";
  for (int i = 0; i < 63; ++i) n63 += (i ? ",1" : "1");
  expect_bad_input({"pubkey", write_text("short.json", n63 + "]")}, "expected 64");
  expect_bad_input({"pubkey", write_text("big.json", "[256" + n63.substr(2) + "]")}, "over 255");
  std::string n64 = n63 + ",1]";  // 64 ones: the pubkey half is not the seed's pubkey
  expect_bad_input({"pubkey", write_text("mismatch.json", n64)}, "same pubkey");
  const auto open_file = write_key("open.json", 3);
  ::chmod(open_file.c_str(), 0644);
  expect_bad_input({"pubkey", open_file}, "chmod 600");
  const CliRun allowed = run({"pubkey", open_file, "--allow-insecure-keypair-file"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_EQ(allowed.out, pubkey_of(3).to_base58() + "\n");
  expect_bad_input({"pubkey", dir_.string()}, "not a regular file");
}

TEST_F(Cli, TransferBadInputsExit2) {
  const auto from = write_key("from.json", 1);
  const auto to = pubkey_of(2).to_base58();
  auto transfer = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"transfer", "--from", from, "--sign-only"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  expect_bad_input(transfer({"--to", "0OIl", "--lamports", "5", "--blockhash", kBlockhash}),
                   "invalid pubkey");
  // Valid base58, but 31 bytes.
  const std::string short_key = base58_encode(std::vector<std::uint8_t>(31, 7));
  expect_bad_input(transfer({"--to", short_key, "--lamports", "5", "--blockhash", kBlockhash}),
                   "expected 32");
  expect_bad_input(transfer({"--to", to, "--lamports", "0", "--blockhash", kBlockhash}),
                   "at least 1");
  expect_bad_input(
      transfer({"--to", to, "--lamports", "18446744073709551616", "--blockhash", kBlockhash}),
      "out of range");
  expect_bad_input(transfer({"--to", to, "--lamports", "1.5", "--blockhash", kBlockhash}),
                   "not a whole number");
  expect_bad_input(transfer({"--to", to, "--lamports", "5"}), "--blockhash");
  expect_bad_input(transfer({"--to", to, "--lamports", "5", "--blockhash", "xyz0"}), "--blockhash");
  expect_bad_input(
      transfer({"--to", to, "--lamports", "5", "--blockhash", kBlockhash, "--cu-limit", "1400001"}),
      "--cu-limit");
  expect_bad_input(
      transfer({"--to", to, "--lamports", "5", "--blockhash", kBlockhash, "--frobnicate"}),
      "frobnicate");
  expect_bad_input({"transfer", "--from", from, "--lamports", "5", "--sign-only"}, "--to");
  expect_bad_input({"transfer", "--from", (dir_ / "nope.json").string(), "--to", to, "--lamports",
                    "5", "--blockhash", kBlockhash, "--sign-only"},
                   "cannot open keypair file");
  expect_bad_input(transfer({"--to", to, "--lamports", "5", "--blockhash", kBlockhash,
                             "--fee-payer", write_text("junk.json", "not json")}),
                   "--fee-payer");
}

TEST_F(Cli, SignOnlyTransferPrintsAVerifyingTransaction) {
  const auto from = write_key("from.json", 1);
  const CliRun r = run({"transfer", "--from", from, "--to", pubkey_of(2).to_base58(), "--lamports",
                        "1234567", "--blockhash", kBlockhash, "--sign-only"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line";
  auto wire = base64_decode(r.out.substr(0, r.out.size() - 1));
  ASSERT_TRUE(wire);
  EXPECT_EQ(wire->size(), 215u);  // solana-sdk minimal transfer size
  auto tx = Transaction::deserialize(*wire);
  ASSERT_TRUE(tx) << tx.error().message;
  EXPECT_TRUE(tx->verify());
  EXPECT_EQ(tx->message.fee_payer(), pubkey_of(1));
  EXPECT_EQ(tx->message.recent_blockhash, *Hash::from_base58(kBlockhash));
  const auto ixs = tx->message.decompile();
  ASSERT_EQ(ixs.size(), 1u);
  EXPECT_EQ(ixs[0], system_program::transfer(pubkey_of(1), pubkey_of(2), 1234567));
}

TEST_F(Cli, SignOnlyWithFeePayerAndComputeBudget) {
  const auto from = write_key("from.json", 1);
  const auto payer = write_key("payer.json", 9);
  const CliRun r = run({"transfer", "--from", from, "--fee-payer", payer, "--to",
                        pubkey_of(2).to_base58(), "--lamports", "5000", "--cu-limit", "450",
                        "--cu-price", "25000", "--blockhash", kBlockhash, "--sign-only"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto tx = Transaction::deserialize(*base64_decode(r.out.substr(0, r.out.size() - 1)));
  ASSERT_TRUE(tx) << tx.error().message;
  EXPECT_TRUE(tx->is_fully_signed());
  EXPECT_TRUE(tx->verify());
  EXPECT_EQ(tx->signatures.size(), 2u);
  EXPECT_EQ(tx->message.fee_payer(), pubkey_of(9));
  const auto ixs = tx->message.decompile();
  ASSERT_EQ(ixs.size(), 3u);
  EXPECT_EQ(ixs[0], compute_budget::set_compute_unit_limit(450));
  EXPECT_EQ(ixs[1], compute_budget::set_compute_unit_price(25000));
  EXPECT_EQ(ixs[2], system_program::transfer(pubkey_of(1), pubkey_of(2), 5000));
}

// --sol takes what a person types, exactly: decimal digits to lamports with
// no floating point (0.1 + 0.2 is 300000000 lamports, not 300000000.00000004).
TEST_F(Cli, SolAmountsParseExactlyToLamports) {
  const auto from = write_key("from.json", 1);
  auto sign = [&](const std::string& sol) {
    return run({"transfer", "--from", from, "--to", pubkey_of(2).to_base58(), "--sol", sol,
                "--blockhash", kBlockhash, "--sign-only"});
  };
  const std::pair<const char*, std::uint64_t> good[] = {
      {"1.5", 1'500'000'000},          {"0.000000001", 1},
      {"2", 2'000'000'000},            {".3", 300'000'000},
      {"0.3", 300'000'000},            {"18446744073.709551615", 18'446'744'073'709'551'615u},
      {"000.100000000", 100'000'000},
  };
  for (const auto& [text, lamports] : good) {
    SCOPED_TRACE(text);
    const CliRun r = sign(text);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto tx = Transaction::deserialize(*base64_decode(r.out.substr(0, r.out.size() - 1)));
    ASSERT_TRUE(tx) << tx.error().message;
    EXPECT_EQ(tx->message.decompile()[0],
              system_program::transfer(pubkey_of(1), pubkey_of(2), lamports));
  }
  const std::pair<const char*, const char*> bad[] = {
      {"1.0000000001", "more than 9 decimals"},
      {"0", "zero"},
      {"0.000000000", "zero"},
      {"-1", "not a decimal number"},
      {"+1", "not a decimal number"},
      {"1e9", "not a decimal number"},
      {"1,5", "not a decimal number"},
      {"abc", "not a decimal number"},
      {"1.", "ends with a dot"},
      {".", "not a number"},
      {"1.2.3", "not a decimal number"},
      {"18446744073.709551616", "too large"},
      {"99999999999999999999", "too large"},
      {" 1", "not a decimal number"},
  };
  for (const auto& [text, says] : bad) {
    SCOPED_TRACE(text);
    expect_bad_input({"transfer", "--from", from, "--to", pubkey_of(2).to_base58(), "--sol", text,
                      "--blockhash", kBlockhash, "--sign-only"},
                     says);
  }
  // Exactly one of --sol and --lamports.
  expect_bad_input({"transfer", "--from", from, "--to", pubkey_of(2).to_base58(), "--sol", "1",
                    "--lamports", "5", "--blockhash", kBlockhash, "--sign-only"},
                   "give the amount once");
  expect_bad_input({"transfer", "--from", from, "--to", pubkey_of(2).to_base58(), "--blockhash",
                    kBlockhash, "--sign-only"},
                   "give the amount once");
}

TEST_F(Cli, HelpDescribesTransferFlags) {
  const CliRun r = run({"transfer", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag :
       {"--from", "--to", "--lamports", "--fee-payer", "--cu-price", "--cu-limit", "--blockhash",
        "--sign-only", "--allow-insecure-keypair-file"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace qtw::solana
