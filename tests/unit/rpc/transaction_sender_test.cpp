// TransactionSender decision logic against a scripted node (a real local
// HTTP server) and a fake clock: expiry by block height only after a final
// status check, waiting for a lower-commitment status, rebroadcast pacing,
// rejection vs. landed failure, giving up as kUnknown.
#include "qtw/rpc/transaction_sender.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <span>
#include <nlohmann/json.hpp>

#include "support/http_test_server.h"

namespace qtw::rpc {
namespace {

using nlohmann::json;
using qtw::test::TestHttpServer;

class FakeClock final : public Clock {
 public:
  std::int64_t now_ms() override { return now_.load(); }
  void sleep_ms(std::int64_t ms) override { now_ += ms; }
  std::atomic<std::int64_t> now_{0};
};

// Scripted node: block height = now_ms / 10 (a 10 ms slot); a status script
// decides what getSignatureStatuses says at a given height.
struct ScriptedNode {
  FakeClock* clock;
  std::function<json(std::uint64_t height, bool search_history)> status;  // one entry
  std::function<json()> send_reply = [] {
    return json(
        "2id3YC2jK9G5Wo2phDx4gJVAew8DcY5NAojnVuao8rkxwPYPe8cSwE5GzhEgJA2y8fVjDEo6iR6ykBvDxrTQrtpb");
  };
  std::atomic<int> sends{0};
  std::atomic<int> preflight_sends{0};

  TestHttpServer::Reply operator()(const std::string& body) {
    json req = json::parse(body);
    if (req.is_array()) {
      json out = json::array();
      for (const auto& r : req) out.push_back(answer(r));
      return {200, out.dump(), {}, false};
    }
    return {200, answer(req).dump(), {}, false};
  }

  json answer(const json& req) {
    const std::uint64_t height = static_cast<std::uint64_t>(clock->now_ms() / 10);
    json out{{"jsonrpc", "2.0"}, {"id", req["id"]}};
    const std::string m = req["method"];
    if (m == "sendTransaction") {
      ++sends;
      if (!req["params"][1]["skipPreflight"].get<bool>()) ++preflight_sends;
      json r = send_reply();
      if (r.is_object() && r.contains("code")) {
        out["error"] = r;
      } else {
        out["result"] = r;
      }
    } else if (m == "getBlockHeight") {
      out["result"] = height;
    } else if (m == "getSignatureStatuses") {
      const bool hist = req["params"][1].value("searchTransactionHistory", false);
      json value = json::array();
      for (std::size_t i = 0; i < req["params"][0].size(); ++i)
        value.push_back(status(height, hist));
      out["result"] = {{"context", {{"slot", height}}}, {"value", value}};
    }
    return out;
  }
};

PendingTransaction pending(std::uint64_t lvbh) {
  PendingTransaction p;
  p.wire = std::vector<std::uint8_t>(200, 3);
  p.signature = solana::Signature::from_base58(
                    "2id3YC2jK9G5Wo2phDx4gJVAew8DcY5NAojnVuao8rkxwPYPe8cSwE5GzhEgJA2y8fVjDEo6iR6ykB"
                    "vDxrTQrtpb")
                    .value();
  p.last_valid_block_height = lvbh;
  return p;
}

struct Rig {
  FakeClock clock;
  ScriptedNode node{&clock, nullptr};
  std::unique_ptr<TestHttpServer> server;
  std::unique_ptr<RpcClient> client;
  explicit Rig(std::function<json(std::uint64_t, bool)> status) {
    node.status = std::move(status);
    server = std::make_unique<TestHttpServer>([this](const std::string& b) { return node(b); });
    RpcClientOptions o;
    o.clock = &clock;
    client = RpcClient::connect(server->url(), o).value();
  }
  SenderOptions options() {
    SenderOptions s;
    s.clock = &clock;
    s.poll_interval_ms = 10;
    s.rebroadcast_interval_ms = 200;
    s.timeout_ms = 0;
    return s;
  }
};

json status_at(const char* level, std::uint64_t slot, json err = nullptr) {
  return {{"slot", slot}, {"confirmations", 1}, {"err", err}, {"confirmationStatus", level}};
}

TEST(TransactionSender, NeverSeenIsExpiredOnlyAfterLastValidBlockHeight) {
  Rig rig([](std::uint64_t, bool) { return json(nullptr); });
  TransactionSender sender(*rig.client, rig.options());
  auto out = sender.send_and_confirm(pending(100)).value();
  EXPECT_EQ(out.kind, TxOutcomeKind::kExpired);
  EXPECT_FALSE(out.landed);
  EXPECT_GT(rig.clock.now_ms() / 10, 100);  // height passed 100 first
  EXPECT_LE(rig.clock.now_ms() / 10, 103);  // and it was noticed promptly
  // ~1 s of waiting with a 200 ms rebroadcast period: the same bytes, 5-6 times
  EXPECT_GE(out.broadcasts, 5);
  EXPECT_LE(out.broadcasts, 7);
  EXPECT_EQ(rig.node.preflight_sends.load(), 1);  // rebroadcasts skip preflight
}

TEST(TransactionSender, LandingSeenOnlyInFinalCheckIsNotExpired) {
  // The regular poll never sees it; the final check (searchTransactionHistory)
  // does: the landing raced the height read.
  Rig rig([](std::uint64_t h, bool hist) {
    return hist ? status_at("confirmed", h - 1) : json(nullptr);
  });
  auto out = TransactionSender(*rig.client, rig.options()).send_and_confirm(pending(50)).value();
  EXPECT_EQ(out.kind, TxOutcomeKind::kConfirmed);
  EXPECT_TRUE(out.landed);
}

TEST(TransactionSender, ProcessedPastExpiryIsWaitedFor) {
  // Landed (processed) at height 99; confirmed only at height 130 > lvbh.
  Rig rig([](std::uint64_t h, bool) {
    if (h < 99) return json(nullptr);
    return h < 130 ? status_at("processed", 99) : status_at("confirmed", 99);
  });
  auto out = TransactionSender(*rig.client, rig.options()).send_and_confirm(pending(100)).value();
  EXPECT_EQ(out.kind, TxOutcomeKind::kConfirmed);
  EXPECT_EQ(out.slot, 99u);
}

TEST(TransactionSender, FinalizedWhenAsked) {
  Rig rig([](std::uint64_t h, bool) {
    if (h < 5) return json(nullptr);
    return h < 40 ? status_at("confirmed", 5) : status_at("finalized", 5);
  });
  auto opts = rig.options();
  opts.commitment = Commitment::kFinalized;
  auto out = TransactionSender(*rig.client, opts).send_and_confirm(pending(1000)).value();
  EXPECT_EQ(out.kind, TxOutcomeKind::kFinalized);
  EXPECT_GE(rig.clock.now_ms() / 10, 40);
}

TEST(TransactionSender, LandedWithErrorIsFailed) {
  Rig rig([](std::uint64_t h, bool) {
    return status_at("processed", h, json{{"InstructionError", {0, {{"Custom", 1}}}}});
  });
  auto out = TransactionSender(*rig.client, rig.options()).send_and_confirm(pending(1000)).value();
  EXPECT_EQ(out.kind, TxOutcomeKind::kFailed);
  EXPECT_TRUE(out.landed);
  EXPECT_EQ(out.err, R"({"InstructionError":[0,{"Custom":1}]})");
}

TEST(TransactionSender, PreflightRejectionIsFinalButBlockhashNotFoundIsNot) {
  {
    Rig rig([](std::uint64_t, bool) { return json(nullptr); });
    rig.node.send_reply = [] {
      return json{{"code", -32002},
                  {"message",
                   "Transaction simulation failed: Attempt to debit an account but found no record "
                   "of a prior credit."},
                  {"data", {{"err", "AccountNotFound"}, {"logs", json::array()}}}};
    };
    auto out =
        TransactionSender(*rig.client, rig.options()).send_and_confirm(pending(1000)).value();
    EXPECT_EQ(out.kind, TxOutcomeKind::kFailed);
    EXPECT_FALSE(out.landed);
    EXPECT_EQ(out.err, "\"AccountNotFound\"");
    EXPECT_EQ(rig.node.sends.load(), 1);
  }
  {
    Rig rig([](std::uint64_t, bool) { return json(nullptr); });
    rig.node.send_reply = [] {
      return json{{"code", -32002},
                  {"message", "Transaction simulation failed: Blockhash not found"},
                  {"data", {{"err", "BlockhashNotFound"}, {"logs", json::array()}}}};
    };
    auto out = TransactionSender(*rig.client, rig.options()).send_and_confirm(pending(30)).value();
    EXPECT_EQ(out.kind, TxOutcomeKind::kExpired);  // settled by height, not by the message
  }
}

TEST(TransactionSender, GivesUpAsUnknownWhenNodeUnreachable) {
  FakeClock clock;
  std::string url;
  {
    TestHttpServer gone([](const std::string&) { return TestHttpServer::Reply{}; });
    url = gone.url();
  }
  RpcClientOptions o;
  o.clock = &clock;
  auto client = RpcClient::connect(url, o).value();
  SenderOptions s;
  s.clock = &clock;
  s.timeout_ms = 5'000;
  auto out = TransactionSender(*client, s).send_and_confirm(pending(10)).value();
  EXPECT_EQ(out.kind, TxOutcomeKind::kUnknown);  // never "expired" without a height
  EXPECT_FALSE(out.last_error.empty());
}

TEST(TransactionSender, ManyTransactionsOneStatusRequestPerPoll) {
  Rig rig(
      [](std::uint64_t h, bool) { return h < 20 ? json(nullptr) : status_at("confirmed", 19); });
  std::vector<PendingTransaction> txs(300, pending(1000));
  auto outs = TransactionSender(*rig.client, rig.options()).send_and_confirm_all(txs).value();
  ASSERT_EQ(outs.size(), 300u);
  for (const auto& o : outs) EXPECT_EQ(o.kind, TxOutcomeKind::kConfirmed);
  int status_requests = 0;
  for (const auto& b : rig.server->bodies()) {
    if (b.find("getSignatureStatuses") != std::string::npos) ++status_requests;
  }
  // one (batched, 2-chunk) HTTP request per 10 ms poll over ~200 ms
  EXPECT_LE(status_requests, 25);
}

TEST(TransactionSender, ResumedTransactionsAreResentAtOnceThenOnSchedule) {
  // After a restart the intent log's transactions are resent before the
  // first status poll (the crashed process's send may have been lost), as
  // rebroadcasts (no preflight), then every rebroadcast_interval_ms.
  Rig rig([](std::uint64_t, bool) { return json(nullptr); });
  std::vector<PendingTransaction> txs(2, pending(30));
  auto outs = TransactionSender(*rig.client, rig.options()).confirm_all(txs).value();
  ASSERT_EQ(outs.size(), 2u);
  const auto bodies = rig.server->bodies();
  ASSERT_FALSE(bodies.empty());
  EXPECT_NE(bodies.front().find("sendTransaction"), std::string::npos);
  EXPECT_EQ(rig.node.preflight_sends.load(), 0);
  // ~310 ms until expiry with a 200 ms period: at once, then once more.
  for (const auto& o : outs) {
    EXPECT_EQ(o.kind, TxOutcomeKind::kExpired);
    EXPECT_EQ(o.broadcasts, 2);
  }
  // Without rebroadcast nothing is sent at all.
  Rig quiet([](std::uint64_t, bool) { return json(nullptr); });
  auto q = TransactionSender(*quiet.client, quiet.options()).confirm_all(txs, false).value();
  EXPECT_EQ(quiet.node.sends.load(), 0);
  EXPECT_EQ(q.front().broadcasts, 0);
}

TEST(TransactionSender, OnSettledReportsEachTransactionWhenItSettlesNotAtTheEnd) {
  // Two transactions the node never sees: the first expires at height ~21,
  // the second at ~61. The caller hears of the first while the second is
  // still tracked (the balancer makes funded Explorers leasable then), each
  // index once; an outcome given up as kUnknown is never reported.
  Rig rig([](std::uint64_t, bool) { return json(nullptr); });
  std::vector<PendingTransaction> txs{pending(20), pending(60)};
  struct Call {
    std::vector<std::size_t> settled;
    std::int64_t at_ms;
    TxOutcomeKind first_kind;
  };
  std::vector<Call> calls;
  SenderOptions o = rig.options();
  o.on_settled = [&](std::span<const std::size_t> settled, std::span<const TxOutcome> outcomes) {
    ASSERT_EQ(outcomes.size(), 2u);
    calls.push_back(Call{{settled.begin(), settled.end()}, rig.clock.now_ms(), outcomes[0].kind});
  };
  auto outs = TransactionSender(*rig.client, o).send_and_confirm_all(txs).value();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].settled, std::vector<std::size_t>{0});
  EXPECT_EQ(calls[0].first_kind, TxOutcomeKind::kExpired);
  EXPECT_LE(calls[0].at_ms / 10, 25);  // told at once, not at height ~61
  EXPECT_EQ(calls[1].settled, std::vector<std::size_t>{1});
  EXPECT_GT(calls[1].at_ms / 10, 60);
  EXPECT_EQ(outs[1].kind, TxOutcomeKind::kExpired);

  Rig unreachable([](std::uint64_t, bool) { return json(nullptr); });
  SenderOptions u = unreachable.options();
  u.timeout_ms = 100;
  int reported = 0;
  u.on_settled = [&](std::span<const std::size_t> settled, std::span<const TxOutcome>) {
    reported += static_cast<int>(settled.size());
  };
  auto unknown = TransactionSender(*unreachable.client, u).confirm_all(txs, false).value();
  EXPECT_EQ(unknown[0].kind, TxOutcomeKind::kUnknown);
  EXPECT_EQ(reported, 0);
}

TEST(TransactionSender, SendsAreOneBatchAndEachPollCarriesTheBlockHeight) {
  Rig rig(
      [](std::uint64_t h, bool) { return h < 5 ? json(nullptr) : status_at("confirmed", 4); });
  std::vector<PendingTransaction> txs(12, pending(1000));
  TransactionSender sender(*rig.client, rig.options());
  auto outs = sender.send_and_confirm_all(txs).value();
  for (const auto& o : outs) {
    EXPECT_EQ(o.kind, TxOutcomeKind::kConfirmed);
    EXPECT_EQ(o.broadcasts, 1);
  }
  int send_requests = 0, polls = 0, other = 0;
  for (const auto& b : rig.server->bodies()) {
    const json body = json::parse(b);
    ASSERT_TRUE(body.is_array()) << "every request is a JSON-RPC batch here: " << b;
    const std::string first = body[0]["method"];
    if (first == "sendTransaction") {
      ++send_requests;
      EXPECT_EQ(body.size(), 12u);  // all of them in one request
    } else if (first == "getSignatureStatuses") {
      ++polls;
      EXPECT_EQ(body.back()["method"], "getBlockHeight");
    } else {
      ++other;
    }
  }
  EXPECT_EQ(send_requests, 1);
  EXPECT_GE(polls, 1);
  EXPECT_EQ(other, 0);  // no separate getBlockHeight request
  EXPECT_GE(sender.last_block_height(), 5u);
  EXPECT_EQ(rig.node.sends.load(), 12);
}

TEST(TransactionSender, PerTransactionRejectionsInOneSendBatch) {
  // The node answers each element of the batch on its own: a preflight
  // failure is final for its transaction only.
  Rig rig([](std::uint64_t h, bool) { return h < 3 ? json(nullptr) : status_at("confirmed", 2); });
  std::atomic<int> n{0};
  rig.node.send_reply = [&n]() -> json {
    if (n++ == 1) {
      return {{"code", -32002},
              {"message", "Transaction simulation failed: Error processing Instruction 0"},
              {"data", {{"err", {{"InstructionError", {0, {{"Custom", 1}}}}}}, {"logs", {"log a"}}}}};
    }
    return "2id3YC2jK9G5Wo2phDx4gJVAew8DcY5NAojnVuao8rkxwPYPe8cSwE5GzhEgJA2y8fVjDEo6iR6ykBvDxrTQrtpb";
  };
  std::vector<PendingTransaction> txs(3, pending(1000));
  auto outs = TransactionSender(*rig.client, rig.options()).send_and_confirm_all(txs).value();
  EXPECT_EQ(outs[0].kind, TxOutcomeKind::kConfirmed);
  EXPECT_EQ(outs[1].kind, TxOutcomeKind::kFailed);
  EXPECT_FALSE(outs[1].landed);
  EXPECT_NE(outs[1].err.find("Custom"), std::string::npos);
  EXPECT_EQ(outs[1].logs, std::vector<std::string>{"log a"});
  EXPECT_EQ(outs[2].kind, TxOutcomeKind::kConfirmed);
}

TEST(TransactionSender, EmptyWireIsInvalidArgument) {
  Rig rig([](std::uint64_t, bool) { return json(nullptr); });
  PendingTransaction p = pending(10);
  p.wire.clear();
  auto r = TransactionSender(*rig.client, rig.options()).send_and_confirm(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace qtw::rpc
