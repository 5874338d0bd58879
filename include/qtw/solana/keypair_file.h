#pragma once
// Solana CLI keypair files: a JSON array of 64 decimal bytes, seed || pubkey
// (solana-sdk keypair/src/lib.rs read_keypair / write_keypair).
#include <filesystem>
#include <string_view>

#include "qtw/result.h"
#include "qtw/solana/types.h"

namespace qtw::solana {

struct KeypairFileOptions {
  // Refuse to read a file that group or others can read (kPermission), since
  // it holds a secret. Default: refuse. Override only for throwaway keys.
  bool allow_insecure_permissions = false;
};

// Parses the JSON text form. Errors (kParse) name the problem: not an array,
// wrong element count, an element not in 0..255, pubkey/seed mismatch.
// The text is not retained; intermediate buffers are wiped.
[[nodiscard]] Result<Keypair> parse_keypair_json(std::string_view text);

// Reads and parses a keypair file. kNotFound if missing, kPermission if mode
// allows group/other access (unless overridden), kParse if malformed.
[[nodiscard]] Result<Keypair> read_keypair_file(const std::filesystem::path& path,
                                                const KeypairFileOptions& options = {});

// Writes `[b0,b1,...,b63]` (no spaces, no newline) to a new file created with
// mode 0600 (O_EXCL: kAlreadyExists if the file exists unless `overwrite`).
// Parent directories are created. The write is fsync'd.
[[nodiscard]] Status write_keypair_file(const std::filesystem::path& path, const Keypair& keypair,
                                        bool overwrite = false);

}  // namespace qtw::solana
