// RpcClient against a real local HTTP server with scripted replies: batch
// and chunking, batch refusal fallback, retry/backoff and Retry-After, the
// error taxonomy, connection reuse, the observer hook.
#include "qtw/rpc/rpc_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "support/http_test_server.h"

namespace qtw::rpc {
namespace {

using nlohmann::json;
using qtw::test::TestHttpServer;

class FakeClock final : public Clock {
 public:
  std::int64_t now_ms() override { return now_; }
  void sleep_ms(std::int64_t ms) override {
    sleeps.push_back(ms);
    now_ += ms;
  }
  std::vector<std::int64_t> sleeps;

 private:
  std::int64_t now_ = 1'000'000;
};

struct CountingObserver final : RpcObserver {
  void on_request(std::string_view method) override { requests[std::string(method)]++; }
  void on_error(std::string_view method, ErrorCode code) override {
    errors[std::string(method)]++;
    last_code = code;
  }
  std::map<std::string, int> requests, errors;
  ErrorCode last_code = ErrorCode::kInternal;
};

solana::Pubkey key(int i) {
  solana::Pubkey k;
  k.bytes[0] = static_cast<std::uint8_t>(i & 0xff);
  k.bytes[1] = static_cast<std::uint8_t>(i >> 8);
  k.bytes[31] = 7;
  return k;
}
solana::Signature sig(int i) {
  solana::Signature s;
  s.bytes[0] = static_cast<std::uint8_t>(i & 0xff);
  s.bytes[1] = static_cast<std::uint8_t>(i >> 8);
  s.bytes[63] = 9;
  return s;
}

// A validator-like answer for one request object.
json answer(const json& req) {
  const std::string method = req["method"];
  json result;
  if (method == "getMultipleAccounts") {
    if (req["params"][0].size() > 100) {
      return {{"jsonrpc", "2.0"},
              {"id", req["id"]},
              {"error", {{"code", -32602}, {"message", "Too many inputs provided; max 100"}}}};
    }
    json value = json::array();
    for (const auto& k : req["params"][0]) {
      auto pk = solana::Pubkey::from_base58(k.get<std::string>()).value();
      const int i = pk.bytes[0] + 256 * pk.bytes[1];
      if (i % 7 == 3) {
        value.push_back(nullptr);
      } else {
        value.push_back({{"lamports", i},
                         {"owner", "11111111111111111111111111111111"},
                         {"data", {"", "base64"}},
                         {"executable", false},
                         {"rentEpoch", 0},
                         {"space", 0}});
      }
    }
    result = {{"context", {{"slot", 5}}}, {"value", value}};
  } else if (method == "getSignatureStatuses") {
    if (req["params"][0].size() > 256) {
      return {{"jsonrpc", "2.0"},
              {"id", req["id"]},
              {"error", {{"code", -32602}, {"message", "Too many inputs provided; max 256"}}}};
    }
    json value = json::array();
    for (const auto& s : req["params"][0]) {
      auto sg = solana::Signature::from_base58(s.get<std::string>()).value();
      const int i = sg.bytes[0] + 256 * sg.bytes[1];
      if (i % 2) {
        value.push_back(nullptr);
      } else {
        value.push_back({{"slot", i},
                         {"confirmations", nullptr},
                         {"err", nullptr},
                         {"confirmationStatus", "finalized"}});
      }
    }
    result = {{"context", {{"slot", 5}}}, {"value", value}};
  } else if (method == "getSlot" || method == "getBlockHeight") {
    result = 1234;
  } else if (method == "sendTransaction") {
    result =
        "2id3YC2jK9G5Wo2phDx4gJVAew8DcY5NAojnVuao8rkxwPYPe8cSwE5GzhEgJA2y8fVjDEo6iR6ykBvDxrTQrtpb";
  } else if (method == "getHealth") {
    result = "ok";
  } else {
    return {{"jsonrpc", "2.0"},
            {"id", req["id"]},
            {"error", {{"code", -32601}, {"message", "Method not found"}}}};
  }
  return {{"jsonrpc", "2.0"}, {"id", req["id"]}, {"result", result}};
}

TestHttpServer::Reply validator(const std::string& body) {
  json req = json::parse(body);
  if (req.is_array()) {
    json out = json::array();
    for (const auto& r : req) out.push_back(answer(r));
    return {200, out.dump(), {}, false};
  }
  return {200, answer(req).dump(), {}, false};
}

// Refuses batches the way many hosted providers do: one error object.
TestHttpServer::Reply no_batch(const std::string& body) {
  json req = json::parse(body);
  if (req.is_array()) {
    return {
        200,
        R"({"jsonrpc":"2.0","error":{"code":-32600,"message":"batch requests are not supported"},"id":null})",
        {},
        false};
  }
  return validator(body);
}

std::unique_ptr<RpcClient> client_for(const TestHttpServer& server, RpcClientOptions options = {}) {
  auto c = RpcClient::connect(server.url(), std::move(options));
  EXPECT_TRUE(c.has_value());
  return std::move(*c);
}

int count_batches(const std::vector<std::string>& bodies) {
  int n = 0;
  for (const auto& b : bodies) n += b.front() == '[' ? 1 : 0;
  return n;
}

TEST(RpcClient, MultipleAccountsChunkedIntoOneBatch) {
  TestHttpServer server(validator);
  auto client = client_for(server);
  std::vector<solana::Pubkey> keys;
  for (int i = 0; i < 250; ++i) keys.push_back(key(i));
  auto r = client->get_multiple_accounts(keys);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 250u);
  for (int i = 0; i < 250; ++i) {
    if (i % 7 == 3) {
      EXPECT_FALSE((*r)[i].has_value()) << i;
    } else {
      ASSERT_TRUE((*r)[i].has_value()) << i;
      EXPECT_EQ((*r)[i]->lamports, static_cast<std::uint64_t>(i));
    }
  }
  EXPECT_EQ(server.requests(), 1);  // 3 chunks of <=100, one HTTP request
  auto batch = json::parse(server.bodies().at(0));
  ASSERT_TRUE(batch.is_array());
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0]["params"][0].size(), 100u);
  EXPECT_EQ(batch[2]["params"][0].size(), 50u);
  EXPECT_EQ(batch[0]["params"][1]["encoding"], "base64");
  EXPECT_EQ(batch[0]["params"][1]["commitment"], "confirmed");
  EXPECT_TRUE(client->batch_enabled());
}

TEST(RpcClient, SignatureStatusesChunkedAndSplitByBodySize) {
  TestHttpServer server(validator);
  auto client = client_for(server);
  std::vector<solana::Signature> sigs;
  for (int i = 0; i < 700; ++i) sigs.push_back(sig(i));
  auto r = client->get_signature_statuses(sigs);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 700u);
  for (int i = 0; i < 700; ++i) {
    EXPECT_EQ((*r)[i].has_value(), i % 2 == 0) << i;
    if (i % 2 == 0) {
      EXPECT_EQ((*r)[i]->slot, static_cast<std::uint64_t>(i));
    }
  }
  // 3 chunks (256, 256, 188); ~23 KB each, so the 50 KiB body cap allows 2
  // per batch: one batch of 2 and one single request.
  EXPECT_EQ(server.requests(), 2);
  for (const auto& b : server.bodies()) EXPECT_LE(b.size(), kDefaultMaxRequestBodyBytes);
}

TEST(RpcClient, FallsBackToSinglesWhenBatchRefusedAndRemembers) {
  TestHttpServer server(no_batch);
  auto client = client_for(server);
  std::vector<solana::Pubkey> keys;
  for (int i = 0; i < 150; ++i) keys.push_back(key(i));
  auto r = client->get_multiple_accounts(keys);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->size(), 150u);
  EXPECT_EQ((*r)[149]->lamports, 149u);
  EXPECT_FALSE(client->batch_enabled());
  EXPECT_EQ(server.requests(), 3);  // refused batch + 2 singles
  auto again = client->get_multiple_accounts(keys);
  ASSERT_TRUE(again);
  EXPECT_EQ(server.requests(), 5);  // no new batch attempt
  EXPECT_EQ(count_batches(server.bodies()), 1);
}

TEST(RpcClient, FallsBackOnHttp4xxToBatch) {
  TestHttpServer server([](const std::string& body) -> TestHttpServer::Reply {
    if (body.front() == '[') return {413, "payload too large", {}, false};
    return validator(body);
  });
  auto client = client_for(server);
  std::vector<solana::Signature> sigs;
  for (int i = 0; i < 300; ++i) sigs.push_back(sig(i));
  auto r = client->get_signature_statuses(sigs);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->size(), 300u);
  EXPECT_FALSE(client->batch_enabled());
}

TEST(RpcClient, BatchDisabledByOption) {
  TestHttpServer server(validator);
  RpcClientOptions o;
  o.use_batch = false;
  o.max_accounts_per_request = 40;  // a provider with a smaller cap
  auto client = client_for(server, o);
  std::vector<solana::Pubkey> keys;
  for (int i = 0; i < 100; ++i) keys.push_back(key(i));
  auto r = client->get_multiple_accounts(keys);
  ASSERT_TRUE(r);
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(count_batches(server.bodies()), 0);
}

TEST(RpcClient, ConnectionIsReused) {
  TestHttpServer server(validator);
  auto client = client_for(server);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client->get_slot());
  EXPECT_EQ(server.requests(), 10);
  EXPECT_EQ(server.connections(), 1);
}

TEST(RpcClient, Http429RetryAfterHonouredThenSuccess) {
  std::atomic<int> n{0};
  TestHttpServer server([&](const std::string& body) -> TestHttpServer::Reply {
    if (n++ == 0) return {429, "Too many requests", {"Retry-After: 3"}, false};
    return validator(body);
  });
  FakeClock clock;
  RpcClientOptions o;
  o.clock = &clock;
  auto client = client_for(server, o);
  auto r = client->get_slot();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, 1234u);
  ASSERT_EQ(clock.sleeps.size(), 1u);
  EXPECT_EQ(clock.sleeps[0], 3000);  // exactly what the server asked
}

TEST(RpcClient, Http429BeyondBudgetIsReturnedWithRetryAfter) {
  TestHttpServer server([](const std::string&) -> TestHttpServer::Reply {
    return {429, "slow down", {"Retry-After: 60"}, false};
  });
  FakeClock clock;
  RpcClientOptions o;
  o.clock = &clock;
  auto client = client_for(server, o);
  auto r = client->get_block_height();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kHttp);
  EXPECT_EQ(r.error().native_code, 429);
  EXPECT_EQ(client->last_error_detail().retry_after_ms.value(), 60'000);
  EXPECT_EQ(client->last_error_detail().http_status.value(), 429);
  EXPECT_TRUE(clock.sleeps.empty());
  EXPECT_EQ(server.requests(), 1);
}

TEST(RpcClient, Http503RetriedWithJitteredBackoff) {
  std::atomic<int> n{0};
  TestHttpServer server([&](const std::string& body) -> TestHttpServer::Reply {
    if (n++ < 3) return {503, "unavailable", {}, false};
    return validator(body);
  });
  FakeClock clock;
  RpcClientOptions o;
  o.clock = &clock;
  auto client = client_for(server, o);
  ASSERT_TRUE(client->get_slot());
  ASSERT_EQ(clock.sleeps.size(), 3u);
  // backoff b = 100, 200, 400 with equal jitter in [b/2, b]
  EXPECT_GE(clock.sleeps[0], 50);
  EXPECT_LE(clock.sleeps[0], 100);
  EXPECT_GE(clock.sleeps[1], 100);
  EXPECT_LE(clock.sleeps[1], 200);
  EXPECT_GE(clock.sleeps[2], 200);
  EXPECT_LE(clock.sleeps[2], 400);
  EXPECT_EQ(client->last_error_detail().attempts, 4);
}

TEST(RpcClient, ReadGivesUpAfterMaxAttempts) {
  TestHttpServer server([](const std::string&) -> TestHttpServer::Reply {
    return {502, "bad gateway", {}, false};
  });
  FakeClock clock;
  CountingObserver obs;
  RpcClientOptions o;
  o.clock = &clock;
  o.observer = &obs;
  auto client = client_for(server, o);
  auto r = client->get_slot();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kHttp);
  EXPECT_EQ(r.error().native_code, 502);
  EXPECT_EQ(server.requests(), 4);
  EXPECT_EQ(obs.requests["getSlot"], 4);
  EXPECT_EQ(obs.errors["getSlot"], 4);
  EXPECT_EQ(obs.last_code, ErrorCode::kHttp);
}

TEST(RpcClient, SendTransactionIsNeverRetried) {
  TestHttpServer server([](const std::string&) -> TestHttpServer::Reply {
    return {503, "unavailable", {}, false};
  });
  FakeClock clock;
  RpcClientOptions o;
  o.clock = &clock;
  auto client = client_for(server, o);
  std::vector<std::uint8_t> wire(100, 1);
  auto r = client->send_transaction(wire);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kHttp);
  EXPECT_EQ(server.requests(), 1);
  EXPECT_TRUE(clock.sleeps.empty());
  auto sent = json::parse(server.bodies().at(0));
  EXPECT_EQ(sent["params"][1]["encoding"], "base64");
}

TEST(RpcClient, GarbageIsMalformedResponse) {
  TestHttpServer server([](const std::string&) -> TestHttpServer::Reply {
    return {200, "<html>oops</html>", {}, false};
  });
  FakeClock clock;
  RpcClientOptions o;
  o.clock = &clock;
  o.retry.max_attempts = 2;
  auto client = client_for(server, o);
  auto r = client->get_slot();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kMalformedResponse);
  EXPECT_EQ(server.requests(), 2);
}

TEST(RpcClient, WrongIdIsMalformed) {
  TestHttpServer server([](const std::string&) -> TestHttpServer::Reply {
    return {200, R"({"jsonrpc":"2.0","result":5,"id":999999})", {}, false};
  });
  RpcClientOptions o;
  o.retry.max_attempts = 1;
  auto client = client_for(server, o);
  auto r = client->get_slot();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kMalformedResponse);
}

TEST(RpcClient, DroppedConnectionIsTransport) {
  TestHttpServer server([](const std::string&) -> TestHttpServer::Reply {
    return {200, "", {}, true};
  });
  FakeClock clock;
  RpcClientOptions o;
  o.clock = &clock;
  o.retry.max_attempts = 2;
  auto client = client_for(server, o);
  auto r = client->get_slot();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTransport);
  EXPECT_NE(r.error().native_code, 0);  // the curl code
}

TEST(RpcClient, ConnectionRefusedIsTransport) {
  std::string url;
  {
    TestHttpServer server(validator);
    url = server.url();
  }  // closed: nothing listens there now
  FakeClock clock;
  RpcClientOptions o;
  o.clock = &clock;
  auto client = RpcClient::connect(url, o).value();
  auto r = client->get_health();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTransport);
  EXPECT_EQ(r.error().native_code, 7);  // CURLE_COULDNT_CONNECT
  EXPECT_EQ(client->last_error_detail().attempts, 4);
}

TEST(RpcClient, RpcErrorInsideBatchIsReturned) {
  TestHttpServer server(validator);
  RpcClientOptions o;
  o.max_accounts_per_request = 150;  // over the server's cap of 100
  auto client = client_for(server, o);
  std::vector<solana::Pubkey> keys;
  for (int i = 0; i < 300; ++i) keys.push_back(key(i));
  auto r = client->get_multiple_accounts(keys);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kRpc);
  EXPECT_EQ(r.error().native_code, -32602);
  EXPECT_EQ(client->last_error_detail().rpc_message, "Too many inputs provided; max 100");
  EXPECT_TRUE(client->batch_enabled());  // a per-call error is not a refusal
}

TEST(RpcClient, GenericCall) {
  TestHttpServer server(validator);
  auto client = client_for(server);
  EXPECT_EQ(client->call("getSlot", "[]").value(), "1234");
  auto bad = client->call("getSlot", "{not json");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  auto unknown = client->call("noSuchMethod", "");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().native_code, -32601);
}

TEST(RpcClient, RetryAfterParsing) {
  EXPECT_EQ(parse_retry_after_ms(" 2\r\n").value(), 2000);
  EXPECT_EQ(parse_retry_after_ms("0").value(), 0);
  EXPECT_FALSE(parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  EXPECT_FALSE(parse_retry_after_ms("-1").has_value());
  EXPECT_FALSE(parse_retry_after_ms("").has_value());
}

}  // namespace
}  // namespace qtw::rpc

namespace qtw::rpc {
namespace {

// libcurl re-sends a request once by itself when a reused keep-alive
// connection closes without an answer. For sendTransaction that would be a
// blind retry; the client must put it on the wire exactly once.
TEST(RpcClient, SendIsPutOnTheWireOnceEvenOnAReusedConnection) {
  std::atomic<int> sends{0};
  TestHttpServer server([&](const std::string& body) -> TestHttpServer::Reply {
    if (body.find("sendTransaction") != std::string::npos) {
      ++sends;
      return {200, "", {}, true};  // forwarded, then the answer is lost
    }
    return validator(body);
  });
  RpcClientOptions o;
  o.retry.max_attempts = 1;
  auto client = client_for(server, o);
  ASSERT_TRUE(client->get_slot());  // a keep-alive connection now exists
  std::vector<std::uint8_t> wire(100, 1);
  auto r = client->send_transaction(wire);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTransport);
  EXPECT_EQ(sends.load(), 1);
}

}  // namespace
}  // namespace qtw::rpc
