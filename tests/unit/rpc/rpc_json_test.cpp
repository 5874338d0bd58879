// Parsers of every result and error shape, fed with validator-shaped JSON.
// Provenance: response examples of solana.com/docs/rpc/http/<method>
// (solana-foundation/solana-com docs/rpc/http/*.mdx) and the error shapes of
// agave rpc-client-api/src/custom_error.rs; values changed where noted.
#include "rpc/rpc_json.h"

#include <gtest/gtest.h>

#include <limits>

namespace qtw::rpc::detail {
namespace {

json result_of(const char* text) {
  RpcErrorDetail d;
  auto r = extract_result(json::parse(text), d);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? *r : json();
}

TEST(RpcJson, GetBalance) {
  // getbalance.mdx
  auto r = result_of(R"({"jsonrpc":"2.0","result":{"context":{"slot":1},"value":0},"id":1})");
  EXPECT_EQ(parse_context_u64(r, "getBalance").value(), 0u);
  // lamports above 2^53 must not lose precision
  auto big = result_of(
      R"({"jsonrpc":"2.0","result":{"context":{"slot":1},"value":18446744073709551615},"id":1})");
  EXPECT_EQ(parse_context_u64(big, "getBalance").value(),
            std::numeric_limits<std::uint64_t>::max());
}

TEST(RpcJson, GetVersion) {
  // getversion.mdx
  auto r = result_of(
      R"({"jsonrpc":"2.0","result":{"feature-set":2891131721,"solana-core":"1.16.7"},"id":1})");
  auto v = parse_version(r).value();
  EXPECT_EQ(v.solana_core, "1.16.7");
  EXPECT_EQ(v.feature_set.value(), 2891131721u);
}

TEST(RpcJson, GetLatestBlockhash) {
  // getlatestblockhash.mdx
  auto r = result_of(R"({"jsonrpc":"2.0","result":{"context":{"slot":2792},
    "value":{"blockhash":"EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N","lastValidBlockHeight":3090}},"id":1})");
  auto lb = parse_latest_blockhash(r).value();
  EXPECT_EQ(lb.blockhash.to_base58(), "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N");
  EXPECT_EQ(lb.last_valid_block_height, 3090u);
  EXPECT_EQ(lb.context_slot, 2792u);
  auto bad = json::parse(
      R"({"context":{"slot":1},"value":{"blockhash":"0OIl","lastValidBlockHeight":3}})");
  EXPECT_EQ(parse_latest_blockhash(bad).error().code, ErrorCode::kMalformedResponse);
  auto missing = json::parse(
      R"({"context":{"slot":1},"value":{"blockhash":"EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N"}})");
  EXPECT_EQ(parse_latest_blockhash(missing).error().code, ErrorCode::kMalformedResponse);
}

TEST(RpcJson, GetAccountInfo) {
  // getaccountinfo.mdx (rentEpoch u64::MAX as returned by current nodes)
  auto r =
      result_of(R"({"jsonrpc":"2.0","result":{"context":{"apiVersion":"2.0.15","slot":341197053},
    "value":{"data":["AQID","base64"],"executable":false,"lamports":88849814690250,
    "owner":"11111111111111111111111111111111","rentEpoch":18446744073709551615,"space":3}},"id":1})");
  auto a = parse_account(r["value"]).value();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->lamports, 88849814690250u);
  EXPECT_TRUE(a->owner.is_zero());
  EXPECT_EQ(a->data, (std::vector<std::uint8_t>{1, 2, 3}));
  EXPECT_FALSE(a->executable);
  EXPECT_EQ(a->space, 3u);
  auto none = result_of(R"({"jsonrpc":"2.0","result":{"context":{"slot":1},"value":null},"id":1})");
  EXPECT_FALSE(parse_account(none["value"]).value().has_value());
  // base58 data (what a node sends if the encoding param was lost) is refused
  auto b58 = json::parse(R"({"data":["Ldp","base58"],"executable":false,"lamports":1,
    "owner":"11111111111111111111111111111111","space":3})");
  EXPECT_EQ(parse_account(b58).error().code, ErrorCode::kMalformedResponse);
}

TEST(RpcJson, GetMultipleAccounts) {
  // getmultipleaccounts.mdx: value in request order, null for missing
  auto r = result_of(R"({"jsonrpc":"2.0","result":{"context":{"slot":1},"value":[
    {"data":["","base64"],"executable":false,"lamports":1000000000,
     "owner":"11111111111111111111111111111111","rentEpoch":2,"space":0},
    null]},"id":1})");
  auto v = parse_multiple_accounts(r, 2).value();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0]->lamports, 1000000000u);
  EXPECT_FALSE(v[1].has_value());
  // a node that answers with the wrong count is malformed, not silently short
  EXPECT_EQ(parse_multiple_accounts(r, 3).error().code, ErrorCode::kMalformedResponse);
}

TEST(RpcJson, GetFeeForMessage) {
  // getfeeformessage.mdx
  auto r = result_of(R"({"jsonrpc":"2.0","result":{"context":{"slot":5068},"value":5000},"id":1})");
  EXPECT_EQ(parse_fee_for_message(r).value().value(), 5000u);
  auto gone =
      result_of(R"({"jsonrpc":"2.0","result":{"context":{"slot":5068},"value":null},"id":1})");
  EXPECT_FALSE(parse_fee_for_message(gone).value().has_value());
}

TEST(RpcJson, SendTransactionSignature) {
  // sendtransaction.mdx
  auto r = result_of(
      R"({"jsonrpc":"2.0","result":"2id3YC2jK9G5Wo2phDx4gJVAew8DcY5NAojnVuao8rkxwPYPe8cSwE5GzhEgJA2y8fVjDEo6iR6ykBvDxrTQrtpb","id":1})");
  EXPECT_EQ(
      parse_signature(r).value().to_base58(),
      "2id3YC2jK9G5Wo2phDx4gJVAew8DcY5NAojnVuao8rkxwPYPe8cSwE5GzhEgJA2y8fVjDEo6iR6ykBvDxrTQrtpb");
  EXPECT_EQ(parse_signature(json(42)).error().code, ErrorCode::kMalformedResponse);
  EXPECT_EQ(parse_signature(json("abc")).error().code, ErrorCode::kMalformedResponse);
}

TEST(RpcJson, SimulateTransaction) {
  // simulatetransaction.mdx (trimmed)
  auto r =
      result_of(R"({"jsonrpc":"2.0","result":{"context":{"apiVersion":"2.3.3","slot":393226680},
    "value":{"accounts":null,"err":null,"innerInstructions":null,"loadedAccountsDataSize":413,
    "logs":["Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA invoke [1]","Program log: Instruction: Transfer"],
    "replacementBlockhash":null,"returnData":null,"unitsConsumed":1714,"fee":5000}},"id":1})");
  auto s = parse_simulation(r).value();
  EXPECT_TRUE(s.err.empty());
  EXPECT_EQ(s.logs.size(), 2u);
  EXPECT_EQ(s.units_consumed.value(), 1714u);
  EXPECT_EQ(s.fee.value(), 5000u);
  auto failed =
      json::parse(R"({"context":{"slot":1},"value":{"err":{"InstructionError":[0,{"Custom":1}]},
    "logs":[],"unitsConsumed":150}})");
  auto f = parse_simulation(failed).value();
  EXPECT_EQ(f.err, R"({"InstructionError":[0,{"Custom":1}]})");
  EXPECT_FALSE(f.fee.has_value());
}

TEST(RpcJson, GetSignatureStatuses) {
  // getsignaturestatuses.mdx
  auto r = result_of(R"({"jsonrpc":"2.0","result":{"context":{"slot":82},"value":[
    {"slot":48,"confirmations":null,"err":null,"status":{"Ok":null},"confirmationStatus":"finalized"},
    null,
    {"slot":80,"confirmations":2,"err":{"InstructionError":[0,{"Custom":1}]},
     "status":{"Err":{"InstructionError":[0,{"Custom":1}]}},"confirmationStatus":"confirmed"},
    {"slot":81,"confirmations":0,"err":null,"status":{"Ok":null},"confirmationStatus":"processed"}]},"id":1})");
  auto v = parse_signature_statuses(r, 4).value();
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0]->slot, 48u);
  EXPECT_FALSE(v[0]->confirmations.has_value());
  EXPECT_TRUE(v[0]->err.empty());
  EXPECT_EQ(v[0]->confirmation_status, Commitment::kFinalized);
  EXPECT_FALSE(v[1].has_value());
  EXPECT_EQ(v[2]->err, R"({"InstructionError":[0,{"Custom":1}]})");
  EXPECT_EQ(v[2]->confirmation_status, Commitment::kConfirmed);
  EXPECT_EQ(v[2]->confirmations.value(), 2u);
  EXPECT_EQ(v[3]->confirmation_status, Commitment::kProcessed);
  EXPECT_EQ(parse_signature_statuses(r, 3).error().code, ErrorCode::kMalformedResponse);
  auto bad = json::parse(
      R"({"value":[{"slot":1,"confirmations":0,"err":null,"confirmationStatus":"rooted"}]})");
  EXPECT_EQ(parse_signature_statuses(bad, 1).error().code, ErrorCode::kMalformedResponse);
}

TEST(RpcJson, GetSignaturesForAddress) {
  // getsignaturesforaddress.mdx
  auto r = result_of(R"({"jsonrpc":"2.0","result":[{"err":null,"memo":null,
    "signature":"5h6xBEauJ3PK6SWCZ1PGjBvj8vDdWG3KpwATGy1ARAXFSDwt8GFXM7W5Ncn16wmqokgpiKRLuS83KUxyZyv2sUYv",
    "slot":114,"blockTime":null,"confirmationStatus":"finalized"}],"id":1})");
  auto v = parse_signatures_for_address(r).value();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].slot, 114u);
  EXPECT_FALSE(v[0].block_time.has_value());
  EXPECT_EQ(v[0].confirmation_status.value(), Commitment::kFinalized);
  EXPECT_TRUE(v[0].memo.empty());
}

TEST(RpcJson, GetRecentPrioritizationFees) {
  // getrecentprioritizationfees.mdx
  auto r = result_of(R"({"jsonrpc":"2.0","result":[{"slot":348125,"prioritizationFee":0},
    {"slot":348126,"prioritizationFee":1000}],"id":1})");
  auto v = parse_prioritization_fees(r).value();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1].slot, 348126u);
  EXPECT_EQ(v[1].micro_lamports_per_cu, 1000u);
}

TEST(RpcJson, GetTransaction) {
  // gettransaction.mdx (json encoding, trimmed)
  auto r =
      result_of(R"({"jsonrpc":"2.0","result":{"blockTime":1700000000,"meta":{"err":null,"fee":5000,
    "innerInstructions":[],"logMessages":["Program 11111111111111111111111111111111 invoke [1]"],
    "postBalances":[499998932500,26858640,1],"preBalances":[499998937500,26858640,1]},
    "slot":430,"transaction":{}},"id":1})");
  auto t = parse_transaction(r).value();
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->slot, 430u);
  EXPECT_EQ(t->fee_lamports, 5000u);
  EXPECT_EQ(t->pre_balances[0] - t->post_balances[0], 5000u);
  EXPECT_EQ(t->log_messages.size(), 1u);
  EXPECT_EQ(t->block_time.value(), 1700000000);
  EXPECT_FALSE(parse_transaction(json()).value().has_value());
}

TEST(RpcJson, ErrorInvalidParams) {
  // agave rpc.rs get_signature_statuses over the limit
  RpcErrorDetail d;
  auto r = extract_result(
      json::parse(
          R"({"jsonrpc":"2.0","error":{"code":-32602,"message":"Too many inputs provided; max 256"},"id":1})"),
      d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kRpc);
  EXPECT_EQ(r.error().native_code, -32602);
  EXPECT_EQ(d.rpc_code.value(), -32602);
  EXPECT_EQ(d.rpc_message, "Too many inputs provided; max 256");
  EXPECT_TRUE(d.logs.empty());
}

TEST(RpcJson, ErrorPreflightFailureCarriesLogsAndErr) {
  // -32002 SendTransactionPreflightFailure, data = RpcSimulateTransactionResult
  // (agave rpc-client-api/src/custom_error.rs)
  RpcErrorDetail d;
  auto r = extract_result(json::parse(R"({"jsonrpc":"2.0","error":{"code":-32002,
    "message":"Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1",
    "data":{"accounts":null,"err":{"InstructionError":[0,{"Custom":1}]},
    "logs":["Program 11111111111111111111111111111111 invoke [1]","Transfer: insufficient lamports 0, need 1000",
            "Program 11111111111111111111111111111111 failed: custom program error: 0x1"],
    "unitsConsumed":150,"returnData":null}},"id":1})"),
                          d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kRpc);
  EXPECT_EQ(r.error().native_code, -32002);
  ASSERT_EQ(d.logs.size(), 3u);
  EXPECT_EQ(d.logs[1], "Transfer: insufficient lamports 0, need 1000");
  EXPECT_EQ(d.transaction_error, R"({"InstructionError":[0,{"Custom":1}]})");
  EXPECT_FALSE(d.rpc_data.empty());
}

TEST(RpcJson, ErrorBlockhashNotFoundPreflight) {
  RpcErrorDetail d;
  auto r = extract_result(json::parse(R"({"jsonrpc":"2.0","error":{"code":-32002,
    "message":"Transaction simulation failed: Blockhash not found",
    "data":{"accounts":null,"err":"BlockhashNotFound","logs":[],"unitsConsumed":0}},"id":1})"),
                          d);
  ASSERT_FALSE(r);
  EXPECT_EQ(d.transaction_error, "\"BlockhashNotFound\"");
}

TEST(RpcJson, MalformedEnvelopes) {
  RpcErrorDetail d;
  for (const char* text : {R"([])", R"("x")", R"({"jsonrpc":"2.0","id":1})",
                           R"({"jsonrpc":"2.0","error":"boom","id":1})",
                           R"({"jsonrpc":"2.0","error":{"message":"no code"},"id":1})"}) {
    auto r = extract_result(json::parse(text), d);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kMalformedResponse) << text;
  }
  EXPECT_EQ(parse_u64(json(-1), "x").error().code, ErrorCode::kMalformedResponse);
  EXPECT_EQ(parse_u64(json(1.5), "x").error().code, ErrorCode::kMalformedResponse);
  EXPECT_EQ(parse_u64(json("5"), "x").error().code, ErrorCode::kMalformedResponse);
}

}  // namespace
}  // namespace qtw::rpc::detail
