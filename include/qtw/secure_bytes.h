#pragma once
// SecureBytes: a fixed-size buffer for secret material (seeds, private keys,
// passphrases, derived sealing keys). Backed by sodium_malloc (guard pages,
// mlock'd where the OS allows), wiped with sodium_memzero and freed on
// destruction. Move-only; there is deliberately no operator<< and no implicit
// conversion to a string. Copy explicitly with clone() when you must.
#include <cstddef>
#include <cstdint>
#include <span>

namespace qtw {

class SecureBytes {
 public:
  SecureBytes() noexcept = default;
  // Allocates `size` zeroed bytes. Aborts the process if secure memory cannot
  // be allocated (out of memory or locked-memory limit): continuing without
  // it would risk swapping secrets to disk. Calls sodium_init() as needed.
  explicit SecureBytes(std::size_t size);
  // Allocates and copies `bytes` in. The caller remains responsible for
  // wiping its own copy.
  static SecureBytes copy_of(std::span<const std::uint8_t> bytes);

  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;
  SecureBytes(SecureBytes&& other) noexcept;
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  ~SecureBytes();

  [[nodiscard]] SecureBytes clone() const;
  [[nodiscard]] std::uint8_t* data() noexcept { return data_; }
  [[nodiscard]] const std::uint8_t* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::span<std::uint8_t> span() noexcept { return {data_, size_}; }
  [[nodiscard]] std::span<const std::uint8_t> span() const noexcept { return {data_, size_}; }
  // Constant-time comparison (sodium_memcmp).
  [[nodiscard]] bool equals(std::span<const std::uint8_t> other) const noexcept;

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// Calls sodium_init() once; safe from any thread. Aborts if libsodium cannot
// initialise (no usable randomness source).
void ensure_sodium_initialized();

// Wipes a caller-owned buffer (sodium_memzero).
void secure_wipe(std::span<std::uint8_t> bytes) noexcept;

}  // namespace qtw
