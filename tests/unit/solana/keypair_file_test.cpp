#include "qtw/solana/keypair_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace qtw::solana {
namespace {

class KeypairFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("qtw-kp-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write_text(const std::filesystem::path& p, const std::string& text, mode_t mode = 0600) {
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
  }
  std::filesystem::path dir_;
};

TEST_F(KeypairFile, WritesSolanaCliFormatWithMode0600AndReadsBack) {
  const auto kp = Keypair::generate();
  const auto path = dir_ / "sub" / "id.json";
  ASSERT_TRUE(write_keypair_file(path, kp));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text.front(), '[');
  EXPECT_EQ(text.back(), ']');  // no trailing newline, no spaces (solana-sdk write_keypair)
  EXPECT_EQ(text.find(' '), std::string::npos);
  auto back = read_keypair_file(path);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->pubkey(), kp.pubkey());
  // Never clobbers an existing key unless asked.
  auto again = write_keypair_file(path, Keypair::generate());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(read_keypair_file(path)->pubkey(), kp.pubkey());
  EXPECT_TRUE(write_keypair_file(path, Keypair::generate(), /*overwrite=*/true));
}

TEST_F(KeypairFile, RefusesGroupOrWorldReadableUnlessAllowed) {
  const auto kp = Keypair::generate();
  const auto path = dir_ / "open.json";
  ASSERT_TRUE(write_keypair_file(path, kp));
  ::chmod(path.c_str(), 0644);
  auto r = read_keypair_file(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermission);
  EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos);
  KeypairFileOptions allow;
  allow.allow_insecure_permissions = true;
  EXPECT_TRUE(read_keypair_file(path, allow));
}

TEST_F(KeypairFile, ParseRejectsMalformedText) {
  std::string ok = "[";
  for (int i = 0; i < 64; ++i) ok += (i ? "," : "") + std::string("0");
  ok += "]";
  // 64 zeros: the pubkey half (zeros) does not match the seed's pubkey.
  auto mismatch = parse_keypair_json(ok);
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().message.find("same pubkey"), std::string::npos);
  const char* bad[] = {"", "{}", "[1,2,3]", "[256", "not json", "[-1]", "[1,,2]", "[ ]"};
  for (const char* b : bad) EXPECT_FALSE(parse_keypair_json(b)) << b;
  std::string too_many = ok;
  too_many.insert(too_many.size() - 1, ",0");
  auto r = parse_keypair_json(too_many);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("65 numbers"), std::string::npos);
  std::string over = ok;
  over.replace(1, 1, "300");
  EXPECT_NE(parse_keypair_json(over).error().message.find("over 255"), std::string::npos);
  // Whitespace around elements is accepted, as solana-sdk read_keypair trims.
  const auto kp = Keypair::generate();
  const auto bytes = kp.to_bytes();
  std::string spaced = " [ ";
  for (std::size_t i = 0; i < bytes.size(); ++i)
    spaced += (i ? " , " : "") + std::to_string(bytes.data()[i]);
  spaced += " ]\n";
  auto p = parse_keypair_json(spaced);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pubkey(), kp.pubkey());
}

TEST_F(KeypairFile, MissingFileIsNotFound) {
  auto r = read_keypair_file(dir_ / "nope.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace qtw::solana
