#include "qtw/vault/vault.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace qtw::vault {

static_assert(kSaltSize == crypto_pwhash_SALTBYTES);
static_assert(kNonceSize == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kTagSize == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(kOpslimitMin == crypto_pwhash_OPSLIMIT_MIN);
static_assert(kMemlimitMinBytes == crypto_pwhash_MEMLIMIT_MIN);
static_assert(kOpslimitModerate == crypto_pwhash_OPSLIMIT_MODERATE);
static_assert(kMemlimitModerateBytes == crypto_pwhash_MEMLIMIT_MODERATE);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32);

namespace {

constexpr std::size_t kKeySize = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr std::size_t kMaxPassphraseSize = 4096;

void put_le(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint64_t get_le(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct Parsed {
  EnvelopeInfo info;
  std::span<const std::uint8_t> header;  // everything before the ciphertext
  std::span<const std::uint8_t> salt;
  std::span<const std::uint8_t> nonce;
  std::span<const std::uint8_t> ciphertext;
};

Result<Parsed> parse(std::span<const std::uint8_t> env) {
  // Bounds are checked before every read (the envelope comes from disk).
  if (env.size() < kHeaderSize) {
    return make_error(ErrorCode::kCorrupt, "sealed secret is truncated (" +
                                               std::to_string(env.size()) + " bytes, header is " +
                                               std::to_string(kHeaderSize) + ")");
  }
  if (std::memcmp(env.data(), kEnvelopeMagic.data(), kEnvelopeMagic.size()) != 0) {
    return make_error(ErrorCode::kCorrupt, "not a qtw sealed secret (bad magic)");
  }
  const std::uint8_t* p = env.data() + kEnvelopeMagic.size();
  Parsed out;
  out.info.version = p[0];
  out.info.alg = p[1];
  if (out.info.version != kEnvelopeVersion) {
    return make_error(ErrorCode::kCorrupt, "sealed secret has unknown version " +
                                               std::to_string(out.info.version) +
                                               " (this qtw reads version 1)");
  }
  if (out.info.alg != kAlgArgon2idXChaCha20Poly1305) {
    return make_error(ErrorCode::kCorrupt,
                      "sealed secret uses unknown algorithm " + std::to_string(out.info.alg));
  }
  p += 2;
  out.info.opslimit = get_le(p, 4);
  p += 4;
  out.info.memlimit_bytes = get_le(p, 8);
  p += 8;
  out.salt = {p, kSaltSize};
  p += kSaltSize;
  out.nonce = {p, kNonceSize};
  p += kNonceSize;
  const std::uint64_t ct_len = get_le(p, 4);
  p += 4;
  if (ct_len < kTagSize || ct_len - kTagSize > kMaxSecretSize) {
    return make_error(ErrorCode::kCorrupt, "sealed secret has a bad length field");
  }
  if (env.size() != kHeaderSize + ct_len) {
    return make_error(ErrorCode::kCorrupt, "sealed secret is " + std::to_string(env.size()) +
                                               " bytes, its header says " +
                                               std::to_string(kHeaderSize + ct_len));
  }
  if (out.info.opslimit < crypto_pwhash_OPSLIMIT_MIN || out.info.opslimit > kOpslimitMaxAccepted ||
      out.info.memlimit_bytes < crypto_pwhash_MEMLIMIT_MIN ||
      out.info.memlimit_bytes > kMemlimitMaxAcceptedBytes) {
    return make_error(ErrorCode::kCorrupt, "sealed secret asks for unreasonable Argon2id "
                                           "parameters (opslimit " +
                                               std::to_string(out.info.opslimit) + ", memlimit " +
                                               std::to_string(out.info.memlimit_bytes) + ")");
  }
  out.header = env.first(kHeaderSize);
  out.ciphertext = env.subspan(kHeaderSize);
  out.info.secret_size = static_cast<std::size_t>(ct_len - kTagSize);
  return out;
}

Result<SecureBytes> derive_key(const SecureBytes& passphrase, std::span<const std::uint8_t> salt,
                               std::uint64_t opslimit, std::uint64_t memlimit) {
  SecureBytes key(kKeySize);
  if (crypto_pwhash(key.data(), key.size(), reinterpret_cast<const char*>(passphrase.data()),
                    passphrase.size(), salt.data(), opslimit, static_cast<std::size_t>(memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(ErrorCode::kCrypto, "Argon2id failed (could not allocate " +
                                              std::to_string(memlimit) + " bytes?)");
  }
  return key;
}

std::vector<std::uint8_t> associated_data(std::span<const std::uint8_t> header,
                                          std::string_view purpose) {
  std::vector<std::uint8_t> ad(header.begin(), header.end());
  ad.insert(ad.end(), purpose.begin(), purpose.end());
  return ad;
}

}  // namespace

std::string hodl_purpose(std::string_view pubkey_base58) {
  return "qtw hodl key " + std::string(pubkey_base58);
}

Result<std::vector<std::uint8_t>> seal(std::span<const std::uint8_t> secret,
                                       const SecureBytes& passphrase, std::string_view purpose,
                                       const SealOptions& options) {
  ensure_sodium_initialized();
  if (secret.empty() || secret.size() > kMaxSecretSize) {
    return make_error(ErrorCode::kInvalidArgument, "secret to seal must be 1.." +
                                                       std::to_string(kMaxSecretSize) + " bytes");
  }
  if (passphrase.empty()) return make_error(ErrorCode::kInvalidArgument, "empty passphrase");
  if (purpose.empty()) return make_error(ErrorCode::kInvalidArgument, "empty seal purpose");
  if (options.opslimit < crypto_pwhash_OPSLIMIT_MIN || options.opslimit > kOpslimitMaxAccepted ||
      options.memlimit_bytes < crypto_pwhash_MEMLIMIT_MIN ||
      options.memlimit_bytes > kMemlimitMaxAcceptedBytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      "Argon2id opslimit must be 1.." + std::to_string(kOpslimitMaxAccepted) +
                          " and memlimit " + std::to_string(crypto_pwhash_MEMLIMIT_MIN) + ".." +
                          std::to_string(kMemlimitMaxAcceptedBytes) + " bytes");
  }
  std::uint8_t salt[kSaltSize];
  std::uint8_t nonce[kNonceSize];
  randombytes_buf(salt, sizeof salt);
  randombytes_buf(nonce, sizeof nonce);

  std::vector<std::uint8_t> out;
  out.reserve(kHeaderSize + secret.size() + kTagSize);
  out.insert(out.end(), kEnvelopeMagic.begin(), kEnvelopeMagic.end());
  out.push_back(kEnvelopeVersion);
  out.push_back(kAlgArgon2idXChaCha20Poly1305);
  put_le(out, options.opslimit, 4);
  put_le(out, options.memlimit_bytes, 8);
  out.insert(out.end(), salt, salt + kSaltSize);
  out.insert(out.end(), nonce, nonce + kNonceSize);
  put_le(out, secret.size() + kTagSize, 4);

  QTW_ASSIGN_OR_RETURN(SecureBytes key,
                       derive_key(passphrase, salt, options.opslimit, options.memlimit_bytes));
  const auto ad = associated_data(std::span(out).first(kHeaderSize), purpose);
  out.resize(kHeaderSize + secret.size() + kTagSize);
  unsigned long long ct_len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kHeaderSize, &ct_len, secret.data(),
                                             secret.size(), ad.data(), ad.size(), nullptr, nonce,
                                             key.data());
  if (ct_len != secret.size() + kTagSize) {
    return make_error(ErrorCode::kInternal, "unexpected ciphertext length");
  }
  return out;
}

Result<EnvelopeInfo> inspect(std::span<const std::uint8_t> envelope) {
  QTW_ASSIGN_OR_RETURN(Parsed parsed, parse(envelope));
  return parsed.info;
}

Result<SecureBytes> open(std::span<const std::uint8_t> envelope, const SecureBytes& passphrase,
                         std::string_view purpose) {
  ensure_sodium_initialized();
  if (passphrase.empty()) return make_error(ErrorCode::kInvalidArgument, "empty passphrase");
  QTW_ASSIGN_OR_RETURN(Parsed parsed, parse(envelope));
  QTW_ASSIGN_OR_RETURN(SecureBytes key, derive_key(passphrase, parsed.salt, parsed.info.opslimit,
                                                   parsed.info.memlimit_bytes));
  const auto ad = associated_data(parsed.header, purpose);
  SecureBytes secret(parsed.info.secret_size);
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          secret.data(), &len, nullptr, parsed.ciphertext.data(), parsed.ciphertext.size(),
          ad.data(), ad.size(), parsed.nonce.data(), key.data()) != 0) {
    return make_error(ErrorCode::kCrypto,
                      "cannot open sealed secret '" + std::string(purpose) +
                          "': wrong passphrase or tampered data (check QTW_PASSPHRASE / "
                          "--passphrase-file)");
  }
  return secret;
}

Result<SecureBytes> read_secret_file(const std::filesystem::path& path, std::size_t max_size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    const int err = errno;
    return make_error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                      "cannot open " + path.string() + ": " + std::strerror(err), err);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(ErrorCode::kIo, "cannot stat " + path.string() + ": " + std::strerror(err),
                      err);
  }
  if (!S_ISREG(st.st_mode)) {
    // A FIFO or device would block or never end; a secret is a plain file.
    ::close(fd);
    return make_error(ErrorCode::kInvalidArgument, path.string() + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(ErrorCode::kPermission, path.string() + " has mode " + mode +
                                                  ": a secret file must not be accessible by "
                                                  "group or others (chmod 600 it)");
  }
  // Read into secure memory directly: the secret never sits in a std::string.
  SecureBytes buf(max_size + 1);
  std::size_t used = 0;
  while (used < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + used, buf.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return make_error(ErrorCode::kIo, "cannot read " + path.string() + ": " + std::strerror(err),
                        err);
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (used > max_size) {
    return make_error(ErrorCode::kInvalidArgument,
                      path.string() + " is larger than " + std::to_string(max_size) + " bytes");
  }
  return SecureBytes::copy_of(buf.span().first(used));
}

Result<SecureBytes> load_passphrase(const PassphraseSource& source) {
  auto finish = [](SecureBytes raw, std::string_view where) -> Result<SecureBytes> {
    std::size_t n = raw.size();
    if (n > 0 && raw.data()[n - 1] == '\n') --n;
    if (n > 0 && raw.data()[n - 1] == '\r') --n;
    if (n == 0) {
      return make_error(ErrorCode::kInvalidArgument, "the passphrase from " + std::string(where) +
                                                         " is empty");
    }
    return SecureBytes::copy_of(raw.span().first(n));
  };
  if (source.passphrase_file) {
    auto raw = read_secret_file(*source.passphrase_file, kMaxPassphraseSize);
    if (!raw) return tl::unexpected(with_context(raw.error(), "--passphrase-file"));
    return finish(std::move(*raw), source.passphrase_file->string());
  }
  if (!source.env_var.empty()) {
    if (const char* v = std::getenv(source.env_var.c_str()); v != nullptr && *v != '\0') {
      const std::size_t n = std::strlen(v);
      if (n > kMaxPassphraseSize) {
        return make_error(ErrorCode::kInvalidArgument, source.env_var + " is too long");
      }
      return SecureBytes::copy_of({reinterpret_cast<const std::uint8_t*>(v), n});
    }
  }
  if (!source.credential_name.empty()) {
    if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir != nullptr && *dir != '\0') {
      const std::filesystem::path p = std::filesystem::path(dir) / source.credential_name;
      std::error_code ec;
      if (std::filesystem::exists(p, ec)) {
        auto raw = read_secret_file(p, kMaxPassphraseSize);
        if (!raw) return tl::unexpected(with_context(raw.error(), "systemd credential"));
        return finish(std::move(*raw), p.string());
      }
    }
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "no passphrase: set " +
                        (source.env_var.empty() ? std::string("QTW_PASSPHRASE") : source.env_var) +
                        ", pass --passphrase-file FILE (mode 0600), or provide the systemd "
                        "credential $CREDENTIALS_DIRECTORY/" +
                        (source.credential_name.empty() ? std::string("qtw-passphrase")
                                                        : source.credential_name));
}

}  // namespace qtw::vault
