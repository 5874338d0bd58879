#pragma once
// A wallet on a real local node for balancer tests and benches: a SQLite
// store in a temporary directory, a random master seed, N Banks, one HODL
// key funded by airdrop, and a Balancer whose RpcClient counts every HTTP
// request it puts on the wire (by the first JSON-RPC method of the request)
// and every JSON-RPC call (by method).
// Thread safety: one thread.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "qtw/result.h"
#include "qtw/rpc/rpc_client.h"
#include "qtw/store/key_store.h"
#include "qtw/vault/hot_keys.h"
#include "qtw/wallet/balancer.h"
#include "support/localnet.h"

namespace qtw::test {

// Counts what an RpcClient sends.
class RequestCounter final : public rpc::RpcObserver {
 public:
  void on_request(std::string_view method) override { ++calls[std::string(method)]; }
  void on_error(std::string_view method, ErrorCode) override { ++errors[std::string(method)]; }
  void on_http_request(std::string_view first_method, std::size_t) override {
    ++http[std::string(first_method)];
    ++http_total;
  }
  void reset() {
    calls.clear();
    errors.clear();
    http.clear();
    http_total = 0;
  }
  // "getMultipleAccounts=1 sendTransaction=1 ..." (HTTP requests by first method).
  [[nodiscard]] std::string http_summary() const;

  std::map<std::string, std::uint64_t> calls;   // JSON-RPC calls by method
  std::map<std::string, std::uint64_t> errors;  // failed attempts by method
  std::map<std::string, std::uint64_t> http;    // HTTP requests by first method
  std::uint64_t http_total = 0;
};

struct WalletRigOptions {
  int slot_ms = 20;
  std::uint32_t banks = 4;
  std::uint64_t hodl_lamports = 1'000'000'000'000;  // 1,000 SOL
  wallet::BalancerOptions balancer;                  // sender.poll_interval_ms etc.
  rpc::RpcClientOptions rpc;                          // observer is set by the rig
};

class WalletRig {
 public:
  // Errors: anything starting the node, opening the store or the airdrop.
  [[nodiscard]] static Result<std::unique_ptr<WalletRig>> start(WalletRigOptions options = {});
  ~WalletRig();

  [[nodiscard]] wallet::Balancer& balancer() { return *balancer_; }
  [[nodiscard]] store::KeyStore& store() { return *store_; }
  [[nodiscard]] rpc::RpcClient& rpc() { return *rpc_; }
  // A second client for checks, not counted.
  [[nodiscard]] rpc::RpcClient& observer_rpc() { return *check_rpc_; }
  [[nodiscard]] RequestCounter& counter() { return counter_; }
  [[nodiscard]] const std::string& url() const { return node_->url(); }
  // The wallet's hot keys (its random master seed), to derive its pubkeys.
  [[nodiscard]] const vault::HotKeys& hot_keys() const { return *hot_; }
  // Moves up to `n` available Explorers to used, as if Landers had used
  // them (spending nothing). Returns how many moved. `system_only`: as if
  // each had signed a System-only message through the signer (the Balancer
  // is told, and skips their token-account reads).
  [[nodiscard]] Result<std::size_t> use_explorers(std::size_t n, bool system_only = false);

 private:
  class Signer;
  WalletRig() = default;
  std::filesystem::path dir_;
  std::unique_ptr<LocalNode> node_;
  std::unique_ptr<store::KeyStore> store_;
  std::unique_ptr<vault::HotKeys> hot_;
  std::unique_ptr<solana::Keypair> hodl_;
  std::unique_ptr<Signer> signer_;
  RequestCounter counter_;
  std::unique_ptr<rpc::RpcClient> rpc_;
  std::unique_ptr<rpc::RpcClient> check_rpc_;
  std::unique_ptr<wallet::Balancer> balancer_;
};

}  // namespace qtw::test
