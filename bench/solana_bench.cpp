// Solana primitives: Ed25519 sign/verify (libsodium), base58 of a pubkey,
// legacy message compile + serialize, transaction deserialize.
// items_processed counts one operation per iteration, so Google Benchmark
// reports ops/s in the items_per_second column.
#include <benchmark/benchmark.h>

#include <vector>

#include "qtw/solana/encoding.h"
#include "qtw/solana/programs.h"
#include "qtw/solana/transaction.h"

namespace {

using namespace qtw::solana;

Keypair key(std::uint8_t fill) {
  return *Keypair::from_seed(std::vector<std::uint8_t>(32, fill));
}

Hash blockhash() {
  Hash h;
  h.bytes.fill(0x42);
  return h;
}

std::vector<Instruction> transfers(const Pubkey& from, int n) {
  std::vector<Instruction> ixs;
  for (int i = 0; i < n; ++i)
    ixs.push_back(
        system_program::transfer(from, key(static_cast<std::uint8_t>(100 + i)).pubkey(), 890'880));
  return ixs;
}

// A 215-byte transfer's message is 150 bytes; sign what a wallet signs.
std::vector<std::uint8_t> transfer_message_bytes() {
  const auto payer = key(1);
  const auto ixs = transfers(payer.pubkey(), 1);
  return Message::compile(payer.pubkey(), ixs, blockhash())->serialize();
}

void BM_Ed25519Sign(benchmark::State& state) {
  const auto kp = key(1);
  const auto msg = transfer_message_bytes();
  for (auto _ : state) benchmark::DoNotOptimize(kp.sign(msg));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  const auto kp = key(1);
  const auto msg = transfer_message_bytes();
  const auto sig = kp.sign(msg);
  for (auto _ : state) {
    const bool ok = verify(kp.pubkey(), msg, sig);
    if (!ok) state.SkipWithError("signature did not verify");
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Verify);

void BM_Base58EncodePubkey(benchmark::State& state) {
  const auto pk = key(1).pubkey();
  for (auto _ : state) benchmark::DoNotOptimize(pk.to_base58());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Base58EncodePubkey);

void BM_Base58DecodePubkey(benchmark::State& state) {
  const auto text = key(1).pubkey().to_base58();
  for (auto _ : state) {
    auto pk = Pubkey::from_base58(text);
    if (!pk) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(pk);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Base58DecodePubkey);

// Compile + serialize a message of state.range(0) transfers from one payer.
void BM_MessageCompileSerialize(benchmark::State& state) {
  const auto payer = key(1);
  const auto ixs = transfers(payer.pubkey(), static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto msg = Message::compile(payer.pubkey(), ixs, blockhash());
    if (!msg) state.SkipWithError("compile failed");
    benchmark::DoNotOptimize(msg->serialize());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MessageCompileSerialize)->Arg(1)->Arg(20);

// Full path for one Explorer funding: compile, sign, serialize to wire.
void BM_TransferBuildSignSerialize(benchmark::State& state) {
  const auto payer = key(1);
  const auto ixs = transfers(payer.pubkey(), static_cast<int>(state.range(0)));
  const Keypair* signers[] = {&payer};
  for (auto _ : state) {
    auto tx = Transaction::from_message(*Message::compile(payer.pubkey(), ixs, blockhash()));
    if (!tx.sign(signers)) state.SkipWithError("sign failed");
    benchmark::DoNotOptimize(tx.serialize());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TransferBuildSignSerialize)->Arg(1)->Arg(20);

void BM_TransactionDeserialize(benchmark::State& state) {
  const auto payer = key(1);
  const auto ixs = transfers(payer.pubkey(), static_cast<int>(state.range(0)));
  auto tx = Transaction::from_message(*Message::compile(payer.pubkey(), ixs, blockhash()));
  const Keypair* signers[] = {&payer};
  (void)tx.sign(signers);
  const auto wire = *tx.serialize();
  for (auto _ : state) {
    auto back = Transaction::deserialize(wire);
    if (!back) state.SkipWithError("deserialize failed");
    benchmark::DoNotOptimize(back);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TransactionDeserialize)->Arg(1)->Arg(20);

}  // namespace
