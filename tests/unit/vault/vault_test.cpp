#include "qtw/vault/vault.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

namespace qtw::vault {
namespace {

const SealOptions kFast{kOpslimitMin, kMemlimitMinBytes};

SecureBytes pass(std::string_view s) {
  return SecureBytes::copy_of({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}

std::vector<std::uint8_t> secret32() {
  std::vector<std::uint8_t> s(32);
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(0xC0 + i);
  return s;
}

TEST(Vault, SealOpenRoundTripRecordsParameters) {
  const auto secret = secret32();
  auto env = seal(secret, pass("correct horse"), kPurposeMasterSeed, kFast);
  ASSERT_TRUE(env.has_value()) << to_string(env.error());
  EXPECT_EQ(env->size(), kHeaderSize + 32 + kTagSize);
  EXPECT_EQ(std::string(env->begin(), env->begin() + 7), "QTWSEAL");
  auto info = inspect(*env);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->version, 1);
  EXPECT_EQ(info->alg, kAlgArgon2idXChaCha20Poly1305);
  EXPECT_EQ(info->opslimit, kOpslimitMin);
  EXPECT_EQ(info->memlimit_bytes, kMemlimitMinBytes);
  EXPECT_EQ(info->secret_size, 32u);
  // The plaintext does not appear in the envelope.
  EXPECT_EQ(std::search(env->begin(), env->end(), secret.begin(), secret.end()), env->end());

  auto opened = open(*env, pass("correct horse"), kPurposeMasterSeed);
  ASSERT_TRUE(opened.has_value()) << to_string(opened.error());
  EXPECT_TRUE(opened->equals(secret));

  // Fresh salt and nonce each time.
  auto env2 = seal(secret, pass("correct horse"), kPurposeMasterSeed, kFast);
  EXPECT_NE(*env, *env2);
}

TEST(Vault, WrongPassphraseIsCryptoError) {
  auto env = seal(secret32(), pass("right"), kPurposeMasterSeed, kFast);
  auto opened = open(*env, pass("wrong"), kPurposeMasterSeed);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kCrypto);
  EXPECT_NE(opened.error().message.find("wrong passphrase"), std::string::npos);
  EXPECT_EQ(exit_code_for(opened.error().code), 2);
}

TEST(Vault, PurposeIsBound) {
  auto env = seal(secret32(), pass("p"), hodl_purpose("AAAA"), kFast);
  EXPECT_EQ(open(*env, pass("p"), kPurposeMasterSeed).error().code, ErrorCode::kCrypto);
  EXPECT_EQ(open(*env, pass("p"), hodl_purpose("AAAB")).error().code, ErrorCode::kCrypto);
  EXPECT_TRUE(open(*env, pass("p"), hodl_purpose("AAAA")).has_value());
}

TEST(Vault, EveryTamperedByteIsDetected) {
  auto env = seal(secret32(), pass("p"), kPurposeMasterSeed, kFast);
  ASSERT_TRUE(env.has_value());
  for (std::size_t i = 0; i < env->size(); ++i) {
    auto bad = *env;
    bad[i] ^= 0x01;
    auto r = open(bad, pass("p"), kPurposeMasterSeed);
    ASSERT_FALSE(r) << "flip at byte " << i << " went unnoticed";
    // Structural fields fail the parser, everything else the AEAD.
    EXPECT_TRUE(r.error().code == ErrorCode::kCrypto || r.error().code == ErrorCode::kCorrupt)
        << i << ": " << to_string(r.error());
    if (i >= kHeaderSize) {
      EXPECT_EQ(r.error().code, ErrorCode::kCrypto) << i;
    }
  }
}

TEST(Vault, TruncatedOrForeignEnvelopesAreCorrupt) {
  auto env = seal(secret32(), pass("p"), kPurposeMasterSeed, kFast);
  for (std::size_t n : {std::size_t{0}, std::size_t{10}, kHeaderSize - 1, kHeaderSize,
                        env->size() - 1}) {
    std::vector<std::uint8_t> cut(env->begin(), env->begin() + static_cast<long>(n));
    EXPECT_EQ(open(cut, pass("p"), kPurposeMasterSeed).error().code, ErrorCode::kCorrupt) << n;
  }
  auto longer = *env;
  longer.push_back(0);
  EXPECT_EQ(open(longer, pass("p"), kPurposeMasterSeed).error().code, ErrorCode::kCorrupt);
  auto v2 = *env;
  v2[7] = 2;
  EXPECT_NE(open(v2, pass("p"), kPurposeMasterSeed).error().message.find("version"),
            std::string::npos);
  // A hostile memlimit is refused before any allocation.
  auto huge = *env;
  for (int i = 0; i < 8; ++i) huge[13 + i] = 0xff;
  auto r = open(huge, pass("p"), kPurposeMasterSeed);
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(r.error().message.find("unreasonable"), std::string::npos);
}

TEST(Vault, RejectsBadSealArguments) {
  EXPECT_EQ(seal({}, pass("p"), "x", kFast).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(seal(secret32(), SecureBytes(), "x", kFast).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(seal(secret32(), pass("p"), "", kFast).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(seal(secret32(), pass("p"), "x", SealOptions{0, kMemlimitMinBytes}).error().code,
            ErrorCode::kInvalidArgument);
}

class PassphraseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qtw-pass-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    ::unsetenv("QTW_TEST_PASS");
    ::unsetenv("CREDENTIALS_DIRECTORY");
    src_.env_var = "QTW_TEST_PASS";
  }
  void TearDown() override {
    ::unsetenv("QTW_TEST_PASS");
    ::unsetenv("CREDENTIALS_DIRECTORY");
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path file(const std::string& name, const std::string& text, mode_t mode) {
    auto p = dir_ / name;
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
    return p;
  }
  static std::string str(const SecureBytes& b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  std::filesystem::path dir_;
  PassphraseSource src_;
};

TEST_F(PassphraseTest, NoSourceSaysWhatToDo) {
  auto r = load_passphrase(src_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("--passphrase-file"), std::string::npos);
  EXPECT_NE(r.error().message.find("CREDENTIALS_DIRECTORY"), std::string::npos);
}

TEST_F(PassphraseTest, Environment) {
  ::setenv("QTW_TEST_PASS", "from env", 1);
  EXPECT_EQ(str(*load_passphrase(src_)), "from env");
}

TEST_F(PassphraseTest, FileWinsAndDropsOneTrailingNewline) {
  ::setenv("QTW_TEST_PASS", "from env", 1);
  src_.passphrase_file = file("p", "from file \n", 0600);
  EXPECT_EQ(str(*load_passphrase(src_)), "from file ");
  src_.passphrase_file = file("q", "crlf\r\n", 0400);
  EXPECT_EQ(str(*load_passphrase(src_)), "crlf");
}

TEST_F(PassphraseTest, GroupOrWorldReadableFileIsRefused) {
  for (mode_t mode : {0640, 0604, 0660, 0644}) {
    src_.passphrase_file = file("p" + std::to_string(mode), "secret", mode);
    auto r = load_passphrase(src_);
    ASSERT_FALSE(r) << std::oct << mode;
    EXPECT_EQ(r.error().code, ErrorCode::kPermission);
    EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos);
  }
}

TEST_F(PassphraseTest, MissingAndEmptyFiles) {
  src_.passphrase_file = dir_ / "nope";
  EXPECT_EQ(load_passphrase(src_).error().code, ErrorCode::kNotFound);
  src_.passphrase_file = file("empty", "\n", 0600);
  EXPECT_EQ(load_passphrase(src_).error().code, ErrorCode::kInvalidArgument);
  src_.passphrase_file = file("big", std::string(5000, 'a'), 0600);
  EXPECT_EQ(load_passphrase(src_).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(PassphraseTest, SystemdCredential) {
  file("qtw-passphrase", "from systemd\n", 0400);
  ::setenv("CREDENTIALS_DIRECTORY", dir_.c_str(), 1);
  EXPECT_EQ(str(*load_passphrase(src_)), "from systemd");
  ::setenv("QTW_TEST_PASS", "env first", 1);
  EXPECT_EQ(str(*load_passphrase(src_)), "env first");
}

}  // namespace
}  // namespace qtw::vault
