#pragma once
// Checks of a HODL key candidate shared by qtw init, qtw rescue and qtw hodl
// add (cmd_hodl.cpp).
#include <string>

#include "qtw/result.h"
#include "qtw/solana/types.h"
#include "qtw/wallet/config.h"

namespace qtw::cli {

// Refuses program ids, sysvars (kInvalidArgument) and, when the node at
// config.rpc.url answers, executable accounts; prints a warning to stderr
// for an account that does not exist, is not System-owned or is off-curve,
// and when the node cannot be reached (the on-chain part is then skipped).
[[nodiscard]] Status check_hodl_candidate(const solana::Pubkey& pubkey,
                                          const wallet::WalletConfig& config);

}  // namespace qtw::cli
