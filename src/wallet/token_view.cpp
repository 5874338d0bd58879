#include "qtw/wallet/token_view.h"

#include <set>
#include <utility>

#include "qtw/solana/programs.h"

namespace qtw::wallet {

Result<TokenView> read_token_view(rpc::RpcClient& rpc, std::span<const solana::Pubkey> owners,
                                  const TokenViewOptions& options) {
  using solana::Pubkey;
  TokenView view;
  view.by_owner.resize(owners.size());
  if (owners.empty()) return view;
  std::set<Pubkey> mint_set;
  for (const Pubkey* program : {&solana::token_program_id(), &solana::token_2022_program_id()}) {
    QTW_ASSIGN_OR_RETURN(auto lists, rpc.get_token_accounts_by_owners(owners, *program));
    for (std::size_t i = 0; i < lists.size() && i < owners.size(); ++i) {
      for (auto& keyed : lists[i]) {
        auto parsed = solana::parse_token_account(keyed.account.data);
        if (!parsed || parsed->owner != owners[i] || keyed.account.owner != *program) {
          view.unreadable.push_back(keyed.pubkey.to_base58() + ": " +
                                    (parsed ? "not owned as reported" : parsed.error().message));
          continue;
        }
        if (!parsed->native_rent_reserve) mint_set.insert(parsed->mint);
        view.by_owner[i].push_back(
            ParsedToken{keyed.pubkey, *program, keyed.account.lamports, std::move(*parsed)});
      }
    }
  }
  if (!options.read_mints) return view;
  std::vector<Pubkey> mints(mint_set.begin(), mint_set.end());
  QTW_ASSIGN_OR_RETURN(auto mint_accounts, rpc.get_multiple_accounts(mints));
  for (std::size_t i = 0; i < mints.size(); ++i) {
    if (!mint_accounts[i] || !solana::is_token_program(mint_accounts[i]->owner)) continue;
    auto m = solana::parse_mint(mint_accounts[i]->data);
    if (m) view.mints.emplace(mints[i], std::move(*m));
  }
  return view;
}

}  // namespace qtw::wallet
