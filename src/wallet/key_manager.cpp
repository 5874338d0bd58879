#include "qtw/wallet/key_manager.h"

#include <sodium.h>
#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "qtw/metrics/wallet_metrics.h"
#include "qtw/solana/encoding.h"
#include "qtw/solana/instruction_decode.h"
#include "qtw/solana/programs.h"
#include "qtw/solana/versioned_message.h"
#include "qtw/vault/hot_keys.h"
#include "qtw/vault/vault.h"

namespace qtw::wallet {
namespace {

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

KeyManagerOptions key_manager_options(const WalletConfig& config) {
  KeyManagerOptions o;
  o.rpc_url = config.rpc.url;
  o.rpc.use_batch = config.rpc.batch_requests;
  o.http.total_timeout_ms = config.rpc.timeout_ms;
  const auto& b = config.balancer;
  o.balancer.params = BalanceParams{b.min_explorer_keys, b.explorer_keys_to_create,
                                    b.lamports_per_explorer, b.lamports_per_bank};
  o.balancer.bank_refill_percent = b.bank_refill_percent;
  o.balancer.fill_funding_transactions = b.fill_funding_transactions;
  o.balancer.priority = PriorityFee{b.cu_price_micro_lamports, b.cu_limit};
  o.balancer.classify_before_recovery = b.classify_before_recovery;
  o.balancer.restore_explorer_gap = b.restore_explorer_gap;
  o.balancer.max_lamports_per_explorer = config.caps.max_lamports_per_explorer;
  o.balancer.max_bank_outflow_lamports_per_hour = config.caps.max_bank_outflow_lamports_per_hour;
  o.balancer.max_hodl_outflow_lamports_per_hour = config.caps.max_hodl_outflow_lamports_per_hour;
  o.pool.claim_batch = config.pool.claim_batch;
  o.pool.lease_timeout = std::chrono::milliseconds(config.pool.lease_timeout_ms);
  const auto& p = config.policy;
  auto& sp = o.policy;
  sp.deny_malformed = p.deny_malformed;
  sp.deny_managed_signers = p.deny_managed_signers;
  sp.deny_durable_nonce = p.deny_durable_nonce;
  sp.deny_assign = p.deny_assign;
  sp.deny_allocate = p.deny_allocate;
  sp.deny_create_explorer = p.deny_create_explorer;
  sp.deny_nonce = p.deny_nonce;
  sp.deny_fund_nonce = p.deny_fund_nonce;
  sp.deny_token_set_authority = p.deny_token_set_authority;
  sp.deny_token_approve = p.deny_token_approve;
  sp.deny_token_close_to_other = p.deny_token_close_to_other;
  sp.deny_loader_authority = p.deny_loader_authority;
  sp.deny_lookup_table_authority = p.deny_lookup_table_authority;
  // Unset: the Explorer's funding amount; 0: no cap.
  const std::uint64_t outflow = p.max_outflow_lamports.value_or(b.lamports_per_explorer);
  if (outflow != 0) sp.max_outflow_lamports = outflow;
  if (p.max_priority_fee_lamports != 0) sp.max_priority_fee_lamports = p.max_priority_fee_lamports;
  for (const auto& id : p.allowed_programs) {
    if (auto k = solana::Pubkey::from_base58(id)) sp.allowed_programs.push_back(*k);
  }
  for (const auto& id : p.denied_programs) {
    if (auto k = solana::Pubkey::from_base58(id)) sp.denied_programs.push_back(*k);
  }
  o.balance_interval = std::chrono::milliseconds(b.interval_ms);
  o.leader_ttl = std::chrono::milliseconds(b.leader_ttl_ms);
  return o;
}

store::LeaseOwner make_lease_owner() {
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  std::uint8_t rnd[8];
  ensure_sodium_initialized();
  randombytes_buf(rnd, sizeof(rnd));
  return store::LeaseOwner{host, ::getpid(), solana::hex_encode(rnd)};
}

// The pool's durable side: claims, heartbeats, sign records and releases
// through the store, deriving each claimed Explorer's keypair from the
// master seed.
class KeyManager::Source final : public ExplorerSource {
 public:
  Source(KeyManager& km) : km_(km) {}

  Result<std::vector<ClaimedExplorer>> claim(std::size_t max) override {
    // The safe time counts from before the store call: the row's deadline
    // is computed here, so it cannot be earlier than this.
    const auto valid_until = safe_until(std::chrono::steady_clock::now());
    const std::int64_t deadline = unix_ms() + km_.options_.store_lease.count();
    QTW_ASSIGN_OR_RETURN(auto records, km_.store_->claim_explorers(km_.owner_, max, deadline));
    std::vector<ClaimedExplorer> out;
    out.reserve(records.size());
    std::lock_guard lock(mu_);
    for (const auto& r : records) {
      if (!r.bank_index || !r.explorer_index) {
        return make_error(ErrorCode::kCorrupt, "Explorer " + r.pubkey.to_base58() + " has no derivation index");
      }
      QTW_ASSIGN_OR_RETURN(auto kp, km_.hot_keys_->explorer_keypair(*r.bank_index, *r.explorer_index));
      if (kp.pubkey() != r.pubkey) {
        return make_error(ErrorCode::kCorrupt, "store pubkey " + r.pubkey.to_base58() +
                                                   " does not match its derivation path");
      }
      const std::uint64_t lease_id = r.lease ? r.lease->lease_id : 0;
      lease_ids_[r.pubkey] = lease_id;
      out.push_back(ClaimedExplorer{std::move(kp), *r.bank_index, *r.explorer_index, lease_id,
                                    valid_until});
    }
    return out;
  }

  Result<std::chrono::steady_clock::time_point> renew() override {
    const auto valid_until = safe_until(std::chrono::steady_clock::now());
    QTW_TRY(km_.store_->renew_leases(km_.owner_, unix_ms() + km_.options_.store_lease.count()));
    return valid_until;
  }

  Result<std::vector<solana::Pubkey>> write(std::span<const store::SignedLease> signed_leases,
                                            std::span<const solana::Pubkey> retired) override {
    std::vector<solana::Pubkey> refused;
    const Status all = km_.store_->transact([&]() -> Status {
      QTW_ASSIGN_OR_RETURN(refused, km_.store_->record_signed(signed_leases));
      return km_.store_->release_explorers(km_.owner_, retired, /*retire=*/true);
    });
    if (!all && all.error().code != ErrorCode::kConflict) return tl::unexpected(all.error());
    if (!all) {
      // Some retired key's lease already ended (expired by the store after
      // missed heartbeats: it is used already). The records alone, then the
      // retirements one by one.
      QTW_ASSIGN_OR_RETURN(refused, km_.store_->record_signed(signed_leases));
      QTW_TRY(release_one_by_one(retired, true));
    }
    forget(retired);
    return refused;
  }

  Status unclaim(std::span<const solana::Pubkey> explorers) override {
    auto all = km_.store_->release_explorers(km_.owner_, explorers, /*retire=*/false);
    if (!all && all.error().code != ErrorCode::kConflict) return all;
    if (!all) QTW_TRY(release_one_by_one(explorers, false));
    forget(explorers);
    return {};
  }

 private:
  std::chrono::steady_clock::time_point safe_until(std::chrono::steady_clock::time_point start) const {
    return start + km_.options_.store_lease - km_.options_.store_lease_margin;
  }

  // Releases each key alone under its own lease id; a key whose lease ended
  // (kConflict) is skipped: it is used already.
  Status release_one_by_one(std::span<const solana::Pubkey> explorers, bool retire) {
    for (const auto& k : explorers) {
      std::uint64_t id = 0;
      {
        std::lock_guard lock(mu_);
        auto it = lease_ids_.find(k);
        if (it != lease_ids_.end()) id = it->second;
      }
      auto one = km_.store_->release_explorer(k, id, retire);
      if (!one && one.error().code != ErrorCode::kConflict) return one;
    }
    return {};
  }

  void forget(std::span<const solana::Pubkey> explorers) {
    std::lock_guard lock(mu_);
    for (const auto& k : explorers) lease_ids_.erase(k);
  }

  KeyManager& km_;
  std::mutex mu_;  // guards lease_ids_
  std::unordered_map<solana::Pubkey, std::uint64_t> lease_ids_;
};

// Counts RPC requests and errors by method into WalletMetrics.
class KeyManager::RpcMetrics final : public rpc::RpcObserver {
 public:
  explicit RpcMetrics(metrics::WalletMetrics& m) : m_(m) {}
  void on_request(std::string_view method) override { m_.rpc_request(method); }
  void on_http_request(std::string_view first_method, std::size_t) override {
    m_.rpc_http_request(first_method);
  }
  void on_error(std::string_view method, ErrorCode code) override {
    m_.rpc_error(method, error_code_name(code));
  }

 private:
  metrics::WalletMetrics& m_;
};

class KeyManager::Signer final : public KeySigner {
 public:
  explicit Signer(KeyManager& km) : km_(km) {}
  Result<solana::Keypair> bank_keypair(std::uint32_t bank_index) override {
    return km_.hot_keys_->bank_keypair(bank_index);
  }
  Result<solana::Keypair> explorer_keypair(std::uint32_t bank_index,
                                           std::uint32_t explorer_index) override {
    return km_.hot_keys_->explorer_keypair(bank_index, explorer_index);
  }
  Result<solana::Pubkey> explorer_pubkey(std::uint32_t bank_index,
                                         std::uint32_t explorer_index) override {
    return km_.hot_keys_->explorer_pubkey(bank_index, explorer_index);
  }
  const solana::Keypair* hodl_keypair(const solana::Pubkey& hodl) override {
    auto it = km_.hodl_keys_.find(hodl);
    return it == km_.hodl_keys_.end() ? nullptr : it->second.get();
  }

 private:
  KeyManager& km_;
};

Result<std::unique_ptr<KeyManager>> KeyManager::open(std::unique_ptr<store::KeyStore> store,
                                                     const SecureBytes& passphrase,
                                                     KeyManagerOptions options) {
  if (options.store_lease_margin.count() < 0 ||
      options.store_lease <= options.heartbeat_interval + options.store_lease_margin) {
    return make_error(ErrorCode::kInvalidArgument,
                      "store_lease must exceed heartbeat_interval + store_lease_margin, or every "
                      "claimed Explorer would be refused between two heartbeats");
  }
  std::unique_ptr<KeyManager> km(new KeyManager());
  km->options_ = std::move(options);
  km->owner_ = km->options_.owner ? *km->options_.owner : make_lease_owner();
  // The leader slot belongs to host + instance; its row records this
  // process's real pid (a daemon's lease owner has pid 0), so PostgreSQL can
  // tell a dead leader (no session of that pid left) from a slow one.
  km->leader_owner_ = km->owner_;
  if (km->leader_owner_.pid == 0) km->leader_owner_.pid = ::getpid();
  km->store_ = std::move(store);
  QTW_ASSIGN_OR_RETURN(auto meta, km->store_->get_wallet());
  QTW_ASSIGN_OR_RETURN(auto seed, vault::open(meta.sealed_seed, passphrase, vault::kPurposeMasterSeed));
  QTW_ASSIGN_OR_RETURN(km->hot_keys_, vault::HotKeys::create(std::move(seed)));

  store::KeyFilter hodl_filter;
  hodl_filter.tier = store::KeyTier::Hodl;
  QTW_ASSIGN_OR_RETURN(auto hodls, km->store_->list_keys(hodl_filter));
  for (const auto& h : hodls) {
    if (h.watch_only()) continue;
    auto secret = vault::open(h.sealed_secret, passphrase, vault::hodl_purpose(h.pubkey.to_base58()));
    if (!secret) {
      spdlog::warn("HODL {} stays locked (sealed under another passphrase?): {}", h.pubkey.to_base58(),
                   secret.error().message);
      continue;
    }
    QTW_ASSIGN_OR_RETURN(auto kp, solana::Keypair::from_bytes(secret->span()));
    if (kp.pubkey() != h.pubkey) {
      return make_error(ErrorCode::kCorrupt, "sealed HODL secret does not match " + h.pubkey.to_base58());
    }
    km->hodl_keys_[h.pubkey] = std::make_unique<solana::Keypair>(std::move(kp));
  }

  if (km->options_.metrics != nullptr) {
    km->rpc_metrics_ = std::make_unique<RpcMetrics>(*km->options_.metrics);
    km->options_.rpc.observer = km->rpc_metrics_.get();
  }
  QTW_ASSIGN_OR_RETURN(km->rpc_, rpc::RpcClient::connect(km->options_.rpc_url, km->options_.rpc, km->options_.http));
  km->source_ = std::make_unique<Source>(*km);
  km->signer_ = std::make_unique<Signer>(*km);
  km->pool_ = std::make_unique<ExplorerPool>(*km->source_, km->options_.pool);
  km->balancer_ = std::make_unique<Balancer>(*km->store_, *km->rpc_, *km->signer_,
                                            km->options_.balancer, km->options_.metrics);
  // A fresh random owner (one-shot commands) holds nothing yet.
  if (km->options_.owner) QTW_TRY(km->end_held_leases());
  km->maintenance_ = std::thread([raw = km.get()] { raw->maintenance_loop(); });
  return km;
}

KeyManager::~KeyManager() {
  auto st = stop();
  if (!st) spdlog::error("KeyManager shutdown: {}", st.error().message);
}

Result<ExplorerLease> KeyManager::get_explorer_keypair() {
  auto lease = pool_->acquire();
  if (lease && options_.metrics != nullptr) options_.metrics->explorer_keys_acquired().inc();
  if (lease && pool_->available() < claim_ahead_.load(std::memory_order_relaxed) / 2 + 1) {
    // Running low: have the maintenance thread claim ahead now rather than
    // at its next turn, so the next leases do not claim on the request path.
    std::lock_guard lock(mu_);
    if (!prefill_now_) {
      prefill_now_ = true;
      cv_.notify_all();
    }
  }
  if (!lease && lease.error().code == ErrorCode::kPoolEmpty) {
    std::lock_guard lock(mu_);
    wake_ = true;
    cv_.notify_all();
  }
  return lease;
}

Status KeyManager::return_explorer_keypair(const solana::Pubkey& pubkey, bool retire) {
  auto st = pool_->release(pubkey, retire);
  if (st && retire && options_.metrics != nullptr) options_.metrics->explorer_keys_retired().inc();
  if (!st && st.error().code == ErrorCode::kNotFound) {
    return tl::unexpected(lease_ended_or(pubkey, st.error()));
  }
  return st;
}

Error KeyManager::lease_ended_or(const solana::Pubkey& explorer, Error not_here) {
  // Slow path (a bad request): the pool forgets a key once its retirement
  // is flushed, so ask the store whether its lease ended.
  auto key = store_->get_key(explorer);
  if (key && key->tier == store::KeyTier::Explorer &&
      (key->state == store::KeyState::kUsed || key->state == store::KeyState::kDraining ||
       key->state == store::KeyState::kRetired)) {
    return Error{ErrorCode::kConflict,
                 "Explorer " + explorer.to_base58() + " is " +
                     std::string(store::key_state_name(key->state)) +
                     ": its lease has ended (returned or expired)",
                 0};
  }
  return not_here;
}

Status KeyManager::end_held_leases() {
  // A start never takes back what an earlier process of this owner (the
  // same daemon instance) held: it may have signed with any of those keys
  // in its last moments, and its sign records may not have reached the
  // store (they are written after the signatures). They all end as used
  // (recovered by the balancer, never handed out again, I2). The instance
  // lock (lock_instance) guarantees that process is gone.
  auto ended = store_->expire_owner(
      owner_, "restart: every Explorer it held ends used (it may have signed; its Lander leases "
              "again)");
  if (!ended) return tl::unexpected(ended.error());
  if (!ended->empty()) {
    spdlog::info("{} Explorer lease(s) held by this owner before its restart end as used "
                 "(recovered by the balancer; a Lander holding one gets 409 and leases again)",
                 ended->size());
  }
  return {};
}

std::int64_t KeyManager::deadline_unix_ms(const ExplorerLease& lease) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      lease.deadline - std::chrono::steady_clock::now());
  return unix_ms() + left.count();
}

Result<solana::Signature> KeyManager::sign(const ExplorerLease& lease,
                                           std::span<const std::uint8_t> message,
                                           PolicyRefusal* refusal) {
  return sign(lease.pubkey, message, refusal);
}

Result<solana::Signature> KeyManager::sign(const solana::Pubkey& explorer,
                                           std::span<const std::uint8_t> message,
                                           PolicyRefusal* refusal) {
  // Decode and judge first: a message we will not sign never uses the lease.
  auto decoded = solana::VersionedMessage::deserialize(message);
  if (!decoded) {
    return make_error(ErrorCode::kParse,
                      "not a legacy or v0 Solana message: " + decoded.error().message);
  }
  bool signer = false;
  for (std::size_t i = 0; i < decoded->header.num_required_signatures; ++i) {
    signer = signer || decoded->static_keys[i] == explorer;
  }
  if (!signer) {
    // Only a message this Explorer must sign: never arbitrary bytes.
    return make_error(ErrorCode::kInvalidArgument,
                      "Explorer " + explorer.to_base58() + " is not a signer of this message");
  }
  auto ticket = pool_->begin_sign(explorer);
  if (!ticket) {
    if (ticket.error().code == ErrorCode::kNotFound) {
      return tl::unexpected(lease_ended_or(explorer, ticket.error()));
    }
    return tl::unexpected(ticket.error());
  }
  const auto is_managed = [this](const solana::Pubkey& k) {
    auto rec = store_->get_key(k);
    // Unknown to the store: not ours. A store error fails closed.
    return rec.has_value() || rec.error().code != ErrorCode::kNotFound;
  };
  if (auto refused = check_signing_policy(*decoded, explorer, is_managed, options_.policy)) {
    pool_->end_sign(explorer, false);
    spdlog::warn("refused to sign with Explorer {} (lease {}): rule {}, instruction {}: {}",
                 explorer.to_base58(), ticket->store_lease_id, refused->rule,
                 refused->instruction_index ? std::to_string(*refused->instruction_index)
                                            : std::string("-"),
                 refused->reason);
    if (options_.metrics != nullptr) options_.metrics->sign_refused(refused->rule);
    auto err = make_error(ErrorCode::kPolicyRefused,
                          std::string(refused->rule) + ": " + refused->reason);
    if (refusal != nullptr) *refusal = std::move(*refused);
    return err;
  }
  // I2: the durable claim is the single-use commitment; the pool allows
  // this one signature per claimed key, and its record is written with the
  // next flush (a crash before then ends the key as used either way).
  pool_->end_sign(explorer, true);
  // Only System Transfer (u32 tag 2) and Compute Budget: a CreateAccount
  // could fund an account someone else then initialises as a token account
  // the Explorer owns; recovery must look for that one.
  const bool no_token_programs =
      std::all_of(decoded->instructions.begin(), decoded->instructions.end(),
                  [&](const solana::CompiledInstruction& ix) {
                    const solana::Pubkey* program = decoded->static_key(ix.program_id_index);
                    if (program == nullptr) return false;
                    if (*program == solana::compute_budget_program_id()) return true;
                    if (*program != solana::system_program_id()) return false;
                    auto system = solana::system_ix::decode(ix.data);
                    return system && system->kind == solana::system_ix::Kind::kTransfer;
                  });
  if (no_token_programs) balancer_->note_signed_without_token_programs(explorer);
  return ticket->keypair->sign(message);
}

Result<BalanceReport> KeyManager::balance(std::uint32_t min_explorer_keys,
                                          std::uint32_t explorer_keys_to_create,
                                          std::uint64_t lamports_per_explorer,
                                          std::uint64_t lamports_per_bank) {
  const BalanceParams params{min_explorer_keys, explorer_keys_to_create, lamports_per_explorer,
                             lamports_per_bank};
  auto report = balancer_->run_cycle(params);
  add_to_totals(report);
  return report;
}

Result<BalanceReport> KeyManager::balance() {
  const auto& p = options_.balancer.params;
  return balance(p.min_explorer_keys, p.explorer_keys_to_create, p.lamports_per_explorer,
                 p.lamports_per_bank);
}

Result<solana::Keypair> KeyManager::explorer_keypair(const store::KeyRecord& explorer) const {
  if (explorer.tier != store::KeyTier::Explorer || !explorer.bank_index ||
      !explorer.explorer_index) {
    return make_error(ErrorCode::kInvalidArgument,
                      explorer.pubkey.to_base58() + " is not a derived Explorer");
  }
  QTW_ASSIGN_OR_RETURN(auto kp,
                       hot_keys_->explorer_keypair(*explorer.bank_index, *explorer.explorer_index));
  if (kp.pubkey() != explorer.pubkey) {
    return make_error(ErrorCode::kCorrupt, "store pubkey " + explorer.pubkey.to_base58() +
                                               " does not match its derivation path");
  }
  return kp;
}

void KeyManager::wake_balancer() {
  std::lock_guard lock(mu_);
  wake_ = true;
  cv_.notify_all();
}

Status KeyManager::take_leadership() {
  QTW_ASSIGN_OR_RETURN(bool leader, store_->try_acquire_leader(
                                        leader_owner_, unix_ms() + options_.leader_ttl.count()));
  if (!leader) {
    return make_error(ErrorCode::kConflict,
                      "another balancer (a running `qtw serve` or `qtw balance`) holds the "
                      "leader slot of this store; try again when it is done (a crashed "
                      "one's slot frees " +
                          std::to_string(options_.leader_ttl.count()) +
                          " ms after it stopped renewing it)");
  }
  renew_leadership_ = true;
  return {};
}

Result<BalanceReport> KeyManager::sweep_to_hodl(std::optional<solana::Pubkey> hodl) {
  if (!hodl) {
    store::KeyFilter f;
    f.tier = store::KeyTier::Hodl;
    f.limit = 1;
    QTW_ASSIGN_OR_RETURN(auto hodls, store_->list_keys(f));
    if (hodls.empty()) {
      return make_error(ErrorCode::kNotFound,
                        "no HODL key registered to sweep to; add one with `qtw hodl add --pubkey PK` "
                        "(or `--keypair F`)");
    }
    hodl = hodls.front().pubkey;
  }
  auto report = balancer_->sweep_to_hodl(*hodl);
  add_to_totals(report);
  return report;
}

void KeyManager::add_to_totals(const Result<BalanceReport>& report) {
  std::lock_guard lock(mu_);
  ++totals_.cycles;
  if (!report) {
    ++totals_.cycle_errors;
    totals_.last_error = report.error().message;
    return;
  }
  totals_.explorers_created += report->explorers_created;
  totals_.explorers_recovered += report->explorers_recovered;
  totals_.explorers_retired_empty += report->explorers_retired_empty;
  totals_.explorers_dropped += report->explorers_dropped;
  totals_.lamports_recovered += report->lamports_recovered;
  totals_.lamports_to_explorers += report->lamports_to_explorers;
  totals_.lamports_to_banks += report->lamports_to_banks;
  totals_.banks_funded += report->banks_funded;
  totals_.fees_lamports += report->fees_lamports;
  totals_.transactions_sent += report->transactions_sent;
}

BalancerTotals KeyManager::totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

void KeyManager::balancer() {
  std::lock_guard lock(mu_);
  if (balancer_started_ || stopping_) return;
  balancer_started_ = true;
  balancer_thread_ = std::thread([this] { balancer_loop(); });
}

void KeyManager::balancer_loop() {
  using Clock = std::chrono::steady_clock;
  const std::int64_t lease_ms =
      std::max(options_.leader_ttl.count(), 2 * options_.balance_interval.count());
  // The slot is written to the store when it is a third through its
  // lifetime, not before every cycle: a woken balancer may cycle several
  // times a second, and each renewal is a durable commit.
  const auto renew_every = std::chrono::milliseconds(lease_ms) / 3;
  Clock::time_point last_leader_write{};
  WarningLog warnings;
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (stopping_) return;
    }
    Result<bool> leader = true;
    const bool was_leader = is_leader_.load();
    if (!was_leader || Clock::now() - last_leader_write >= renew_every) {
      const auto asked = Clock::now();
      leader = store_->try_acquire_leader(leader_owner_, unix_ms() + lease_ms);
      if (leader && *leader) last_leader_write = asked;
    }
    is_leader_ = leader && *leader;
    if (leader && *leader && !was_leader) {
      spdlog::info("balancer: this process is now the leader ({}:{} {})", leader_owner_.host,
                   leader_owner_.pid, leader_owner_.instance);
    } else if (!(leader && *leader) && was_leader) {
      spdlog::warn("balancer: lost the leader slot");
    }
    // A cycle held back by a safety cap or the funding pause cannot do more
    // before the next interval: wakes (every pool-empty answer is one) wait
    // for it instead of re-running the same refusal many times a second.
    bool held_back = false;
    if (leader && *leader) {
      auto report = balance();
      if (!report) warnings.say("balancer cycle failed: " + report.error().message);
      if (report) {
        if (report->restore_scan) {
          spdlog::info("balancer: restored store scanned past every Bank's next Explorer index "
                       "(gap {}); the mark is cleared",
                       report->restore_scan->gap);
          for (const auto& line : describe_restore_scan(*report->restore_scan)) {
            spdlog::info("balancer: restored store: {}", line);
          }
        }
        for (const auto& w : report->warnings) warnings.say("balancer: " + w);
        // (A restored store whose chain scan failed creates nothing until the
        // next interval's cycle scans again.)
        held_back = report->explorers_created == 0 &&
                    (report->bank_outflow_caps_hit > 0 || report->hodl_outflow_caps_hit > 0 ||
                     report->funding_paused || !report->restore_scan_failed.empty());
      }
    } else if (!leader) {
      warnings.say("balancer leader check failed: " + leader.error().message);
    }
    const auto ended = Clock::now();
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, options_.balance_interval,
                 [this, held_back] { return stopping_ || (wake_ && !held_back); });
    // A wake runs the next cycle no sooner than min_wake_gap after this one.
    if (wake_ && !stopping_) {
      cv_.wait_until(lock, ended + options_.min_wake_gap, [this] { return stopping_; });
    }
    wake_ = false;
  }
}

void KeyManager::WarningLog::say(const std::string& text) {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(recent_, [&](const auto& kv) {
    if (now - kv.second.first_logged < kRepeatEvery) return false;
    if (kv.second.repeats > 0) {
      spdlog::warn("{} (repeated {} more time(s) in the last minute)", kv.first, kv.second.repeats);
    }
    return true;
  });
  auto [it, fresh] = recent_.try_emplace(text, Seen{now, 0});
  if (fresh) {
    spdlog::warn("{}", text);
  } else {
    ++it->second.repeats;
  }
}

KeyManager::WarningLog::~WarningLog() {
  for (const auto& [text, seen] : recent_) {
    if (seen.repeats > 0) spdlog::warn("{} (repeated {} more time(s))", text, seen.repeats);
  }
}

void KeyManager::maintenance_loop() {
  auto last_heartbeat = std::chrono::steady_clock::now();
  auto last_leader_renewal = last_heartbeat;
  std::uint64_t last_acquired = 0;
  auto last_acquire_at = last_heartbeat;
  auto last_flush = last_heartbeat;
  std::uint64_t acquired_at_last_turn = 0;
  auto last_turn_at = last_heartbeat;
  WarningLog warnings;  // store errors of a turn, once a minute
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, options_.flush_interval, [this] { return stopping_ || prefill_now_; }) &&
          stopping_) {
        return;
      }
      prefill_now_ = false;
    }
    // Woken early to claim ahead (the pool ran low): flush on schedule only,
    // one store transaction per flush_interval at most.
    if (std::chrono::steady_clock::now() - last_flush >= options_.flush_interval) {
      last_flush = std::chrono::steady_clock::now();
      flush_pool();
    }
    // Derive ahead: once this process uses the in-memory pool, keep a batch
    // claimed and derived so get_explorer_keypair stays on its in-memory
    // path (key derivation and the durable claim cost ~0.3 ms per key).
    // Never before the first acquisition: a daemon or a one-shot command
    // must not hold keys it will not hand out.
    const auto ps = pool_->stats();
    const auto now_steady = std::chrono::steady_clock::now();
    if (ps.acquired_total != last_acquired) {
      last_acquired = ps.acquired_total;
      last_acquire_at = now_steady;
    }
    const bool idle = now_steady - last_acquire_at >= options_.idle_release;
    if (idle && ps.available > 0) {
      // Nobody is leasing: keys held here would look leased to everyone else
      // (and to `qtw status`) for no use.
      if (auto back = pool_->release_unused(); !back) {
        spdlog::warn("returning idle claimed Explorers: {}", back.error().message);
      }
    } else if (!idle && ps.acquired_total > 0) {
      // How many to hold ahead: one claim batch, or at high lease rates
      // twice what was leased since the last turn (up to 16 batches), so
      // leases stay in memory between two turns instead of claiming on the
      // request path. A crash costs what is claimed and unused (recovered
      // as used).
      const std::size_t batch = std::max<std::size_t>(options_.pool.claim_batch, 1);
      const double turn_ms = std::max(
          1.0, std::chrono::duration<double, std::milli>(now_steady - last_turn_at).count());
      const double per_interval = static_cast<double>(ps.acquired_total - acquired_at_last_turn) *
                                  static_cast<double>(options_.flush_interval.count()) / turn_ms;
      std::size_t ahead =
          std::clamp<std::size_t>(static_cast<std::size_t>(2 * per_interval), batch, 16 * batch);
      std::size_t room = ahead;  // how many more to claim at most
      // What the store still has for every other process (one indexed count
      // per turn, off the lease path).
      if (auto in_store = store_->count_keys_in(store::KeyTier::Explorer, store::KeyState::kAvailable);
          !in_store) {
        warnings.say("counting available Explorers: " + in_store.error().message);
      } else {
        // Low pool: below the balancer's minimum, balance now rather than
        // at the next interval.
        if (ps.acquired_total >= leases_since_check_.load() + 8) {
          leases_since_check_ = ps.acquired_total;
          if (*in_store < options_.balancer.params.min_explorer_keys) wake_balancer();
        }
        // Fair share of a scarce pool: hold at most as many unused keys as
        // the store still has for the others, so a daemon sharing the store
        // (or a Lander of another host) is not refused while keys sit here
        // unused. Beyond that share by two or more, give the excess back.
        const std::size_t share = (static_cast<std::size_t>(*in_store) + ps.available) / 2;
        ahead = std::min(ahead, share);
        room = share > ps.available ? share - ps.available : 0;
        if (ps.available >= share + 2) {
          if (auto back = pool_->release_unused(share); !back) {
            warnings.say("returning claimed Explorers beyond this process's share: " +
                           back.error().message);
          }
        }
      }
      claim_ahead_.store(ahead, std::memory_order_relaxed);
      if (ps.available < ahead / 2 + 1 && room > 0) {
        if (auto st = pool_->prefill(std::min(ahead, room));
            !st && st.error().code != ErrorCode::kPoolEmpty) {
          spdlog::warn("claiming Explorers ahead: {}", st.error().message);
        }
      }
    }
    acquired_at_last_turn = ps.acquired_total;
    last_turn_at = now_steady;
    const auto now = std::chrono::steady_clock::now();
    if (renew_leadership_ && now - last_leader_renewal >= options_.leader_ttl / 3) {
      last_leader_renewal = now;
      auto renewed = store_->try_acquire_leader(leader_owner_, unix_ms() + options_.leader_ttl.count());
      if (!renewed || !*renewed) spdlog::error("lost the balancer-leader slot while holding it");
    }
    if (now - last_heartbeat >= options_.heartbeat_interval) {
      last_heartbeat = now;
      if (auto renewed = pool_->renew(); !renewed) {
        // Past store_lease - store_lease_margin without a success the pool
        // refuses its keys (lease 409, sign 409) rather than risk one another
        // process has expired.
        spdlog::error("store lease heartbeat failed (claimed Explorers are refused once their "
                      "store lease is within {} ms of its deadline): {}",
                      options_.store_lease_margin.count(), renewed.error().message);
        if (options_.metrics != nullptr) options_.metrics->lease_renewals_failed().inc();
      }
    }
  }
}

void KeyManager::flush_pool() {
  auto refused = pool_->flush();
  if (!refused) {
    spdlog::warn("writing sign records and retired Explorers: {} (kept for the next flush)",
                 refused.error().message);
    return;
  }
  for (const auto& k : *refused) {
    // The signature exists, but the store had already ended the lease
    // (expired by another process after missed heartbeats): the key is used
    // and recovered either way; only its audit row is missing.
    spdlog::error("the sign record of Explorer {} was refused: its store lease had already "
                  "ended (the key is used either way)",
                  k.to_base58());
    if (options_.metrics != nullptr) options_.metrics->sign_records_refused().inc();
  }
}

Status KeyManager::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return {};
    stopped_ = true;
    stopping_ = true;
    cv_.notify_all();
  }
  if (balancer_thread_.joinable()) balancer_thread_.join();
  is_leader_ = false;
  if (maintenance_.joinable()) maintenance_.join();
  // open() may have failed before the pool existed (a wrong passphrase): then
  // nothing was claimed and no leader slot taken.
  if (pool_ == nullptr) return {};
  QTW_TRY(pool_->shutdown());
  return store_->release_leader(leader_owner_);
}

}  // namespace qtw::wallet
