// The signing policy (I8), table-driven: every rule has a refused case, an
// allowed variant, and (where it has one) its switch turned off allows the
// refused case. Instruction layouts are written out byte by byte from the
// SDK sources quoted in qtw/solana/instruction_decode.h, so a decoder that
// drifts from them fails here.
#include "qtw/wallet/signing_policy.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "qtw/solana/message.h"
#include "qtw/solana/programs.h"

namespace qtw::wallet {
namespace {

using solana::AccountMeta;
using solana::Instruction;
using solana::Keypair;
using solana::Pubkey;
using solana::VersionedMessage;

Pubkey key(std::uint8_t n) {
  Pubkey k;
  k.bytes.fill(n);
  return k;
}
const Pubkey kExplorer = key(0xE1);
const Pubkey kStranger = key(0x51);
const Pubkey kBank = key(0xBA);      // managed
const Pubkey kNewAccount = key(0x4E);
const Pubkey kTokenAccount = key(0x7A);
const Pubkey kMint = key(0x3A);
const Pubkey kProgram = key(0x90);   // some DEX

struct Bytes {
  std::vector<std::uint8_t> v;
  Bytes& u8(std::uint8_t x) { v.push_back(x); return *this; }
  Bytes& u32(std::uint32_t x) { for (int i = 0; i < 4; ++i) v.push_back(static_cast<std::uint8_t>(x >> (8 * i))); return *this; }
  Bytes& u64(std::uint64_t x) { for (int i = 0; i < 8; ++i) v.push_back(static_cast<std::uint8_t>(x >> (8 * i))); return *this; }
  Bytes& key(const Pubkey& k) { v.insert(v.end(), k.bytes.begin(), k.bytes.end()); return *this; }
  Bytes& str(const std::string& s) { u64(s.size()); v.insert(v.end(), s.begin(), s.end()); return *this; }
};

AccountMeta ws(const Pubkey& k) { return {k, true, true}; }
AccountMeta rs(const Pubkey& k) { return {k, true, false}; }
AccountMeta w(const Pubkey& k) { return {k, false, true}; }
AccountMeta r(const Pubkey& k) { return {k, false, false}; }

Instruction ix(const Pubkey& program, std::vector<AccountMeta> accounts, Bytes data) {
  return Instruction{program, std::move(accounts), std::move(data.v)};
}
const Pubkey& sys() { return solana::system_program_id(); }
const Pubkey kRecentBlockhashes = key(0x11);
const Pubkey kRent = key(0x12);

VersionedMessage legacy(std::vector<Instruction> ixs, const Pubkey& payer = kExplorer) {
  auto m = solana::Message::compile(payer, ixs, solana::Hash{});
  EXPECT_TRUE(m) << m.error().message;
  return VersionedMessage::from_legacy(std::move(*m));
}

Instruction transfer(const Pubkey& from, const Pubkey& to, std::uint64_t lamports) {
  return solana::system_program::transfer(from, to, lamports);
}

struct Case {
  std::string name;
  std::function<VersionedMessage()> message;
  std::string rule;                       // "" = allowed
  std::optional<std::size_t> index;       // expected instruction index when refused
  std::function<void(SigningPolicy&)> tweak = {};    // policy for this case
  std::function<void(SigningPolicy&)> switch_off = {};  // turning the rule off allows it
};

SigningPolicy defaults() {
  SigningPolicy p;
  p.max_outflow_lamports = 10'000'000;
  p.max_priority_fee_lamports = 1'000'000;
  return p;
}

bool managed(const Pubkey& k) { return k == kBank; }

std::vector<Case> cases() {
  const Pubkey token = solana::token_program_id();
  const Pubkey token22 = solana::token_2022_program_id();
  const Pubkey v3 = solana::bpf_upgradeable_loader_id();
  const Pubkey v4 = solana::loader_v4_id();
  const Pubkey alt = solana::address_lookup_table_program_id();
  std::vector<Case> t;
  // ---- System: Assign / Allocate / CreateAccount of the Explorer ----
  t.push_back({"assign_explorer", [] { return legacy({ix(sys(), {ws(kExplorer)}, Bytes().u32(1).key(kProgram))}); },
               "system_assign", 0, {}, [](SigningPolicy& p) { p.deny_assign = false; }});
  t.push_back({"assign_other_signer", [] { return legacy({ix(sys(), {ws(kNewAccount)}, Bytes().u32(1).key(kProgram))}); }, "", std::nullopt});
  t.push_back({"assign_with_seed_explorer",
               [] { return legacy({ix(sys(), {w(kExplorer), rs(kStranger)}, Bytes().u32(10).key(kStranger).str("s").key(kProgram))}); },
               "system_assign", 0, {}, [](SigningPolicy& p) { p.deny_assign = false; }});
  t.push_back({"assign_with_seed_derived_base_explorer",
               [] { return legacy({ix(sys(), {w(kNewAccount), rs(kExplorer)}, Bytes().u32(10).key(kExplorer).str("s").key(kProgram))}); }, "", std::nullopt});
  t.push_back({"allocate_explorer", [] { return legacy({ix(sys(), {ws(kExplorer)}, Bytes().u32(8).u64(100))}); },
               "system_allocate", 0, {}, [](SigningPolicy& p) { p.deny_allocate = false; }});
  t.push_back({"allocate_with_seed_explorer",
               [] { return legacy({ix(sys(), {w(kExplorer), rs(kStranger)}, Bytes().u32(9).key(kStranger).str("x").u64(10).key(kProgram))}); },
               "system_allocate", 0, {}, [](SigningPolicy& p) { p.deny_allocate = false; }});
  t.push_back({"allocate_new_account", [] { return legacy({ix(sys(), {ws(kNewAccount)}, Bytes().u32(8).u64(100))}); }, "", std::nullopt});
  t.push_back({"create_account_explorer_is_new",
               [] { return legacy({ix(sys(), {ws(kStranger), ws(kExplorer)}, Bytes().u32(0).u64(1).u64(0).key(kProgram))}, kStranger); },
               "system_create_explorer", 0, {}, [](SigningPolicy& p) { p.deny_create_explorer = false; }});
  t.push_back({"create_account_with_seed_explorer_is_new",
               [] { return legacy({ix(sys(), {ws(kStranger), w(kExplorer)}, Bytes().u32(3).key(kStranger).str("a").u64(1).u64(0).key(kProgram))}, kStranger); },
               "system_create_explorer", 0, {}, [](SigningPolicy& p) { p.deny_create_explorer = false; }});
  t.push_back({"create_token_account_funded_by_explorer",
               [] { return legacy({ix(sys(), {ws(kExplorer), ws(kNewAccount)}, Bytes().u32(0).u64(2'039'280).u64(165).key(solana::token_program_id()))}); }, "", std::nullopt});
  // ---- nonces ----
  t.push_back({"durable_nonce_first",
               [] { return legacy({ix(sys(), {w(kNewAccount), r(kRecentBlockhashes), rs(kStranger)}, Bytes().u32(4)),
                                   transfer(kExplorer, kStranger, 1000)}); },
               "durable_nonce", 0, {}, [](SigningPolicy& p) { p.deny_durable_nonce = false; }});
  t.push_back({"advance_nonce_explorer_authority",
               [] { return legacy({transfer(kExplorer, kStranger, 1000),
                                   ix(sys(), {w(kNewAccount), r(kRecentBlockhashes), rs(kExplorer)}, Bytes().u32(4))}); },
               "system_nonce", 1, {}, [](SigningPolicy& p) { p.deny_nonce = false; }});
  t.push_back({"initialize_nonce_explorer_is_nonce",
               [] { return legacy({ix(sys(), {w(kExplorer), r(kRecentBlockhashes), r(kRent)}, Bytes().u32(6).key(kStranger))}); },
               "system_nonce", 0, {}, [](SigningPolicy& p) { p.deny_nonce = false; p.deny_fund_nonce = false; }});
  t.push_back({"initialize_nonce_explorer_is_authority",
               [] { return legacy({ix(sys(), {w(kNewAccount), r(kRecentBlockhashes), r(kRent)}, Bytes().u32(6).key(kExplorer))}); },
               "system_nonce", 0, {}, [](SigningPolicy& p) { p.deny_nonce = false; p.deny_fund_nonce = false; }});
  t.push_back({"initialize_nonce_for_a_stranger",
               [] { return legacy({ix(sys(), {w(kNewAccount), r(kRecentBlockhashes), r(kRent)}, Bytes().u32(6).key(kStranger))}); },
               "system_fund_nonce", 0, {}, [](SigningPolicy& p) { p.deny_fund_nonce = false; }});
  t.push_back({"create_nonce_sized_system_account",
               [] { return legacy({ix(sys(), {ws(kExplorer), ws(kNewAccount)}, Bytes().u32(0).u64(1'447'680).u64(80).key(sys()))}); },
               "system_fund_nonce", 0, {}, [](SigningPolicy& p) { p.deny_fund_nonce = false; }});
  t.push_back({"authorize_nonce_explorer_authority",
               [] { return legacy({ix(sys(), {w(kNewAccount), rs(kExplorer)}, Bytes().u32(7).key(kStranger))}); },
               "system_nonce", 0, {}, [](SigningPolicy& p) { p.deny_nonce = false; }});
  t.push_back({"withdraw_nonce_explorer_authority",
               [] { return legacy({ix(sys(), {w(kNewAccount), w(kStranger), r(kRecentBlockhashes), r(kRent), rs(kExplorer)}, Bytes().u32(5).u64(5))}); },
               "system_nonce", 0, {}, [](SigningPolicy& p) { p.deny_nonce = false; }});
  t.push_back({"upgrade_nonce_explorer", [] { return legacy({ix(sys(), {w(kExplorer)}, Bytes().u32(12))}); },
               "system_nonce", 0, {}, [](SigningPolicy& p) { p.deny_nonce = false; }});
  t.push_back({"transfer_to_nonce_account_is_a_transfer", [] { return legacy({transfer(kExplorer, kNewAccount, 1000)}); }, "", std::nullopt});
  // ---- SPL Token and Token-2022 ----
  for (const auto& [label, program] : {std::pair{std::string("token"), token}, std::pair{std::string("token2022"), token22}}) {
    const Pubkey pg = program;
    t.push_back({label + "_set_authority",
                 [pg] { return legacy({ix(pg, {w(kTokenAccount), rs(kExplorer)}, Bytes().u8(6).u8(2).u8(1).key(kStranger))}); },
                 "token_set_authority", 0, {}, [](SigningPolicy& p) { p.deny_token_set_authority = false; }});
    t.push_back({label + "_approve",
                 [pg] { return legacy({ix(pg, {w(kTokenAccount), r(kStranger), rs(kExplorer)}, Bytes().u8(4).u64(1))}); },
                 "token_approve", 0, {}, [](SigningPolicy& p) { p.deny_token_approve = false; }});
    t.push_back({label + "_approve_checked",
                 [pg] { return legacy({ix(pg, {w(kTokenAccount), r(kMint), r(kStranger), rs(kExplorer)}, Bytes().u8(13).u64(1).u8(6))}); },
                 "token_approve", 0, {}, [](SigningPolicy& p) { p.deny_token_approve = false; }});
    t.push_back({label + "_close_to_stranger",
                 [pg] { return legacy({ix(pg, {w(kTokenAccount), w(kStranger), rs(kExplorer)}, Bytes().u8(9))}); },
                 "token_close_to_other", 0, {}, [](SigningPolicy& p) { p.deny_token_close_to_other = false; }});
    t.push_back({label + "_close_to_explorer",
                 [pg] { return legacy({ix(pg, {w(kTokenAccount), w(kExplorer), rs(kExplorer)}, Bytes().u8(9))}); }, "", std::nullopt});
    t.push_back({label + "_transfer",
                 [pg] { return legacy({ix(pg, {w(kTokenAccount), w(kNewAccount), rs(kExplorer)}, Bytes().u8(3).u64(5))}); }, "", std::nullopt});
  }
  // ---- loaders and lookup tables ----
  t.push_back({"loader_v3_set_authority",
               [v3] { return legacy({ix(v3, {w(kNewAccount), rs(kExplorer), r(kStranger)}, Bytes().u32(4))}); },
               "loader_authority", 0, {}, [](SigningPolicy& p) { p.deny_loader_authority = false; }});
  t.push_back({"loader_v3_new_authority_is_explorer",
               [v3] { return legacy({ix(v3, {w(kNewAccount), rs(kStranger), rs(kExplorer)}, Bytes().u32(7))}); },
               "loader_authority", 0, {}, [](SigningPolicy& p) { p.deny_loader_authority = false; }});
  t.push_back({"loader_v3_upgrade",
               [v3] { return legacy({ix(v3, {w(kNewAccount), w(kProgram), w(kMint), w(kStranger), r(kRent), r(kRecentBlockhashes), rs(kExplorer)}, Bytes().u32(3))}); },
               "loader_authority", 0, {}, [](SigningPolicy& p) { p.deny_loader_authority = false; }});
  t.push_back({"loader_v3_extend_paid_by_explorer",
               [v3] { return legacy({ix(v3, {w(kNewAccount), w(kProgram), r(sys()), ws(kExplorer)}, Bytes().u32(6).u32(100))}); }, "", std::nullopt});
  t.push_back({"loader_v4_transfer_authority",
               [v4] { return legacy({ix(v4, {w(kProgram), rs(kStranger), rs(kExplorer)}, Bytes().u32(5))}); },
               "loader_authority", 0, {}, [](SigningPolicy& p) { p.deny_loader_authority = false; }});
  t.push_back({"loader_v4_deploy",
               [v4] { return legacy({ix(v4, {w(kProgram), rs(kExplorer)}, Bytes().u32(3))}); },
               "loader_authority", 0, {}, [](SigningPolicy& p) { p.deny_loader_authority = false; }});
  t.push_back({"lookup_table_close",
               [alt] { return legacy({ix(alt, {w(kNewAccount), rs(kExplorer), w(kStranger)}, Bytes().u32(4))}); },
               "lookup_table_authority", 0, {}, [](SigningPolicy& p) { p.deny_lookup_table_authority = false; }});
  t.push_back({"lookup_table_create_with_explorer_authority",
               [alt] { return legacy({ix(alt, {w(kNewAccount), r(kExplorer), ws(kExplorer), r(sys())}, Bytes().u32(0).u64(5).u8(255))}); },
               "lookup_table_authority", 0, {}, [](SigningPolicy& p) { p.deny_lookup_table_authority = false; }});
  t.push_back({"lookup_table_create_paid_by_explorer",
               [alt] { return legacy({ix(alt, {w(kNewAccount), rs(kStranger), ws(kExplorer), r(sys())}, Bytes().u32(0).u64(5).u8(255))}); }, "", std::nullopt});
  // ---- managed signers ----
  t.push_back({"bank_cosigns",
               [] { return legacy({transfer(kExplorer, kStranger, 1000), transfer(kBank, kStranger, 1000)}); },
               "managed_signer", std::nullopt, {}, [](SigningPolicy& p) { p.deny_managed_signers = false; }});
  t.push_back({"stranger_cosigns",
               [] { return legacy({transfer(kExplorer, kStranger, 1000), transfer(kNewAccount, kStranger, 1000)}); }, "", std::nullopt});
  // ---- outflow and priority fee ----
  t.push_back({"transfer_over_outflow",
               [] { return legacy({transfer(kExplorer, kStranger, 6'000'000), transfer(kExplorer, kStranger, 4'000'000)}); },
               "max_outflow", 1, {}, [](SigningPolicy& p) { p.max_outflow_lamports.reset(); }});
  t.push_back({"transfer_within_outflow",  // 10,000,000 - 5,000 fee
               [] { return legacy({transfer(kExplorer, kStranger, 9'995'000)}); }, "", std::nullopt});
  t.push_back({"funding_over_outflow",
               [] { return legacy({ix(sys(), {ws(kExplorer), ws(kNewAccount)}, Bytes().u32(0).u64(9'996'000).u64(0).key(kProgram))}); },
               "max_outflow", 0, {}, [](SigningPolicy& p) { p.max_outflow_lamports.reset(); }});
  t.push_back({"fees_alone_over_outflow",
               [] { return legacy({solana::compute_budget::set_compute_unit_limit(1'000'000),
                                   solana::compute_budget::set_compute_unit_price(10'000'000),
                                   transfer(kExplorer, kStranger, 1)}); },
               "max_outflow", std::nullopt, [](SigningPolicy& p) { p.max_priority_fee_lamports.reset(); },
               [](SigningPolicy& p) { p.max_outflow_lamports.reset(); }});
  t.push_back({"priority_fee_over_cap",  // 200,000 CU x 10 lamports = 2,000,000
               [] { return legacy({solana::compute_budget::set_compute_unit_limit(200'000),
                                   solana::compute_budget::set_compute_unit_price(10'000'000),
                                   transfer(kExplorer, kStranger, 1)}); },
               "max_priority_fee", std::nullopt, {}, [](SigningPolicy& p) { p.max_priority_fee_lamports.reset(); }});
  t.push_back({"priority_fee_default_limit_within_cap",  // no limit: 3 builtins x 3,000 CU + 1 other x 200,000
               [] { return legacy({solana::compute_budget::set_compute_unit_price(4'000'000),
                                   transfer(kExplorer, kStranger, 1), ix(kProgram, {ws(kExplorer)}, Bytes().u8(1)),
                                   transfer(kExplorer, kStranger, 1)}); }, "", std::nullopt});
  t.push_back({"priority_fee_paid_by_someone_else",
               [] { return legacy({solana::compute_budget::set_compute_unit_limit(1'400'000),
                                   solana::compute_budget::set_compute_unit_price(100'000'000),
                                   transfer(kExplorer, kStranger, 1)}, kStranger); }, "", std::nullopt});
  // ---- programs ----
  t.push_back({"denied_program",
               [] { return legacy({transfer(kExplorer, kStranger, 1), ix(kProgram, {ws(kExplorer)}, Bytes().u8(1))}); },
               "program_denied", 1, [](SigningPolicy& p) { p.denied_programs = {kProgram}; },
               [](SigningPolicy& p) { p.denied_programs.clear(); }});
  t.push_back({"program_not_allowed",
               [] { return legacy({transfer(kExplorer, kStranger, 1), ix(kProgram, {ws(kExplorer)}, Bytes().u8(1))}); },
               "program_not_allowed", 1, [](SigningPolicy& p) { p.allowed_programs = {solana::system_program_id()}; },
               [](SigningPolicy& p) { p.allowed_programs.clear(); }});
  t.push_back({"allowed_program",
               [] { return legacy({transfer(kExplorer, kStranger, 1), ix(kProgram, {ws(kExplorer)}, Bytes().u8(1))}); },
               "", std::nullopt, [](SigningPolicy& p) { p.allowed_programs = {solana::system_program_id(), kProgram}; }});
  // ---- malformed ----
  t.push_back({"system_data_too_short", [] { return legacy({ix(sys(), {ws(kExplorer), w(kStranger)}, Bytes().u32(2).u8(1))}); },
               "malformed_instruction", 0, {}, [](SigningPolicy& p) { p.deny_malformed = false; }});
  t.push_back({"system_unknown_variant", [] { return legacy({ix(sys(), {ws(kExplorer)}, Bytes().u32(99))}); },
               "malformed_instruction", 0, {}, [](SigningPolicy& p) { p.deny_malformed = false; }});
  t.push_back({"compute_budget_deprecated", [] { return legacy({ix(solana::compute_budget_program_id(), {}, Bytes().u8(0).u32(1).u32(1)), transfer(kExplorer, kStranger, 1)}); },
               "malformed_instruction", 0, {}, [](SigningPolicy& p) { p.deny_malformed = false; }});
  t.push_back({"compute_budget_twice", [] { return legacy({solana::compute_budget::set_compute_unit_price(1), solana::compute_budget::set_compute_unit_price(2), transfer(kExplorer, kStranger, 1)}); },
               "malformed_instruction", std::nullopt, {}, [](SigningPolicy& p) { p.deny_malformed = false; }});
  t.push_back({"token_empty_data", [token] { return legacy({ix(token, {w(kTokenAccount), rs(kExplorer)}, Bytes())}); },
               "malformed_instruction", 0, {}, [](SigningPolicy& p) { p.deny_malformed = false; }});
  // ---- v0: a destination loaded from a lookup table is never the Explorer ----
  t.push_back({"v0_close_to_loaded_destination",
               [token] {
                 VersionedMessage m;
                 m.version = VersionedMessage::Version::kV0;
                 m.header = {1, 0, 1};
                 m.static_keys = {kExplorer, kTokenAccount, token};
                 m.lookups = {{key(0xA1), {7}, {}}};
                 m.instructions = {{2, {1, 3, 0}, {9}}};
                 return m;
               },
               "token_close_to_other", 0, {}, [](SigningPolicy& p) { p.deny_token_close_to_other = false; }});
  t.push_back({"v0_transfer_to_loaded_account",
               [] {
                 VersionedMessage m;
                 m.version = VersionedMessage::Version::kV0;
                 m.header = {1, 0, 1};
                 m.static_keys = {kExplorer, sys()};
                 m.lookups = {{key(0xA1), {3}, {4}}};
                 m.instructions = {{1, {0, 2}, Bytes().u32(2).u64(1000).v}};
                 return m;
               }, "", std::nullopt});
  t.push_back({"v0_assign_explorer",
               [] {
                 VersionedMessage m;
                 m.version = VersionedMessage::Version::kV0;
                 m.header = {1, 0, 1};
                 m.static_keys = {kExplorer, sys()};
                 m.lookups = {{key(0xA1), {}, {4}}};
                 m.instructions = {{1, {0}, Bytes().u32(1).key(kProgram).v}};
                 return m;
               },
               "system_assign", 0, {}, [](SigningPolicy& p) { p.deny_assign = false; }});
  return t;
}

class SigningPolicyTable : public ::testing::TestWithParam<Case> {};

TEST_P(SigningPolicyTable, RefusedOrAllowedAsListed) {
  const Case& c = GetParam();
  SigningPolicy p = defaults();
  if (c.tweak) c.tweak(p);
  const VersionedMessage m = c.message();
  const auto got = check_signing_policy(m, kExplorer, managed, p);
  if (c.rule.empty()) {
    EXPECT_FALSE(got) << c.name << " refused: " << got->rule << ": " << got->reason;
    return;
  }
  ASSERT_TRUE(got) << c.name << " was allowed";
  EXPECT_EQ(got->rule, c.rule) << got->reason;
  EXPECT_EQ(got->instruction_index, c.index) << got->reason;
  EXPECT_FALSE(got->reason.empty());
  if (c.switch_off) {
    c.switch_off(p);
    const auto off = check_signing_policy(m, kExplorer, managed, p);
    EXPECT_FALSE(off) << c.name << " with its switch off still refused: " << off->rule;
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, SigningPolicyTable, ::testing::ValuesIn(cases()),
                         [](const auto& test_info) { return test_info.param.name; });

TEST(SigningPolicy, EveryRuleHasARefusedCase) {
  std::set<std::string> rules;
  for (const auto& c : cases()) rules.insert(c.rule);
  for (const char* r : {"malformed_instruction", "managed_signer", "program_denied", "program_not_allowed",
                        "durable_nonce", "system_assign", "system_allocate", "system_create_explorer",
                        "system_nonce", "system_fund_nonce", "token_set_authority", "token_approve",
                        "token_close_to_other", "loader_authority", "lookup_table_authority",
                        "max_priority_fee", "max_outflow"}) {
    EXPECT_TRUE(rules.contains(r)) << r;
  }
}

TEST(MessageOutflow, CountsTransfersFundingFeesAndPriority) {
  const auto m = legacy({solana::compute_budget::set_compute_unit_limit(300'000),
                         solana::compute_budget::set_compute_unit_price(2'500'001),
                         transfer(kExplorer, kStranger, 1'000),
                         transfer(kStranger, kExplorer, 7'000),  // inflow: not counted
                         ix(sys(), {ws(kExplorer), ws(kNewAccount)}, Bytes().u32(0).u64(2'000).u64(0).key(kProgram))});
  auto f = message_outflow(m, kExplorer);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->compute_unit_limit, 300'000u);
  EXPECT_EQ(f->signature_fee_lamports, 3u * 5'000u);  // Explorer, Stranger, new account
  EXPECT_EQ(f->priority_fee_lamports, 750'001u);      // ceil(2,500,001 * 300,000 / 1e6)
  EXPECT_EQ(f->transfer_lamports, 1'000u);
  EXPECT_EQ(f->funding_lamports, 2'000u);
  EXPECT_EQ(f->total(), 15'000u + 750'001u + 3'000u);
}

TEST(MessageOutflow, DefaultLimitIsPerInstructionAndCapped) {
  std::vector<Instruction> ixs = {solana::compute_budget::set_compute_unit_price(1'000'000)};
  for (int i = 0; i < 8; ++i) ixs.push_back(ix(kProgram, {ws(kExplorer)}, Bytes().u8(1)));
  auto f = message_outflow(legacy(ixs), kExplorer);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->compute_unit_limit, 1'400'000u);  // 3,000 + 8 x 200,000 capped
  EXPECT_EQ(f->priority_fee_lamports, 1'400'000u);
}

}  // namespace
}  // namespace qtw::wallet
