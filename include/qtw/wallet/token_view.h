#pragma once
// Reading the SPL token accounts a set of owners hold, under both token
// programs, as the balancer's recovery and `qtw status` both need it.
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "qtw/result.h"
#include "qtw/rpc/rpc_client.h"
#include "qtw/solana/token.h"
#include "qtw/solana/types.h"

namespace qtw::wallet {

// One token account as read from the node.
struct ParsedToken {
  solana::Pubkey account;
  solana::Pubkey program;  // token_program_id() or token_2022_program_id()
  std::uint64_t lamports = 0;
  solana::TokenAccount state;
};

struct TokenView {
  // by_owner[i]: the readable accounts of owners[i], token program first.
  std::vector<std::vector<ParsedToken>> by_owner;
  // The mints of those accounts that could be read (native SOL accounts'
  // mint is not read). Empty unless TokenViewOptions::read_mints.
  std::map<solana::Pubkey, solana::Mint> mints;
  // "<account>: <why>" for each account that did not parse or whose
  // reported owner or program did not match what was asked for: left out
  // of by_owner.
  std::vector<std::string> unreadable;
};

struct TokenViewOptions {
  // Also read the mints (one getMultipleAccounts): the recovery needs their
  // extensions; a listing of amounts does not. Default: true.
  bool read_mints = true;
};

// Two getTokenAccountsByOwner per owner (batched), one per token program,
// and the mints when asked. Errors: the node's (kRpc, kUnavailable, ...);
// an account that does not parse is not an error (see `unreadable`).
// No owners: no request. Thread safety: as `rpc`.
[[nodiscard]] Result<TokenView> read_token_view(rpc::RpcClient& rpc,
                                                std::span<const solana::Pubkey> owners,
                                                const TokenViewOptions& options = {});

}  // namespace qtw::wallet
