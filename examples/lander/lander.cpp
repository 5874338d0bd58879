// qtw-lander: the seed's lifecycle as a runnable program (docs/ARCHITECTURE.md).
//
// Opens the wallet in process, starts the background balancer, and runs T
// Lander threads that together perform N real transactions. Each one:
// acquires a fresh Explorer, signs one transfer that spends lamports (to a
// "market" address standing in for a trade), sends it, waits for
// confirmation, and returns the Explorer retired. Then it lets the balancer
// recover every used Explorer and prints the report: Explorers created, used
// and recovered, SOL recovered, fees per Explorer lifecycle against the
// protocol floor, single use checked on chain (getSignaturesForAddress), the
// conservation check (I6) to the lamport, and elapsed time.
//
// Exit code: 0 when every check holds, 1 when one fails, 2 on bad usage.
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "qtw/rpc/rpc_client.h"
#include "qtw/rpc/transaction_sender.h"
#include "qtw/solana/keypair_file.h"
#include "qtw/solana/programs.h"
#include "qtw/solana/token.h"
#include "qtw/solana/transaction.h"
#include "qtw/store/open_store.h"
#include "qtw/vault/vault.h"
#include "qtw/wallet/config.h"
#include "qtw/wallet/key_manager.h"

namespace {

using namespace qtw;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string config = "qtw.toml";
  std::uint32_t transactions = 200;
  std::uint32_t threads = 4;
  std::uint64_t spend_lamports = 1'000'000;  // what each "trade" pays the market
  std::uint64_t initial_lamports = 0;        // what came in (HODL airdrop), for I6
  // The token the Landers buy (SPL Token mint) and the market maker that
  // sells it: its keypair file (it owns the mint's tokens in its associated
  // token account). Unset = transfers only, as before.
  std::string mint;
  std::string market_maker;
  std::uint64_t tokens_per_buy = 1'000'000;   // base units per Lander transaction
  std::uint32_t wrap_every = 4;               // every Nth trade also wraps SOL
  std::uint64_t wrap_lamports = 1'000'000;
  bool require_no_dry = false;
  bool quiet = false;
  bool verbose = false;
};

std::string sol(std::uint64_t lamports) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%llu.%09llu SOL",
                static_cast<unsigned long long>(lamports / 1'000'000'000),
                static_cast<unsigned long long>(lamports % 1'000'000'000));
  return buf;
}

struct Shared {
  std::atomic<std::uint32_t> next{0};
  std::atomic<std::uint32_t> done{0};
  std::atomic<std::uint32_t> failed{0};
  std::atomic<std::uint32_t> dry_waits{0};  // acquisitions that found the pool empty
  std::atomic<std::uint32_t> trades{0};     // trades started (every Nth wraps SOL)
  std::mutex mu;
  std::map<solana::Pubkey, std::vector<solana::Signature>> signed_by;  // Explorer -> its Lander txs
  std::vector<std::string> errors;
};

// The token side of a trade: the mint, its decimals, the market maker.
struct TokenMarket {
  solana::Pubkey mint;
  std::uint8_t decimals = 0;
  std::optional<solana::Keypair> maker;
};

void lander_thread(const Args& args, const std::string& rpc_url, wallet::KeyManager& km,
                   const solana::Pubkey& market, const TokenMarket& token, Shared& shared) {
  auto client = rpc::RpcClient::connect(rpc_url);
  if (!client) {
    std::lock_guard lock(shared.mu);
    shared.errors.push_back(client.error().message);
    return;
  }
  rpc::TransactionSender sender(**client);
  while (shared.next.fetch_add(1) < args.transactions) {
    // 1. A fresh Explorer (in memory; waits for the balancer if it ran dry).
    Result<wallet::ExplorerLease> lease = km.get_explorer_keypair();
    bool waited = false;
    const auto give_up = Clock::now() + std::chrono::seconds(60);
    while (!lease && lease.error().code == ErrorCode::kPoolEmpty && Clock::now() < give_up) {
      waited = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      lease = km.get_explorer_keypair();
    }
    if (waited) shared.dry_waits.fetch_add(1);
    if (!lease) {
      std::lock_guard lock(shared.mu);
      shared.errors.push_back("acquire: " + lease.error().message);
      shared.failed.fetch_add(1);
      continue;
    }
    // 2. One real transaction: the Explorer pays the market (and the fee);
    // with a token market it also buys: creates its associated token account
    // for the mint and receives tokens from the market maker (who co-signs),
    // and every Nth trade wraps SOL into its wrapped-SOL account.
    bool ok = false;
    std::string why;
    auto blockhash = (*client)->get_latest_blockhash();
    const std::uint32_t trade = shared.trades.fetch_add(1);
    if (blockhash) {
      std::vector<solana::Instruction> ix = {
          solana::system_program::transfer(lease->pubkey, market, args.spend_lamports)};
      std::vector<const solana::Keypair*> signers = {lease->keypair.get()};
      if (token.maker) {
        const auto& prog = solana::token_program_id();
        auto create = solana::associated_token::create_idempotent(lease->pubkey, lease->pubkey,
                                                                  token.mint, prog);
        auto from = solana::associated_token_address(token.maker->pubkey(), token.mint, prog);
        if (create && from) {
          const solana::Pubkey to = create->accounts[1].pubkey;
          ix.push_back(std::move(*create));
          ix.push_back(solana::token::transfer_checked(prog, *from, token.mint, to,
                                                       token.maker->pubkey(), args.tokens_per_buy,
                                                       token.decimals));
          signers.push_back(&*token.maker);
        }
        if (args.wrap_every > 0 && trade % args.wrap_every == 0) {
          auto wrap = solana::associated_token::create_idempotent(lease->pubkey, lease->pubkey,
                                                                  solana::native_mint(), prog);
          if (wrap) {
            const solana::Pubkey w = wrap->accounts[1].pubkey;
            ix.push_back(std::move(*wrap));
            ix.push_back(solana::system_program::transfer(lease->pubkey, w, args.wrap_lamports));
            ix.push_back(solana::token::sync_native(prog, w));
          }
        }
      }
      auto message = solana::Message::compile(lease->pubkey, ix, blockhash->blockhash);
      if (message) {
        auto tx = solana::Transaction::from_message(std::move(*message));
        auto signed_ok = tx.sign(signers);
        auto wire = tx.serialize();
        if (signed_ok && wire) {
          {
            std::lock_guard lock(shared.mu);
            shared.signed_by[lease->pubkey].push_back(tx.id());
          }
          auto outcome = sender.send_and_confirm(
              rpc::PendingTransaction{*wire, tx.id(), blockhash->last_valid_block_height});
          ok = outcome && (outcome->kind == rpc::TxOutcomeKind::kConfirmed ||
                           outcome->kind == rpc::TxOutcomeKind::kFinalized);
          why = outcome ? std::string(rpc::tx_outcome_name(outcome->kind)) + " " + outcome->err
                        : outcome.error().message;
        } else {
          why = "sign/serialize failed";
        }
      } else {
        why = message.error().message;
      }
    } else {
      why = blockhash.error().message;
    }
    // 3. Retired whatever happened: it signed (I2).
    auto returned = km.return_explorer_keypair(lease->pubkey, /*retire=*/true);
    if (!ok || !returned) {
      std::lock_guard lock(shared.mu);
      shared.errors.push_back("transaction: " + why +
                              (returned ? "" : "; return: " + returned.error().message));
      shared.failed.fetch_add(1);
    }
    shared.done.fetch_add(1);
  }
}

void draw_progress(std::uint32_t done, std::uint32_t total, double seconds,
                   const wallet::ExplorerPoolStats& pool) {
  // A redrawn bar on a terminal; into a log or pipe, one line every 5 s
  // (and the last), not one per redraw.
  static const bool tty = ::isatty(2) != 0;
  static std::optional<std::chrono::steady_clock::time_point> last_line;
  if (!tty) {
    const auto now = std::chrono::steady_clock::now();
    if (last_line && now - *last_line < std::chrono::seconds(5) && done != total) return;
    last_line = now;
  }
  constexpr int kWidth = 40;
  const int filled = total == 0 ? kWidth : static_cast<int>(kWidth * done / total);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar += std::string(static_cast<std::size_t>(kWidth - filled), '.');
  std::fprintf(stderr, "%s   [%s] %u/%u  %.1f tx/s  pool: %zu ready, %zu leased %s",
               tty ? "\r" : "", bar.c_str(), done, total, seconds > 0 ? done / seconds : 0.0,
               pool.available, pool.leased, tty ? "" : "\n");
  std::fflush(stderr);
}

// Sums confirmed balancer fees by kind from the intent log of every Bank.
struct FeeBook {
  std::uint64_t funding = 0, funding_explorers = 0;  // Bank -> Explorers
  std::uint64_t recovery = 0, recovered_explorers = 0;
  std::uint64_t bank_topups = 0, sweeps = 0;
  std::uint64_t bank_token_accounts = 0;  // the Banks creating their token accounts
  std::uint64_t token_accounts_closed = 0, rent_recovered = 0;  // from recovery transfers
};

Result<FeeBook> fee_book(store::KeyStore& st) {
  FeeBook book;
  store::KeyFilter f;
  f.tier = store::KeyTier::Bank;
  QTW_ASSIGN_OR_RETURN(auto banks, st.list_keys(f));
  std::set<std::int64_t> counted;
  for (const auto& b : banks) {
    QTW_ASSIGN_OR_RETURN(auto intents, st.list_intents_for_key(b.pubkey));
    for (const auto& i : intents) {
      if (!counted.insert(i.id).second || i.status != store::IntentStatus::kConfirmed) continue;
      const std::uint64_t fee = i.fee_lamports.value_or(0);
      switch (i.kind) {
        case store::IntentKind::kFundExplorers:
          book.funding += fee;
          book.funding_explorers += i.transfers.size();
          break;
        case store::IntentKind::kRecover:
          book.recovery += fee;
          // A transfer from a managed Explorer is its drain; from anything
          // else, a token account closed into the Bank (rent, wrapped SOL).
          for (const auto& t : i.transfers) {
            if (st.get_key(t.from)) {
              ++book.recovered_explorers;
            } else {
              ++book.token_accounts_closed;
              book.rent_recovered += t.lamports;
            }
          }
          break;
        case store::IntentKind::kTransfer:
          book.bank_token_accounts += fee;
          break;
        case store::IntentKind::kFundBank:
          book.bank_topups += fee;
          break;
        default:
          book.sweeps += fee;
          break;
      }
    }
  }
  return book;
}

// What `owners` hold in token accounts of both programs: the amount of
// `mint`, the number of token accounts and their lamports (rent, wrapped SOL).
struct TokenHoldings {
  std::uint64_t amount = 0;
  std::uint64_t accounts = 0;
  std::uint64_t lamports = 0;
};

Result<TokenHoldings> token_holdings(rpc::RpcClient& rpc, const std::vector<solana::Pubkey>& owners,
                                     const solana::Pubkey& mint) {
  TokenHoldings h;
  for (const auto* program : {&solana::token_program_id(), &solana::token_2022_program_id()}) {
    QTW_ASSIGN_OR_RETURN(auto lists, rpc.get_token_accounts_by_owners(owners, *program));
    for (const auto& list : lists) {
      for (const auto& a : list) {
        ++h.accounts;
        h.lamports += a.account.lamports;
        auto parsed = solana::parse_token_account(a.account.data);
        if (parsed && parsed->mint == mint) h.amount += parsed->amount;
      }
    }
  }
  return h;
}

int run(const Args& args) {
  const auto started = Clock::now();
  auto config = wallet::load_config(args.config, /*must_exist=*/true);
  if (!config) {
    std::cerr << "qtw-lander: " << config.error().message << "\n";
    return 2;
  }
  auto passphrase = vault::load_passphrase({});
  if (!passphrase) {
    std::cerr << "qtw-lander: " << passphrase.error().message << "\n";
    return 2;
  }
  auto st = store::open_store(config->store.path);
  if (!st) {
    std::cerr << "qtw-lander: " << st.error().message << "\n";
    return 2;
  }
  auto km_r = wallet::KeyManager::open(std::move(*st), *passphrase,
                                       wallet::key_manager_options(*config));
  if (!km_r) {
    std::cerr << "qtw-lander: " << km_r.error().message << "\n";
    return 1;
  }
  auto& km = **km_r;
  auto rpc_r = rpc::RpcClient::connect(config->rpc.url);
  if (!rpc_r) {
    std::cerr << "qtw-lander: " << rpc_r.error().message << "\n";
    return 1;
  }
  auto& rpc = **rpc_r;
  // The "market" the trades pay: a fresh address outside the wallet.
  const solana::Pubkey market = solana::Keypair::generate().pubkey();
  TokenMarket token;
  std::uint64_t maker_tokens_before = 0;
  if (!args.mint.empty()) {
    auto mint = solana::Pubkey::from_base58(args.mint);
    auto maker = solana::read_keypair_file(args.market_maker);
    if (!mint || !maker) {
      std::cerr << "qtw-lander: --mint and --market-maker: "
                << (mint ? maker.error().message : mint.error().message) << "\n";
      return 2;
    }
    const solana::Pubkey m[] = {*mint};
    auto mint_acct = rpc.get_multiple_accounts(m);
    auto parsed = mint_acct && (*mint_acct)[0] ? solana::parse_mint((*mint_acct)[0]->data)
                                               : Result<solana::Mint>(make_error(ErrorCode::kNotFound, "no such mint"));
    if (!parsed) {
      std::cerr << "qtw-lander: mint " << args.mint << ": " << parsed.error().message << "\n";
      return 2;
    }
    token.mint = *mint;
    token.decimals = parsed->decimals;
    token.maker.emplace(std::move(*maker));
    auto before = token_holdings(rpc, {token.maker->pubkey()}, token.mint);
    if (!before) {
      std::cerr << "qtw-lander: market maker's tokens: " << before.error().message << "\n";
      return 1;
    }
    maker_tokens_before = before->amount;
  }

  km.balancer();  // the seed's background balancer
  // Warm-up: the first cycle funds the Banks and creates the first
  // Explorers; the Landers start once the pool holds its minimum.
  {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline) {
      auto counts = km.store().count_keys();
      std::uint64_t available = 0;
      if (counts) {
        for (const auto& c : *counts) {
          if (c.tier == store::KeyTier::Explorer && c.state == store::KeyState::kAvailable) {
            available += c.count;
          }
        }
      }
      if (available >= std::max<std::uint32_t>(1, config->balancer.min_explorer_keys)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  const auto landers_started = Clock::now();
  Shared shared;
  std::vector<std::thread> threads;
  for (std::uint32_t t = 0; t < args.threads; ++t) {
    threads.emplace_back(
        [&] { lander_thread(args, config->rpc.url, km, market, token, shared); });
  }
  while (shared.done.load() < args.transactions && shared.failed.load() < args.transactions) {
    if (!args.quiet) {
      draw_progress(shared.done.load(), args.transactions,
                    std::chrono::duration<double>(Clock::now() - landers_started).count(),
                    km.pool_stats());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (shared.next.load() >= args.transactions + args.threads) break;
  }
  for (auto& th : threads) th.join();
  const double lander_seconds =
      std::chrono::duration<double>(Clock::now() - landers_started).count();
  if (!args.quiet) {
    draw_progress(shared.done.load(), args.transactions, lander_seconds, km.pool_stats());
    std::fprintf(stderr, "\n");
  }

  // Recover everything used: stop the background loop, let the pool flush
  // its retirements, then run cycles until nothing used or draining is left.
  if (auto s = km.stop(); !s) std::cerr << "qtw-lander: stop: " << s.error().message << "\n";
  auto& store = km.store();
  for (int i = 0; i < 10; ++i) {
    auto counts = store.count_keys();
    std::uint64_t pending_work = 0;
    if (counts) {
      for (const auto& c : *counts) {
        if (c.tier == store::KeyTier::Explorer &&
            (c.state == store::KeyState::kUsed || c.state == store::KeyState::kDraining ||
             c.state == store::KeyState::kLeased)) {
          pending_work += c.count;
        }
      }
    }
    if (pending_work == 0) break;
    auto report = km.balance(0, 0, config->balancer.lamports_per_explorer,
                             config->balancer.lamports_per_bank);
    if (!report) std::cerr << "qtw-lander: final cycle: " << report.error().message << "\n";
  }
  const auto totals = km.totals();

  // ---- checks ----
  bool all_ok = true;
  // Single use, on chain: each Explorer the Landers used appears in exactly
  // one Lander transaction, and its whole history is funding + that
  // transaction + its recovery.
  std::uint32_t single_use_ok = 0;
  std::uint32_t explorers_used = 0;
  for (const auto& [explorer, sigs] : shared.signed_by) {
    ++explorers_used;
    if (sigs.size() != 1) continue;
    auto history = rpc.get_signatures_for_address(explorer);
    if (!history) continue;
    std::uint32_t lander_txs = 0;
    for (const auto& h : *history) {
      if (h.signature == sigs.front()) ++lander_txs;
    }
    if (lander_txs == 1 && history->size() == 3) ++single_use_ok;
  }
  const bool single_use = single_use_ok == explorers_used && explorers_used == shared.done.load();
  all_ok = all_ok && single_use && shared.failed.load() == 0;

  // Conservation (I6): what came in == managed balances + what the Landers
  // paid the market + every fee paid.
  store::KeyFilter live;
  auto keys = store.list_keys(live);
  std::uint64_t managed = 0;
  std::uint64_t live_explorers = 0;
  TokenHoldings wallet_tokens;  // token accounts every managed key owns
  if (keys) {
    std::vector<solana::Pubkey> pks;
    std::vector<solana::Pubkey> all;
    for (const auto& k : *keys) {
      all.push_back(k.pubkey);
      if (k.tier == store::KeyTier::Explorer && (k.state == store::KeyState::kRetired ||
                                                 k.state == store::KeyState::kDropped)) {
        continue;
      }
      pks.push_back(k.pubkey);
      if (k.tier == store::KeyTier::Explorer) ++live_explorers;
    }
    auto accounts = rpc.get_multiple_accounts(pks);
    if (accounts) {
      for (const auto& a : *accounts) managed += a ? a->lamports : 0;
    }
    if (token.maker) {
      auto h = token_holdings(rpc, all, token.mint);
      if (h) wallet_tokens = *h;
      managed += wallet_tokens.lamports;  // their rent is the wallet's too
    }
  }
  bool tokens_conserved = true;
  std::uint64_t maker_tokens_after = 0;
  if (token.maker) {
    auto after = token_holdings(rpc, {token.maker->pubkey()}, token.mint);
    maker_tokens_after = after ? after->amount : 0;
    tokens_conserved = after && maker_tokens_after + wallet_tokens.amount == maker_tokens_before;
    all_ok = all_ok && tokens_conserved;
  }
  const solana::Pubkey market_keys[] = {market};
  auto market_acct = rpc.get_multiple_accounts(market_keys);
  const std::uint64_t spent = market_acct && (*market_acct)[0] ? (*market_acct)[0]->lamports : 0;
  // The Lander fee of one transaction (the Explorer's signature, and the
  // market maker's with a token market), as the node quotes it.
  std::uint64_t lander_fee = 0;
  {
    auto bh = rpc.get_latest_blockhash();
    const solana::Pubkey other = solana::Keypair::generate().pubkey();
    std::vector<solana::Instruction> ix = {solana::system_program::transfer(market, market, 1)};
    if (token.maker) ix.push_back(solana::system_program::transfer(other, market, 1));
    if (bh) {
      auto m = solana::Message::compile(market, ix, bh->blockhash);
      if (m) {
        auto q = rpc.get_fee_for_message(m->serialize());
        if (q && *q) lander_fee = **q;
      }
    }
  }
  const std::uint64_t lander_fees = lander_fee * shared.done.load();
  auto book = fee_book(store);
  const std::uint64_t balancer_fees =
      book ? book->funding + book->recovery + book->bank_topups + book->sweeps +
                 book->bank_token_accounts
           : totals.fees_lamports;
  const std::uint64_t accounted = managed + spent + lander_fees + balancer_fees;
  const bool conserved = args.initial_lamports == 0 || accounted == args.initial_lamports;
  all_ok = all_ok && conserved;
  if (args.require_no_dry && shared.dry_waits.load() > 0) all_ok = false;

  // ---- report ----
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  const double floor = 5000.0 + 5000.0 / 21.0;
  std::printf("\n== report\n");
  std::printf("   Lander transactions    %u confirmed, %u failed, %u threads, %.1f tx/s\n",
              shared.done.load() - shared.failed.load(), shared.failed.load(), args.threads,
              shared.done.load() / lander_seconds);
  std::printf("   Explorers              %llu created, %u used, %llu recovered, %llu still "
              "ready\n",
              static_cast<unsigned long long>(totals.explorers_created), explorers_used,
              static_cast<unsigned long long>(totals.explorers_recovered +
                                              totals.explorers_retired_empty),
              static_cast<unsigned long long>(live_explorers));
  std::printf("   pool ran dry           %u time(s)\n", shared.dry_waits.load());
  std::printf("   SOL recovered          %s\n", sol(totals.lamports_recovered).c_str());
  if (token.maker && book) {
    std::printf("   tokens recovered       %llu units of %s in the Banks; %llu token accounts "
                "closed, rent recovered %s\n",
                static_cast<unsigned long long>(wallet_tokens.amount), args.mint.c_str(),
                static_cast<unsigned long long>(book->token_accounts_closed),
                sol(book->rent_recovered).c_str());
  }
  if (book) {
    const double fund_each = book->funding_explorers
                                 ? static_cast<double>(book->funding) / static_cast<double>(book->funding_explorers)
                                 : 0;
    const double recover_each =
        book->recovered_explorers
            ? static_cast<double>(book->recovery) / static_cast<double>(book->recovered_explorers)
            : 0;
    std::printf("   fees per lifecycle     %.1f lamports (funding %.1f + recovery %.1f); floor "
                "%.1f (5000 + 5000/21)\n",
                fund_each + recover_each, fund_each, recover_each, floor);
    std::printf("   other fees             Bank top-ups %llu, Bank token accounts %llu, Lander "
                "txs %llu (%llu each)\n",
                static_cast<unsigned long long>(book->bank_topups),
                static_cast<unsigned long long>(book->bank_token_accounts),
                static_cast<unsigned long long>(lander_fees),
                static_cast<unsigned long long>(lander_fee));
  }
  std::printf("   single use (on chain)  %u/%u Explorers signed exactly one Lander tx: %s\n",
              single_use_ok, explorers_used, single_use ? "OK" : "FAILED");
  if (args.initial_lamports > 0) {
    std::printf("   conservation (I6)      in %llu = managed %llu + market %llu + fees %llu: %s\n",
                static_cast<unsigned long long>(args.initial_lamports),
                static_cast<unsigned long long>(managed), static_cast<unsigned long long>(spent),
                static_cast<unsigned long long>(lander_fees + balancer_fees),
                conserved ? "OK, to the lamport" : "FAILED");
    if (!conserved) {
      std::printf("                          difference %lld lamports\n",
                  static_cast<long long>(accounted) -
                      static_cast<long long>(args.initial_lamports));
    }
  }
  if (token.maker) {
    std::printf("   conservation (tokens)  minted to the maker %llu = maker %llu + wallet %llu: "
                "%s\n",
                static_cast<unsigned long long>(maker_tokens_before),
                static_cast<unsigned long long>(maker_tokens_after),
                static_cast<unsigned long long>(wallet_tokens.amount),
                tokens_conserved ? "OK, per mint, exact" : "FAILED");
  }
  std::printf("   elapsed                %.1f s\n", elapsed);
  {
    std::lock_guard lock(shared.mu);
    for (std::size_t i = 0; i < shared.errors.size() && i < 5; ++i) {
      std::printf("   error: %s\n", shared.errors[i].c_str());
    }
  }
  std::fflush(stdout);
  return all_ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "qtw-lander: a simulated Lander. Runs the wallet's balancer in process and performs N "
      "real transactions, each with a fresh single-use Explorer, then recovers them and "
      "checks single use and conservation. Passphrase from QTW_PASSPHRASE or "
      "$CREDENTIALS_DIRECTORY/qtw-passphrase."};
  Args args;
  app.add_option("--config", args.config, "Wallet config (TOML)")->required();
  app.add_option("--transactions", args.transactions, "Lander transactions (default 200)")
      ->check(CLI::Range(1u, 1'000'000u));
  app.add_option("--threads", args.threads, "Lander threads (default 4)")
      ->check(CLI::Range(1u, 256u));
  app.add_option("--spend-lamports", args.spend_lamports,
                 "Lamports each transaction pays the market (default 1000000)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000'000}));
  app.add_option("--initial-lamports", args.initial_lamports,
                 "Lamports that came into the wallet (the HODL airdrop); enables the "
                 "conservation check");
  app.add_option("--mint", args.mint,
                 "SPL Token mint the Landers buy (each trade creates the Explorer's token "
                 "account and receives tokens from the market maker)");
  app.add_option("--market-maker", args.market_maker,
                 "Keypair file of the market maker selling --mint (owns its tokens)");
  app.add_option("--tokens-per-buy", args.tokens_per_buy, "Base units per trade (default 1000000)");
  app.add_option("--wrap-every", args.wrap_every,
                 "Every Nth trade also wraps SOL (default 4; 0 = never)");
  app.add_flag("--require-no-dry", args.require_no_dry,
               "Fail if any acquisition found the pool empty");
  app.add_flag("--quiet", args.quiet, "No progress bar");
  app.add_flag("--verbose", args.verbose, "Log the wallet's info messages (default: warnings only)");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(args.verbose ? spdlog::level::info : spdlog::level::warn);
  return run(args);
}
