#pragma once
// Sealing secrets at rest (docs/KEYS.md, I5).
//
// A secret (master seed, imported HODL keypair) is sealed under a passphrase:
// Argon2id (libsodium crypto_pwhash, ALG_ARGON2ID13) turns the passphrase and
// a random 16-byte salt into a 32-byte key; XChaCha20-Poly1305-IETF
// (crypto_aead_xchacha20poly1305_ietf) encrypts the secret with a random
// 24-byte nonce. The envelope records everything needed to open it again
// (format in docs/KEYS.md):
//
//   "QTWSEAL" | version u8 | alg u8 | opslimit u32le | memlimit_bytes u64le |
//   salt[16] | nonce[24] | ciphertext_len u32le | ciphertext (secret || tag[16])
//
// The associated data is the header (every byte before the ciphertext)
// followed by a purpose string such as "qtw master seed v1", so an envelope
// cannot be swapped for another secret's envelope or have its parameters
// edited without detection.
//
// Thread safety: free functions, no shared state; safe from any thread.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qtw/result.h"
#include "qtw/secure_bytes.h"

namespace qtw::vault {

inline constexpr std::string_view kEnvelopeMagic = "QTWSEAL";
inline constexpr std::uint8_t kEnvelopeVersion = 1;
inline constexpr std::uint8_t kAlgArgon2idXChaCha20Poly1305 = 1;
inline constexpr std::size_t kSaltSize = 16;   // crypto_pwhash_SALTBYTES
inline constexpr std::size_t kNonceSize = 24;  // crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
inline constexpr std::size_t kTagSize = 16;    // crypto_aead_xchacha20poly1305_ietf_ABYTES
inline constexpr std::size_t kHeaderSize = 7 + 1 + 1 + 4 + 8 + kSaltSize + kNonceSize + 4;  // 65
// Largest secret we seal (a 64-byte keypair is the biggest we need).
inline constexpr std::size_t kMaxSecretSize = 4096;

// libsodium's named limits (checked against sodium.h in vault.cpp).
inline constexpr std::uint64_t kOpslimitMin = 1;                      // crypto_pwhash_OPSLIMIT_MIN
inline constexpr std::uint64_t kMemlimitMinBytes = 8192;              // crypto_pwhash_MEMLIMIT_MIN
inline constexpr std::uint64_t kOpslimitModerate = 3;                 // crypto_pwhash_OPSLIMIT_MODERATE
inline constexpr std::uint64_t kMemlimitModerateBytes = 268'435'456;  // crypto_pwhash_MEMLIMIT_MODERATE
// Opening refuses envelopes asking for more than this (a tampered or hostile
// envelope must not make us allocate unbounded memory). 4 GiB, 32 passes.
inline constexpr std::uint64_t kOpslimitMaxAccepted = 32;
inline constexpr std::uint64_t kMemlimitMaxAcceptedBytes = 4ull << 30;

struct SealOptions {
  // Argon2id passes. Default: OPSLIMIT_MODERATE (3), about 0.5-1 s with the
  // default memory on a current CPU: fine once per CLI run. Tests use
  // kOpslimitMin.
  std::uint64_t opslimit = kOpslimitModerate;
  // Argon2id memory in bytes. Default MEMLIMIT_MODERATE (256 MiB). Tests use
  // kMemlimitMinBytes.
  std::uint64_t memlimit_bytes = kMemlimitModerateBytes;
};

// What an envelope says about itself (no passphrase needed).
struct EnvelopeInfo {
  std::uint8_t version = 0;
  std::uint8_t alg = 0;
  std::uint64_t opslimit = 0;
  std::uint64_t memlimit_bytes = 0;
  std::size_t secret_size = 0;
};

// Seals `secret` (1..kMaxSecretSize bytes) under `passphrase` for `purpose`.
// Errors: kInvalidArgument (empty/oversized secret, empty passphrase or
// purpose, limits outside libsodium's range), kCrypto (Argon2id could not
// allocate its memory).
[[nodiscard]] Result<std::vector<std::uint8_t>> seal(std::span<const std::uint8_t> secret,
                                                     const SecureBytes& passphrase,
                                                     std::string_view purpose,
                                                     const SealOptions& options = {});

// Opens an envelope made by seal() with the same passphrase and purpose.
// Errors: kCorrupt (not an envelope, truncated, unknown version/alg,
// unreasonable parameters), kCrypto ("wrong passphrase or tampered
// envelope": AEAD verification failed; the two are indistinguishable by
// design).
[[nodiscard]] Result<SecureBytes> open(std::span<const std::uint8_t> envelope,
                                       const SecureBytes& passphrase, std::string_view purpose);

// Parses the header only. kCorrupt as for open().
[[nodiscard]] Result<EnvelopeInfo> inspect(std::span<const std::uint8_t> envelope);

// Purpose strings (associated data) used by qtw.
inline constexpr std::string_view kPurposeMasterSeed = "qtw master seed v1";
// "qtw hodl key <base58 pubkey>"
[[nodiscard]] std::string hodl_purpose(std::string_view pubkey_base58);

// Where the passphrase comes from. The first source that is configured wins,
// in this order: passphrase_file, the environment variable, the systemd
// credential.
struct PassphraseSource {
  // `--passphrase-file F`. Must be mode 0600 or stricter (kPermission).
  // Default: none.
  std::optional<std::filesystem::path> passphrase_file;
  // Environment variable read when set and non-empty. Default QTW_PASSPHRASE;
  // "" disables it.
  std::string env_var = "QTW_PASSPHRASE";
  // File name under $CREDENTIALS_DIRECTORY (systemd LoadCredential=).
  // Default "qtw-passphrase"; "" disables it. Same mode rule as the file.
  std::string credential_name = "qtw-passphrase";
};

// Loads the passphrase into secure memory. One trailing "\n" or "\r\n" of a
// file is dropped. Errors: kInvalidArgument (no source configured: the
// message lists the three ways; or the passphrase is empty or longer than
// 4096 bytes), kNotFound, kPermission (group/world-accessible file), kIo.
[[nodiscard]] Result<SecureBytes> load_passphrase(const PassphraseSource& source);

// Reads a secret file (a regular file, 0600 or stricter, not a symlink) into
// secure memory, at most `max_size` bytes. Used for passphrase, seed and
// token files.
[[nodiscard]] Result<SecureBytes> read_secret_file(const std::filesystem::path& path,
                                                   std::size_t max_size);

}  // namespace qtw::vault
