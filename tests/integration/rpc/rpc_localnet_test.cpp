// RpcClient and TransactionSender against the real local node
// (tools/localnet, LiteSVM) and the fault proxy (tools/faultproxy).
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "qtw/rpc/rpc_client.h"
#include "qtw/rpc/transaction_sender.h"
#include "qtw/solana/message.h"
#include "qtw/solana/programs.h"
#include "qtw/solana/transaction.h"
#include "support/localnet.h"

namespace qtw::rpc {
namespace {

using nlohmann::json;
using solana::Keypair;
using solana::Pubkey;

constexpr std::uint64_t kSol = 1'000'000'000;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A signed System transfer ready to send.
PendingTransaction make_transfer(const Keypair& from, const Pubkey& to, std::uint64_t lamports,
                                 const LatestBlockhash& lb,
                                 std::vector<std::uint8_t>* message_out = nullptr) {
  const solana::Instruction ix = solana::system_program::transfer(from.pubkey(), to, lamports);
  auto msg = solana::Message::compile(from.pubkey(), std::span(&ix, 1), lb.blockhash).value();
  if (message_out) *message_out = msg.serialize();
  auto tx = solana::Transaction::from_message(std::move(msg));
  const Keypair* signers[] = {&from};
  EXPECT_TRUE(tx.sign(signers));
  PendingTransaction p;
  p.wire = tx.serialize().value();
  p.signature = tx.id();
  p.last_valid_block_height = lb.last_valid_block_height;
  return p;
}

SenderOptions fast_sender(int slot_ms) {
  SenderOptions o;
  o.poll_interval_ms = slot_ms;
  o.rebroadcast_interval_ms = 20 * slot_ms;
  o.timeout_ms = 20'000;
  return o;
}

class LocalnetRpc : public ::testing::Test {
 protected:
  static constexpr int kSlotMs = 10;  // 150 blocks pass in ~1.5 s

  void SetUp() override {
    auto node = test::LocalNode::start(test::LocalNodeOptions{kSlotMs, 20'000, {}});
    ASSERT_TRUE(node) << to_string(node.error());
    node_ = std::move(*node);
    auto proxy = test::FaultProxy::start(node_->url());
    ASSERT_TRUE(proxy) << to_string(proxy.error());
    proxy_ = std::move(*proxy);
    direct_ = RpcClient::connect(node_->url()).value();
    RpcClientOptions o;
    o.retry.max_attempts = 3;
    via_proxy_ = RpcClient::connect(proxy_->url(), o).value();
  }

  // Airdrops and waits until the airdrop is confirmed.
  Keypair funded(std::uint64_t lamports) {
    Keypair kp = Keypair::generate();
    auto sig = direct_->request_airdrop(kp.pubkey(), lamports);
    EXPECT_TRUE(sig) << (sig ? "" : to_string(sig.error()));
    PendingTransaction p;
    p.signature = *sig;
    p.last_valid_block_height = UINT64_MAX;
    TransactionSender sender(*direct_, fast_sender(kSlotMs));
    auto out = sender.confirm_all(std::span(&p, 1), false).value();
    EXPECT_EQ(out[0].kind, TxOutcomeKind::kConfirmed);
    return kp;
  }

  json proxy_stats() { return json::parse(proxy_->stats().value()); }

  std::unique_ptr<test::LocalNode> node_;
  std::unique_ptr<test::FaultProxy> proxy_;
  std::unique_ptr<RpcClient> direct_;
  std::unique_ptr<RpcClient> via_proxy_;
};

TEST_F(LocalnetRpc, ReadsHaveValidatorShapes) {
  ASSERT_TRUE(direct_->get_health());
  EXPECT_FALSE(direct_->get_version().value().solana_core.empty());
  const auto slot = direct_->get_slot(Commitment::kProcessed).value();
  const auto height = direct_->get_block_height(Commitment::kProcessed).value();
  EXPECT_GE(height + 2, slot);
  auto lb = direct_->get_latest_blockhash().value();
  EXPECT_GT(lb.last_valid_block_height, height);
  EXPECT_TRUE(direct_->is_blockhash_valid(lb.blockhash).value());
  EXPECT_EQ(direct_->get_minimum_balance_for_rent_exemption(0).value(), 890'880u);
  EXPECT_FALSE(direct_->get_account_info(Keypair::generate().pubkey()).value().has_value());
  EXPECT_TRUE(direct_->get_recent_prioritization_fees().has_value());
}

TEST_F(LocalnetRpc, TransferLandsAndBalancesChangeByAmountPlusFee) {
  Keypair a = funded(2 * kSol);
  const Pubkey b = Keypair::generate().pubkey();
  const std::uint64_t amount = 1'234'567;
  const std::uint64_t a_before = direct_->get_balance(a.pubkey()).value();
  auto lb = direct_->get_latest_blockhash().value();
  std::vector<std::uint8_t> message;
  auto tx = make_transfer(a, b, amount, lb, &message);
  auto fee = direct_->get_fee_for_message(message).value();
  ASSERT_TRUE(fee.has_value());
  EXPECT_GT(*fee, 0u);

  TransactionSender sender(*direct_, fast_sender(kSlotMs));
  auto out = sender.send_and_confirm(tx).value();
  ASSERT_EQ(out.kind, TxOutcomeKind::kConfirmed) << out.err << out.last_error;
  EXPECT_TRUE(out.landed);
  EXPECT_EQ(out.broadcasts, 1);
  EXPECT_EQ(a_before - direct_->get_balance(a.pubkey()).value(), amount + *fee);
  auto acct = direct_->get_account_info(b).value();
  ASSERT_TRUE(acct.has_value());
  EXPECT_EQ(acct->lamports, amount);
  EXPECT_EQ(acct->owner, solana::system_program_id());
  auto info = direct_->get_transaction(tx.signature).value();
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->fee_lamports, *fee);
  auto history = direct_->get_signatures_for_address(b).value();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].signature, tx.signature);
}

TEST_F(LocalnetRpc, ExpiredBlockhashIsReportedExpiredAndNothingDoubleSpent) {
  Keypair a = funded(2 * kSol);
  const Pubkey b = Keypair::generate().pubkey();
  const std::uint64_t amount = 1'000'000;
  const std::uint64_t a_before = direct_->get_balance(a.pubkey()).value();
  auto lb = via_proxy_->get_latest_blockhash().value();
  auto tx = make_transfer(a, b, amount, lb);

  // The only broadcast is dropped before it reaches the node; no rebroadcast.
  SenderOptions o = fast_sender(kSlotMs);
  o.rebroadcast_interval_ms = 60'000;
  ASSERT_TRUE(proxy_->set_mode("drop", 1));
  TransactionSender sender(*via_proxy_, o);
  const std::int64_t t0 = now_ms();
  auto out = sender.send_and_confirm(tx).value();
  ASSERT_EQ(out.kind, TxOutcomeKind::kExpired) << out.err << out.last_error;
  EXPECT_FALSE(out.landed);
  EXPECT_EQ(out.broadcasts, 1);
  EXPECT_GT(direct_->get_block_height().value(), lb.last_valid_block_height);
  EXPECT_LT(now_ms() - t0, 15'000);
  EXPECT_EQ(direct_->get_balance(a.pubkey()).value(), a_before);

  // The expired bytes can never land now: rebroadcasting them is harmless.
  (void)direct_->send_transaction(tx.wire, SendOptions{true, {}, {}});
  // Only now rebuild with a fresh blockhash (I4, docs/ARCHITECTURE.md): exactly one debit.
  auto lb2 = direct_->get_latest_blockhash().value();
  std::vector<std::uint8_t> message;
  auto tx2 = make_transfer(a, b, amount, lb2, &message);
  const auto fee = direct_->get_fee_for_message(message).value().value();
  auto out2 = TransactionSender(*direct_, fast_sender(kSlotMs)).send_and_confirm(tx2).value();
  ASSERT_EQ(out2.kind, TxOutcomeKind::kConfirmed);
  std::this_thread::sleep_for(std::chrono::milliseconds(20 * kSlotMs));
  EXPECT_EQ(a_before - direct_->get_balance(a.pubkey()).value(), amount + fee);
  EXPECT_EQ(direct_->get_balance(b).value(), amount);
  auto statuses =
      direct_->get_signature_statuses(std::vector{tx.signature, tx2.signature}, true).value();
  EXPECT_FALSE(statuses[0].has_value());
  EXPECT_TRUE(statuses[1].has_value());
}

TEST_F(LocalnetRpc, SendWithAlreadyExpiredBlockhashIsExpired) {
  Keypair a = funded(kSol);
  auto lb = direct_->get_latest_blockhash().value();
  auto tx = make_transfer(a, Keypair::generate().pubkey(), 1'000'000, lb);
  while (direct_->get_block_height().value() <= lb.last_valid_block_height) {
    std::this_thread::sleep_for(std::chrono::milliseconds(kSlotMs * 5));
  }
  // Preflight says BlockhashNotFound: not final by itself, the sender
  // settles it by block height.
  auto out = TransactionSender(*direct_, fast_sender(kSlotMs)).send_and_confirm(tx).value();
  EXPECT_EQ(out.kind, TxOutcomeKind::kExpired) << out.last_error;
  EXPECT_NE(out.last_error.find("-32002"), std::string::npos) << out.last_error;
  EXPECT_EQ(direct_->get_balance(a.pubkey()).value(), kSol);
}

TEST_F(LocalnetRpc, LostResponseOnSendKeepsPollingAndDebitsOnce) {
  Keypair a = funded(2 * kSol);
  const Pubkey b = Keypair::generate().pubkey();
  const std::uint64_t amount = 5'000'000;
  const std::uint64_t a_before = direct_->get_balance(a.pubkey()).value();
  auto lb = direct_->get_latest_blockhash().value();
  std::vector<std::uint8_t> message;
  auto tx = make_transfer(a, b, amount, lb, &message);
  const auto fee = direct_->get_fee_for_message(message).value().value();

  SenderOptions o = fast_sender(kSlotMs);
  o.rebroadcast_interval_ms = 5 * kSlotMs;  // rebroadcasts too: must still debit once
  ASSERT_TRUE(proxy_->set_mode("lose-response", 1));
  auto out = TransactionSender(*via_proxy_, o).send_and_confirm(tx).value();
  ASSERT_EQ(out.kind, TxOutcomeKind::kConfirmed)
      << tx_outcome_name(out.kind) << " after " << out.broadcasts << " broadcasts; last error "
      << out.last_error << "; proxy " << proxy_->stats().value_or("?");
  EXPECT_NE(out.last_error.find("transport"), std::string::npos) << out.last_error;
  EXPECT_EQ(a_before - direct_->get_balance(a.pubkey()).value(), amount + fee);
  EXPECT_EQ(direct_->get_balance(b).value(), amount);
  EXPECT_EQ(proxy_stats()["lostResponses"], 1);
}

TEST_F(LocalnetRpc, DroppedFirstSendIsRebroadcastAndLands) {
  Keypair a = funded(2 * kSol);
  const Pubkey b = Keypair::generate().pubkey();
  auto lb = direct_->get_latest_blockhash().value();
  auto tx = make_transfer(a, b, 1'000'000, lb);
  SenderOptions o = fast_sender(kSlotMs);
  o.rebroadcast_interval_ms = 5 * kSlotMs;
  ASSERT_TRUE(proxy_->set_mode("drop", 1));
  auto out = TransactionSender(*via_proxy_, o).send_and_confirm(tx).value();
  ASSERT_EQ(out.kind, TxOutcomeKind::kConfirmed) << out.last_error;
  EXPECT_GE(out.broadcasts, 2);
  EXPECT_EQ(direct_->get_balance(b).value(), 1'000'000u);
}

TEST_F(LocalnetRpc, PreflightFailureIsFailedNotLandedWithLogs) {
  Keypair a = funded(kSol);
  auto lb = direct_->get_latest_blockhash().value();
  auto tx = make_transfer(a, Keypair::generate().pubkey(), 5 * kSol, lb);  // more than it has
  auto r = direct_->send_transaction(tx.wire);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kRpc);
  EXPECT_EQ(r.error().native_code, -32002);
  EXPECT_FALSE(direct_->last_error_detail().logs.empty());
  EXPECT_FALSE(direct_->last_error_detail().transaction_error.empty());

  auto out = TransactionSender(*direct_, fast_sender(kSlotMs)).send_and_confirm(tx).value();
  EXPECT_EQ(out.kind, TxOutcomeKind::kFailed);
  EXPECT_FALSE(out.landed);
  EXPECT_NE(out.err.find("InstructionError"), std::string::npos) << out.err;
  EXPECT_FALSE(out.logs.empty());
  EXPECT_EQ(direct_->get_balance(a.pubkey()).value(), kSol);
}

TEST_F(LocalnetRpc, LandedWithErrorIsFailedAndFeeCharged) {
  Keypair a = funded(kSol);
  auto lb = direct_->get_latest_blockhash().value();
  std::vector<std::uint8_t> message;
  // A new recipient below the rent-exempt minimum: InsufficientFundsForRent
  // after the fee was charged (solana-facts §4.4).
  auto tx = make_transfer(a, Keypair::generate().pubkey(), 1'000, lb, &message);
  const auto fee = direct_->get_fee_for_message(message).value().value();
  SenderOptions o = fast_sender(kSlotMs);
  o.skip_preflight = true;
  auto out = TransactionSender(*direct_, o).send_and_confirm(tx).value();
  EXPECT_EQ(out.kind, TxOutcomeKind::kFailed);
  EXPECT_TRUE(out.landed);
  EXPECT_NE(out.err.find("InsufficientFundsForRent"), std::string::npos) << out.err;
  EXPECT_EQ(direct_->get_balance(a.pubkey()).value(), kSol - fee);
}

TEST_F(LocalnetRpc, BatchAndChunkingOverLimits) {
  std::vector<Keypair> funded_keys;
  for (int i = 0; i < 3; ++i) funded_keys.push_back(funded(kSol + static_cast<std::uint64_t>(i)));
  std::vector<Pubkey> keys;
  for (int i = 0; i < 250; ++i) keys.push_back(Keypair::generate().pubkey());
  keys[0] = funded_keys[0].pubkey();
  keys[120] = funded_keys[1].pubkey();
  keys[249] = funded_keys[2].pubkey();
  json before = proxy_stats();
  auto accounts = via_proxy_->get_multiple_accounts(keys).value();
  json after = proxy_stats();
  ASSERT_EQ(accounts.size(), 250u);
  EXPECT_EQ(accounts[0]->lamports, kSol);
  EXPECT_EQ(accounts[120]->lamports, kSol + 1);
  EXPECT_EQ(accounts[249]->lamports, kSol + 2);
  EXPECT_FALSE(accounts[1].has_value());
  EXPECT_EQ(after["requests"].get<int>() - before["requests"].get<int>(), 1);  // one batch
  EXPECT_EQ(after["methods"]["getMultipleAccounts"].get<int>() -
                before["methods"].value("getMultipleAccounts", 0),
            3);  // three chunks
  EXPECT_TRUE(via_proxy_->batch_enabled());

  // 300 signatures: two chunks (256 + 44), one batch; real ones are found.
  auto lb = direct_->get_latest_blockhash().value();
  std::vector<PendingTransaction> txs;
  for (const auto& kp : funded_keys)
    txs.push_back(make_transfer(kp, Keypair::generate().pubkey(), 1'000'000, lb));
  auto outs = TransactionSender(*direct_, fast_sender(kSlotMs)).send_and_confirm_all(txs).value();
  for (const auto& o : outs) EXPECT_EQ(o.kind, TxOutcomeKind::kConfirmed) << o.last_error;
  std::vector<solana::Signature> sigs(300);
  for (int i = 0; i < 300; ++i) {
    sigs[i].bytes[0] = static_cast<std::uint8_t>(i);
    sigs[i].bytes[1] = static_cast<std::uint8_t>(i >> 8);
    sigs[i].bytes[2] = 1;
  }
  sigs[10] = txs[0].signature;
  sigs[255] = txs[1].signature;
  sigs[299] = txs[2].signature;
  before = proxy_stats();
  auto statuses = via_proxy_->get_signature_statuses(sigs).value();
  after = proxy_stats();
  ASSERT_EQ(statuses.size(), 300u);
  EXPECT_TRUE(statuses[10].has_value());
  EXPECT_TRUE(statuses[255].has_value());
  EXPECT_TRUE(statuses[299].has_value());
  EXPECT_FALSE(statuses[11].has_value());
  EXPECT_EQ(after["requests"].get<int>() - before["requests"].get<int>(), 1);

  // The same over the limit in ONE request is the node's -32602.
  json list = json::array();
  for (int i = 0; i < 101; ++i) list.push_back(keys[i].to_base58());
  auto over = direct_->call("getMultipleAccounts", json::array({list}).dump());
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kRpc);
  EXPECT_EQ(over.error().native_code, -32602);
}

TEST_F(LocalnetRpc, ErrorClassesMapped) {
  // Bad params -> kRpc -32602, not retried.
  auto bad = direct_->call("getBalance", R"(["not-a-pubkey"])");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kRpc);
  EXPECT_EQ(bad.error().native_code, -32602);
  EXPECT_EQ(direct_->last_error_detail().attempts, 1);

  // 429 with Retry-After: 1 is honoured, then success.
  ASSERT_TRUE(proxy_->set_mode("http:429:1", 1));
  const std::int64_t t0 = now_ms();
  ASSERT_TRUE(via_proxy_->get_slot());
  EXPECT_GE(now_ms() - t0, 1000);
  EXPECT_EQ(via_proxy_->last_error_detail().attempts, 2);

  // 502 / 503 persisting past the retry budget -> kHttp with the status.
  for (long status : {502L, 503L}) {
    ASSERT_TRUE(proxy_->set_mode("http:" + std::to_string(status), 3));
    auto r = via_proxy_->get_slot();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kHttp);
    EXPECT_EQ(r.error().native_code, status);
    EXPECT_EQ(via_proxy_->last_error_detail().http_status.value(), status);
  }
  // A transient 503 is retried away.
  ASSERT_TRUE(proxy_->set_mode("http:503", 1));
  EXPECT_TRUE(via_proxy_->get_slot());

  // (libcurl re-sends a read once itself when a reused connection dies, so
  // the mode stays on until the client has given up.)
  ASSERT_TRUE(proxy_->set_mode("drop"));
  auto dropped = via_proxy_->get_slot();
  ASSERT_TRUE(proxy_->set_mode("pass"));
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error().code, ErrorCode::kTransport);
  EXPECT_NE(dropped.error().native_code, 0);

  ASSERT_TRUE(proxy_->set_mode("garbage"));
  auto garbage = via_proxy_->get_slot();
  ASSERT_TRUE(proxy_->set_mode("pass"));
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::kMalformedResponse);

  ASSERT_TRUE(proxy_->set_mode("truncate"));
  auto truncated = via_proxy_->get_latest_blockhash();
  ASSERT_TRUE(proxy_->set_mode("pass"));
  ASSERT_FALSE(truncated);
  EXPECT_TRUE(truncated.error().code == ErrorCode::kTransport ||
              truncated.error().code == ErrorCode::kMalformedResponse)
      << to_string(truncated.error());

  // A slow node within the timeout is fine.
  ASSERT_TRUE(proxy_->set_mode("delay:200", 1));
  EXPECT_TRUE(via_proxy_->get_slot());

  // sendTransaction is never retried: one 503 reaches the caller as is.
  ASSERT_TRUE(proxy_->set_mode("http:503", 1));
  Keypair a = funded(kSol);
  auto tx = make_transfer(a, Keypair::generate().pubkey(), 1'000'000,
                          direct_->get_latest_blockhash().value());
  json before = proxy_stats();
  auto sent = via_proxy_->send_transaction(tx.wire);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().native_code, 503);
  EXPECT_EQ(proxy_stats()["requests"].get<int>() - before["requests"].get<int>(), 1);
  EXPECT_EQ(direct_->get_balance(a.pubkey()).value(), kSol);
}

TEST_F(LocalnetRpc, ConnectTimeoutAndTotalTimeout) {
  RpcClientOptions o;
  o.retry.max_attempts = 1;
  CurlTransportOptions http;
  http.total_timeout_ms = 300;
  auto client = RpcClient::connect(proxy_->url(), o, http).value();
  ASSERT_TRUE(proxy_->set_mode("delay:2000", 1));
  const std::int64_t t0 = now_ms();
  auto r = client->get_slot();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTransport);
  EXPECT_EQ(r.error().native_code, 28);  // CURLE_OPERATION_TIMEDOUT
  EXPECT_LT(now_ms() - t0, 1500);
}

}  // namespace
}  // namespace qtw::rpc
