// Emits qtw-built transactions as JSON for tests/conformance/
// kit_crosscheck.test.mjs, which rebuilds each one with @solana/kit from the
// same inputs and compares. Inputs are fixed (seeds, blockhash, amounts), so
// the output is deterministic (Ed25519 signing is deterministic, RFC 8032).
//
// Output: {"blockhash": b58, "cases": [{"name", "fee_payer_seed": hex,
//   "cu_limit": n|null, "cu_price": n|null, "transfers": [{"from_seed": hex,
//   "to_seed": hex, "lamports": "n"}], "wire_base64": ..}], "curve": [{"key":
//   b58, "on_curve": bool}]}
// Seeds are throwaway test values; printing them is the point here.
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "qtw/solana/encoding.h"
#include "qtw/solana/programs.h"
#include "qtw/solana/transaction.h"

namespace {

using namespace qtw::solana;

struct Transfer {
  std::uint8_t from_fill;
  std::uint8_t to_fill;
  std::uint64_t lamports;
};

struct Case {
  std::string name;
  std::uint8_t fee_payer_fill;
  std::optional<std::uint32_t> cu_limit;
  std::optional<std::uint64_t> cu_price;
  std::vector<Transfer> transfers;
};

std::vector<std::uint8_t> seed_of(std::uint8_t fill) {
  return std::vector<std::uint8_t>(32, fill);
}

Keypair key_of(std::uint8_t fill) {
  return *Keypair::from_seed(seed_of(fill));
}

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}  // only [0-9A-Za-z+/=] here

int emit_case(const Case& c, const Hash& blockhash, bool first) {
  std::vector<Instruction> ixs;
  if (c.cu_limit) ixs.push_back(compute_budget::set_compute_unit_limit(*c.cu_limit));
  if (c.cu_price) ixs.push_back(compute_budget::set_compute_unit_price(*c.cu_price));
  std::vector<Keypair> signers;
  auto want_signer = [&](std::uint8_t fill) {
    const auto kp = key_of(fill);
    for (const auto& s : signers) {
      if (s.pubkey() == kp.pubkey()) return;
    }
    signers.push_back(kp.clone());
  };
  want_signer(c.fee_payer_fill);
  for (const auto& t : c.transfers) {
    ixs.push_back(system_program::transfer(key_of(t.from_fill).pubkey(), key_of(t.to_fill).pubkey(),
                                           t.lamports));
    want_signer(t.from_fill);
  }
  auto msg = Message::compile(key_of(c.fee_payer_fill).pubkey(), ixs, blockhash);
  if (!msg) {
    std::cerr << c.name << ": " << msg.error().message << "\n";
    return 1;
  }
  auto tx = Transaction::from_message(std::move(*msg));
  std::vector<const Keypair*> ptrs;
  for (const auto& s : signers) ptrs.push_back(&s);
  if (auto st = tx.sign(ptrs); !st || !tx.is_fully_signed()) {
    std::cerr << c.name << ": signing failed\n";
    return 1;
  }
  auto wire = tx.serialize();
  if (!wire) {
    std::cerr << c.name << ": " << wire.error().message << "\n";
    return 1;
  }
  std::cout << (first ? "" : ",\n") << "  {\"name\": " << quoted(c.name)
            << ", \"fee_payer_seed\": " << quoted(hex_encode(seed_of(c.fee_payer_fill)))
            << ", \"cu_limit\": " << (c.cu_limit ? std::to_string(*c.cu_limit) : "null")
            << ", \"cu_price\": " << (c.cu_price ? quoted(std::to_string(*c.cu_price)) : "null")
            << ", \"transfers\": [";
  for (std::size_t i = 0; i < c.transfers.size(); ++i) {
    const auto& t = c.transfers[i];
    std::cout << (i ? ", " : "") << "{\"from_seed\": " << quoted(hex_encode(seed_of(t.from_fill)))
              << ", \"to_seed\": " << quoted(hex_encode(seed_of(t.to_fill)))
              << ", \"lamports\": " << quoted(std::to_string(t.lamports)) << "}";
  }
  std::cout << "], \"wire_base64\": " << quoted(base64_encode(*wire)) << "}";
  return 0;
}

}  // namespace

int main() {
  // Fixed blockhash: sha256("qtw conformance") would do as well; any 32 bytes.
  Hash blockhash;
  for (std::size_t i = 0; i < blockhash.bytes.size(); ++i)
    blockhash.bytes[i] = static_cast<std::uint8_t>(0xA0 + i);

  constexpr std::uint8_t kBank = 1;
  constexpr std::uint8_t kBank2 = 2;
  std::vector<Case> cases;
  cases.push_back(
      {"single_transfer", kBank, std::nullopt, std::nullopt, {{kBank, 100, 1'000'000}}});
  cases.push_back(
      {"transfer_with_compute_budget", kBank, 450u, 25'000u, {{kBank, 101, 2'039'280}}});
  {
    Case c{"bank_funds_20_explorers", kBank, 20u * 300u, 1'000u, {}};
    for (std::uint8_t i = 0; i < 20; ++i)
      c.transfers.push_back({kBank, static_cast<std::uint8_t>(110 + i), 890'880u + i});
    cases.push_back(std::move(c));
  }
  {
    // Recovery: 5 Explorers each send everything back to one Bank; the
    // third Explorer pays the fee (so it is both a writable signer and index 0).
    Case c{"recovery_5_explorers_to_bank", 132, std::nullopt, std::nullopt, {}};
    for (std::uint8_t i = 0; i < 5; ++i)
      c.transfers.push_back({static_cast<std::uint8_t>(130 + i), kBank2, 1'000'000u * (i + 1)});
    cases.push_back(std::move(c));
  }
  {
    // Fee payer distinct from every transfer source, and a readonly signer
    // never appears: a Bank pays for an Explorer's transfer.
    Case c{"separate_fee_payer", kBank2, std::nullopt, 1u, {{140, 141, 5'000}}};
    cases.push_back(std::move(c));
  }

  std::cout << "{\"blockhash\": " << quoted(blockhash.to_base58()) << ",\n \"cases\": [\n";
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (emit_case(cases[i], blockhash, i == 0) != 0) return 1;
  }
  // is_on_curve on 256 deterministic pseudo-random values (xorshift64*), to be
  // compared with kit's isOffCurveAddress.
  std::cout << "\n ],\n \"curve\": [";
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 256; ++i) {
    Pubkey k;
    for (std::size_t j = 0; j < k.bytes.size(); j += 8) {
      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      const std::uint64_t v = x * 0x2545F4914F6CDD1Dull;
      for (std::size_t b = 0; b < 8; ++b) k.bytes[j + b] = static_cast<std::uint8_t>(v >> (8 * b));
    }
    std::cout << (i ? ", " : "") << "{\"key\": " << quoted(k.to_base58())
              << ", \"on_curve\": " << (is_on_curve(k) ? "true" : "false") << "}";
  }
  std::cout << "]}\n";
  return 0;
}
