#include "qtw/solana/keypair_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

namespace qtw::solana {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

Result<Keypair> parse_keypair_json(std::string_view text) {
  // solana-sdk keypair/src/lib.rs read_keypair: trim, [ ... ], exactly 64
  // comma-separated u8 values, then the pubkey half must match the seed.
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') {
    return make_error(ErrorCode::kParse,
                      "keypair file is not a JSON array of 64 numbers ([n,n,...])");
  }
  text = text.substr(1, text.size() - 2);
  SecureBytes bytes(kKeypairBytesSize);
  std::size_t count = 0;
  std::size_t pos = 0;
  while (true) {
    std::size_t comma = text.find(',', pos);
    std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!item.empty() && is_space(item.front())) item.remove_prefix(1);
    while (!item.empty() && is_space(item.back())) item.remove_suffix(1);
    if (item.empty() || item.size() > 3) {
      return make_error(ErrorCode::kParse,
                        "keypair element " + std::to_string(count) + " is not a number 0..255");
    }
    unsigned value = 0;
    for (char c : item) {
      if (c < '0' || c > '9') {
        return make_error(ErrorCode::kParse,
                          "keypair element " + std::to_string(count) + " is not a number 0..255");
      }
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 255) {
      return make_error(ErrorCode::kParse,
                        "keypair element " + std::to_string(count) + " is over 255");
    }
    if (count < kKeypairBytesSize) bytes.data()[count] = static_cast<std::uint8_t>(value);
    ++count;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (count != kKeypairBytesSize) {
    return make_error(ErrorCode::kParse,
                      "keypair has " + std::to_string(count) + " numbers, expected 64");
  }
  return Keypair::from_bytes(bytes.span());
}

Result<Keypair> read_keypair_file(const std::filesystem::path& path,
                                  const KeypairFileOptions& options) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const auto code = errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo;
    return make_error(code, "cannot open keypair file " + path.string() + ": " + errno_text());
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return make_error(ErrorCode::kIo, "cannot stat " + path.string() + ": " + errno_text());
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::kInvalidArgument, path.string() + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0 && !options.allow_insecure_permissions) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(ErrorCode::kPermission,
                      "keypair file " + path.string() + " has mode " + mode +
                          ": others can read this secret. Run `chmod 600 " + path.string() +
                          "` (or pass --allow-insecure-keypair-file for a throwaway key)");
  }
  constexpr std::size_t kMaxFile = 4096;  // 64 numbers with generous spacing
  if (st.st_size > static_cast<off_t>(kMaxFile)) {
    ::close(fd);
    return make_error(ErrorCode::kParse,
                      "keypair file " + path.string() + " is too large to be a keypair");
  }
  // The file text is secret: read it into secure memory and wipe it after.
  SecureBytes buf(kMaxFile);
  std::size_t len = 0;
  while (len < kMaxFile) {
    const ssize_t n = ::read(fd, buf.data() + len, kMaxFile - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return make_error(ErrorCode::kIo, "cannot read " + path.string() + ": " + errno_text());
    }
    if (n == 0) break;
    len += static_cast<std::size_t>(n);
  }
  ::close(fd);
  auto kp = parse_keypair_json(std::string_view(reinterpret_cast<const char*>(buf.data()), len));
  if (!kp) return tl::unexpected(with_context(kp.error(), path.string()));
  return kp;
}

Status write_keypair_file(const std::filesystem::path& path, const Keypair& keypair,
                          bool overwrite) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec)
    return make_error(ErrorCode::kIo,
                      "cannot create " + path.parent_path().string() + ": " + ec.message());
  // Write to a temporary name created 0600 with O_EXCL, fsync, then link it
  // into place: no window where a partial or readable file exists.
  const std::filesystem::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(ErrorCode::kIo, "cannot create " + tmp.string() + ": " + errno_text());
  ::fchmod(fd, 0600);
  const SecureBytes bytes = keypair.to_bytes();
  // "[" + 64 * "255," = at most 258 characters.
  SecureBytes text(300);
  std::size_t len = 0;
  auto* out = reinterpret_cast<char*>(text.data());
  out[len++] = '[';
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0) out[len++] = ',';
    const unsigned v = bytes.data()[i];
    if (v >= 100) out[len++] = static_cast<char>('0' + v / 100);
    if (v >= 10) out[len++] = static_cast<char>('0' + v / 10 % 10);
    out[len++] = static_cast<char>('0' + v % 10);
  }
  out[len++] = ']';
  std::size_t written = 0;
  while (written < len) {
    const ssize_t n = ::write(fd, out + written, len - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return make_error(ErrorCode::kIo, "cannot write " + tmp.string() + ": " + errno_text());
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return make_error(ErrorCode::kIo, "cannot sync " + tmp.string() + ": " + errno_text());
  }
  if (overwrite) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      ::unlink(tmp.c_str());
      return make_error(ErrorCode::kIo,
                        "cannot rename into " + path.string() + ": " + errno_text());
    }
  } else {
    // link() fails with EEXIST instead of replacing: never clobber a key.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      if (err == EEXIST) {
        return make_error(
            ErrorCode::kAlreadyExists,
            path.string() + " already exists; refusing to overwrite a keypair (use --force)");
      }
      errno = err;
      return make_error(ErrorCode::kIo, "cannot create " + path.string() + ": " + errno_text());
    }
    ::unlink(tmp.c_str());
  }
  // Make the new directory entry durable too (fsync of the file alone does
  // not persist its name). Best effort: the key itself is already on disk.
  const std::filesystem::path dir =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace qtw::solana
