#include "qtw/secure_bytes.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace qtw {

void ensure_sodium_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      std::fputs("qtw: fatal: libsodium failed to initialise\n", stderr);
      std::abort();
    }
  });
}

void secure_wipe(std::span<std::uint8_t> bytes) noexcept {
  if (!bytes.empty()) sodium_memzero(bytes.data(), bytes.size());
}

SecureBytes::SecureBytes(std::size_t size) : size_(size) {
  ensure_sodium_initialized();
  if (size == 0) return;
  data_ = static_cast<std::uint8_t*>(sodium_malloc(size));
  if (data_ == nullptr) {
    // Continuing without protected memory could page secrets to disk.
    std::fputs("qtw: fatal: sodium_malloc failed (out of memory or RLIMIT_MEMLOCK)\n", stderr);
    std::abort();
  }
  sodium_memzero(data_, size);
}

SecureBytes SecureBytes::copy_of(std::span<const std::uint8_t> bytes) {
  SecureBytes out(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data_, bytes.data(), bytes.size());
  return out;
}

SecureBytes::SecureBytes(SecureBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);  // sodium_free wipes before freeing
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

SecureBytes::~SecureBytes() {
  if (data_ != nullptr) sodium_free(data_);
}

SecureBytes SecureBytes::clone() const { return copy_of(span()); }

bool SecureBytes::equals(std::span<const std::uint8_t> other) const noexcept {
  if (other.size() != size_) return false;
  if (size_ == 0) return true;
  return sodium_memcmp(data_, other.data(), size_) == 0;
}

}  // namespace qtw
