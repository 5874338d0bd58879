#pragma once
// KeyStore: the durable heart of the wallet (docs/ARCHITECTURE.md).
//
// One interface, several backends: SQLite (embedded default, one process
// writes) and PostgreSQL (many hosts share one pool). Every method is one
// atomic unit: it either fully happens or not at all. Several calls are made
// atomic together with transact().
//
// What the store holds: the sealed master seed (vault envelope, never the
// plaintext), HODL keys (sealed secret or watch-only pubkey), Banks and
// Explorers by derivation index (never their secrets), the Explorer state
// machine with leases, the transaction intent log and an append-only audit
// log. No method of this interface ever receives or returns a plaintext
// secret (I5).
//
// Time: every timestamp is Unix time in milliseconds (`_ms`). Methods whose
// meaning depends on time (deadlines, expiry) take it as an argument so
// callers and tests control it; bookkeeping timestamps (created_at_ms,
// updated_at_ms, audit at_ms) come from the backend's injected clock.
//
// Thread safety: every backend is safe to call from any thread. Concurrent
// claims never hand out the same key twice, within a process or across
// processes/hosts sharing the store.
//
// Errors (closed set, see qtw/result.h):
//   kNotFound           the named key/intent/wallet does not exist
//   kAlreadyExists      refusing to overwrite (wallet, pubkey, index)
//   kIllegalTransition  an Explorer state change the state machine does not allow,
//                       or the key is not in the state the caller expected
//                       (compare-and-set failed); nothing was written
//   kConflict           a lease/sign-once guard refused (another owner, or
//                       the Explorer already signed)
//   kInvalidArgument    a malformed request (wrong tier, value out of range)
//   kStore              the database failed (native_code = SQLite/libpq code)
//   kCorrupt            integrity check failed on open
//   kSchemaTooNew       written by a newer qtw; nothing was changed
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qtw/result.h"
#include "qtw/solana/types.h"

namespace qtw::store {

// The three tiers (seed-compatible names, docs/ARCHITECTURE.md). Stored as integers:
// the values are part of the schema, never renumber.
enum class KeyTier : std::uint8_t { Hodl = 0, Bank = 1, Explorer = 2 };

// Key states. Explorers move through the state machine of docs/ARCHITECTURE.md (see
// check_transition). HODL and Bank keys are always kActive. Stored as
// integers: the values are part of the schema, never renumber.
enum class KeyState : std::uint8_t {
  kPending = 0,    // derived and persisted, funding not yet confirmed (I1)
  kAvailable = 1,  // funded, may be claimed
  kLeased = 2,     // claimed by one owner (host + pid + instance)
  kUsed = 3,       // may have signed: never handed out again (I2); to be drained
  kDraining = 4,   // a recovery transaction is in flight
  kRetired = 5,    // drained to 0 lamports, confirmed: terminal
  kDropped = 6,    // funding never landed: terminal unless the chain says otherwise
  kActive = 7,     // HODL and Bank keys
  kStranded = 8,   // cannot be drained by the wallet (owner changed, data
                   // allocated, a nonce account of a stranger, a token account
                   // that cannot move): terminal, never retried; the reason is
                   // stored (KeyRecord::stranded_reason)
};

[[nodiscard]] std::string_view key_tier_name(KeyTier tier) noexcept;    // "hodl", "bank", "explorer"
[[nodiscard]] std::string_view key_state_name(KeyState state) noexcept;  // "pending", ...
[[nodiscard]] Result<KeyTier> parse_key_tier(std::string_view text);    // kInvalidArgument
[[nodiscard]] Result<KeyState> parse_key_state(std::string_view text);  // kInvalidArgument

// The one place the Explorer state machine lives. Legal transitions:
//   pending   -> available  funding confirmed
//   pending   -> dropped    funding expired without landing, not retried
//   available -> leased     claim_explorers (durable claim)
//   available -> used       taken out of service unused (sweep); drained like used
//   leased    -> available  release(retire=false) of a key that signed nothing
//   leased    -> used       release(retire=true), lease expired, owner died
//   used      -> draining   recovery transaction prepared
//   used      -> retired    balance confirmed 0 with nothing to drain
//   draining  -> retired    recovery confirmed, balance 0
//   draining  -> used       recovery failed or expired: retry later
//   dropped   -> used       a chain scan found lamports on a dropped key: drain it
//   used      -> stranded   the chain shows the wallet cannot drain it
//   draining  -> stranded   recovered what could move; the rest cannot
// Moving to stranded stores the reason in KeyRecord::stranded_reason.
// Everything else (including X -> X) is kIllegalTransition with a message
// naming both states. Pure function, no I/O.
[[nodiscard]] Status check_transition(KeyState from, KeyState to);

// Who holds a lease. A process makes one at start-up; `instance` is random
// per start so a reused pid is not mistaken for the old owner, except for a
// daemon (`qtw serve --instance NAME`), whose instance is stable across
// restarts and unique among live processes (lock_instance).
struct LeaseOwner {
  std::string host;      // gethostname()
  std::int64_t pid = 0;  // getpid()
  std::string instance;  // random per process start (16 hex chars), or a daemon's stable name
  bool operator==(const LeaseOwner&) const = default;
  // Same host and instance (the leader slot's identity; the pid may differ
  // after a restart).
  [[nodiscard]] bool same_instance(const LeaseOwner& o) const {
    return host == o.host && instance == o.instance;
  }
};

struct Lease {
  LeaseOwner owner;
  std::uint64_t lease_id = 0;       // unique per claimed key, assigned by the store
  std::int64_t deadline_ms = 0;     // after this the key counts as used (I2)
};

// One signature made with a leased Explorer (KeyStore::record_signed).
struct SignedLease {
  solana::Pubkey explorer;
  std::uint64_t lease_id = 0;
};

struct KeyRecord {
  std::int64_t id = 0;  // store-assigned row id
  KeyTier tier = KeyTier::Explorer;
  solana::Pubkey pubkey;
  KeyState state = KeyState::kActive;
  // Bank: its own index i (path in docs/KEYS.md). Explorer: its Bank's index.
  std::optional<std::uint32_t> bank_index;
  // Explorer: its index j under Bank i.
  std::optional<std::uint32_t> explorer_index;
  // Explorer: the row id of the Bank that funds it (and receives its
  // leftovers, I3).
  std::optional<std::int64_t> funding_bank_id;
  // HODL: vault envelope of the 64-byte Solana keypair; empty = watch-only.
  // Always empty for Banks and Explorers (derived, not stored).
  std::vector<std::uint8_t> sealed_secret;
  std::string label;  // free text for operators (HODL names)
  // Bank: the next Explorer index reserve_explorers will use.
  std::uint32_t next_child_index = 0;
  std::optional<Lease> lease;  // set while kLeased
  // Whether (0 or 1) and when this Explorer signed: the durable guard
  // (mark_signed) before the signature for the CLI, the daemon's sign record
  // (record_signed) after it; single use itself rests on the claim (I2).
  std::uint32_t sign_count = 0;
  std::optional<std::int64_t> signed_at_ms;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  // kStranded: why the wallet cannot drain it (the transition's reason).
  std::string stranded_reason;

  [[nodiscard]] bool watch_only() const noexcept {
    return tier == KeyTier::Hodl && sealed_secret.empty();
  }
};

struct KeyFilter {
  std::optional<KeyTier> tier;            // default: all tiers
  std::optional<KeyState> state;          // default: all states
  std::optional<std::int64_t> funding_bank_id;  // Explorers of one Bank
  std::size_t limit = 0;                  // 0 = no limit; ordered by id
};

struct KeyCount {
  KeyTier tier = KeyTier::Explorer;
  KeyState state = KeyState::kActive;
  std::uint64_t count = 0;
};

struct WalletMeta {
  std::vector<std::uint8_t> sealed_seed;  // vault envelope of the 32-byte master seed
  std::int64_t created_at_ms = 0;
  int schema_version = 0;                 // of the store as opened
};

// ---- Transaction intent log (docs/ARCHITECTURE.md; I1, I4, I6 after a crash) ----

enum class IntentKind : std::uint8_t {
  kFundBank = 0,       // HODL -> Bank
  kFundExplorers = 1,  // Bank -> Explorers
  kRecover = 2,        // Explorers -> their funding Bank
  kSweep = 3,          // Bank/Explorer -> HODL (emergency / operator)
  kLander = 4,         // the one Lander transaction an Explorer signs
  kTransfer = 5,       // explicit operator transfer
};

// prepared -> sent | abandoned | failed; sent -> confirmed | failed | expired;
// expired -> confirmed (a late status lookup that finds it landed: the chain
// is the truth). confirmed, failed and abandoned are final.
enum class IntentStatus : std::uint8_t {
  kPrepared = 0,   // signed and persisted, not yet sent
  kSent = 1,       // handed to RPC at least once
  kConfirmed = 2,  // landed (commitment per caller); `slot` set
  kFailed = 3,     // landed with an error, or rejected before landing
  kExpired = 4,    // lastValidBlockHeight passed without landing (I4)
  kAbandoned = 5,  // never sent (e.g. superseded before broadcast)
};

[[nodiscard]] std::string_view intent_kind_name(IntentKind kind) noexcept;
[[nodiscard]] std::string_view intent_status_name(IntentStatus status) noexcept;
[[nodiscard]] Result<IntentKind> parse_intent_kind(std::string_view text);
[[nodiscard]] Result<IntentStatus> parse_intent_status(std::string_view text);
// kIllegalTransition unless `from -> to` is listed above.
[[nodiscard]] Status check_intent_transition(IntentStatus from, IntentStatus to);

struct IntentTransfer {
  solana::Pubkey from;
  solana::Pubkey to;
  std::uint64_t lamports = 0;  // must be <= INT64_MAX (kInvalidArgument)
};

struct IntentRecord {
  std::int64_t id = 0;  // store-assigned
  IntentKind kind = IntentKind::kTransfer;
  IntentStatus status = IntentStatus::kPrepared;
  solana::Pubkey fee_payer;
  std::vector<IntentTransfer> transfers;  // in instruction order
  // The first signature of the transaction: its id on chain. Known before
  // sending because the transaction is signed before it is persisted.
  solana::Signature signature;
  solana::Blockhash blockhash;
  std::uint64_t last_valid_block_height = 0;
  // The signed wire transaction, so a rebroadcast sends the same bytes (I4).
  // Empty for kLander intents, where only the message was signed here.
  std::vector<std::uint8_t> wire;
  std::optional<std::uint64_t> slot;          // where it landed
  // The fee this transaction is charged if it lands: the node's quote,
  // recorded at insert (so a restarted balancer still knows it), or as
  // charged once known.
  std::optional<std::uint64_t> fee_lamports;
  std::string error;                          // why it failed/expired, "" otherwise
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

struct IntentOutcome {
  std::optional<std::uint64_t> slot;
  std::optional<std::uint64_t> fee_lamports;
  std::string error;
};

// ---- Cold HODL: durable nonce accounts and offline top-up requests ----
// (docs/COLD_HODL.md). A watch-only HODL key cannot sign on this host, so
// its Bank top-ups are unsigned durable-nonce transactions ("requests")
// that an offline machine signs; a request stays valid until its nonce
// account advances.

// Stored as integers: never renumber.
enum class NonceAccountStatus : std::uint8_t {
  kCreating = 0,  // creation transaction persisted/sent, not yet confirmed
  kActive = 1,    // on chain, initialized, authority = its HODL key
  kFailed = 2,    // creation did not land
};
[[nodiscard]] std::string_view nonce_account_status_name(NonceAccountStatus s) noexcept;

struct NonceAccountRecord {
  std::int64_t id = 0;           // store-assigned
  solana::Pubkey hodl;           // the nonce authority: a (watch-only) HODL key
  solana::Pubkey address;        // the nonce account
  solana::Pubkey funding_bank;   // paid its rent and is the create_with_seed base
  std::string seed;              // create_with_seed(funding_bank, seed, System)
  std::uint64_t lamports = 0;    // rent-exempt deposit it holds
  NonceAccountStatus status = NonceAccountStatus::kCreating;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

// pending -> submitted | stale; submitted -> landed | failed | stale |
// pending (sent, did not land, nonce unchanged: may be submitted again).
// landed, failed and stale are final. Stored as integers: never renumber.
enum class TopupStatus : std::uint8_t {
  kPending = 0,    // written, waiting for an offline signature
  kSubmitted = 1,  // a valid signature was sent (intent recorded)
  kLanded = 2,     // confirmed on chain: the Banks got their lamports
  kFailed = 3,     // landed with an error (fee charged, nonce advanced)
  kStale = 4,      // its nonce advanced without it: can never land
};
[[nodiscard]] std::string_view topup_status_name(TopupStatus s) noexcept;
[[nodiscard]] Status check_topup_transition(TopupStatus from, TopupStatus to);
// pending or submitted: still able to land.
[[nodiscard]] inline bool topup_is_live(TopupStatus s) noexcept {
  return s == TopupStatus::kPending || s == TopupStatus::kSubmitted;
}

struct TopupRequestRecord {
  std::int64_t id = 0;  // store-assigned
  solana::Pubkey hodl;  // fee payer, nonce authority, source of every transfer
  solana::Pubkey nonce_account;
  solana::Hash nonce_value;             // the message's recent_blockhash
  std::vector<std::uint8_t> message;    // the exact legacy message to sign
  std::vector<IntentTransfer> transfers;  // HODL -> Bank, in instruction order
  TopupStatus status = TopupStatus::kPending;
  std::optional<solana::Signature> signature;  // set once submitted
  std::optional<std::int64_t> intent_id;       // its intent once submitted
  std::string detail;                          // why stale/failed; "" otherwise
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};
// What both backends require of a new request: status kPending, no
// signature/intent, a message, 1+ transfers of 1..2^63-1 lamports each from
// the request's HODL key (kInvalidArgument otherwise).
[[nodiscard]] Status check_new_topup_request(const TopupRequestRecord& request);

// ---- Audit log: append-only (the backends refuse UPDATE and DELETE) ----

struct AuditRecord {
  std::int64_t id = 0;        // store-assigned, increasing
  std::int64_t at_ms = 0;     // store-assigned on append
  std::string actor;          // e.g. "host:pid" or "cli"
  std::string action;         // e.g. "explorer.transition", "wallet.init"
  std::optional<solana::Pubkey> pubkey;
  std::optional<std::int64_t> intent_id;
  std::string detail;         // free text; never a secret
};

// A stored audit row with its hash chain (qtw/store/audit_chain.h).
// `chained` is false for a row without hashes (written behind the store's
// back, never by qtw).
using AuditHash = std::array<std::uint8_t, 32>;
struct AuditEntry {
  AuditRecord record;
  AuditHash prev_hash{};
  AuditHash hash{};
  bool chained = false;
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // Schema version this backend writes.
  [[nodiscard]] virtual int schema_version() const noexcept = 0;
  // "sqlite:/path/qtw.db", "postgresql://host/db" (no password).
  [[nodiscard]] virtual std::string describe() const = 0;

  // Runs `body` as one atomic unit: every store call `body` makes on this
  // thread joins it, and all of it is rolled back if `body` returns an error
  // or the commit fails. Other threads' calls wait until it ends. Nesting is
  // allowed (savepoints). `body` must not call other stores or block on other
  // threads that use this store.
  [[nodiscard]] virtual Status transact(const std::function<Status()>& body) = 0;

  // ---- wallet ----
  // Records the sealed master seed. kAlreadyExists if the wallet exists.
  [[nodiscard]] virtual Status create_wallet(std::span<const std::uint8_t> sealed_seed) = 0;
  // kNotFound if `qtw init` never ran on this store.
  [[nodiscard]] virtual Result<WalletMeta> get_wallet() = 0;

  // ---- keys ----
  // Registers a HODL key; `sealed_secret` empty = watch-only.
  // kAlreadyExists if the pubkey is known (in any tier).
  [[nodiscard]] virtual Result<KeyRecord> add_hodl(const solana::Pubkey& pubkey,
                                                   std::span<const std::uint8_t> sealed_secret,
                                                   std::string_view label) = 0;
  // Registers Bank `bank_index` (pubkey derived by the caller, docs/KEYS.md).
  // kAlreadyExists if that index or pubkey exists.
  [[nodiscard]] virtual Result<KeyRecord> add_bank(std::uint32_t bank_index,
                                                   const solana::Pubkey& pubkey) = 0;

  // Derives pubkeys for the next `count` Explorer indexes of Bank
  // `bank_id`: calls `derive(explorer_index)` for each, inserts them as
  // kPending and advances the Bank's next_child_index, all in one
  // transaction (I1: persist before fund). Indexes are never reused, even
  // if a later step fails. `derive` must only compute (no store calls).
  // kNotFound / kInvalidArgument if `bank_id` is not a Bank.
  using DeriveExplorerPubkey = std::function<Result<solana::Pubkey>(std::uint32_t explorer_index)>;
  [[nodiscard]] virtual Result<std::vector<KeyRecord>> reserve_explorers(
      std::int64_t bank_id, std::size_t count, const DeriveExplorerPubkey& derive) = 0;

  [[nodiscard]] virtual Result<KeyRecord> get_key(const solana::Pubkey& pubkey) = 0;
  [[nodiscard]] virtual Result<KeyRecord> get_key_by_id(std::int64_t id) = 0;
  [[nodiscard]] virtual Result<std::vector<KeyRecord>> list_keys(const KeyFilter& filter) = 0;
  // Non-zero counts only, ordered by tier then state.
  [[nodiscard]] virtual Result<std::vector<KeyCount>> count_keys() = 0;
  // Keys of one tier in one state (an index range: cheap however many
  // retired keys the store holds, unlike count_keys).
  [[nodiscard]] virtual Result<std::uint64_t> count_keys_in(KeyTier tier, KeyState state) = 0;
  // The funding Bank of an Explorer. kInvalidArgument if not an Explorer.
  [[nodiscard]] virtual Result<KeyRecord> funding_bank_of(const solana::Pubkey& explorer) = 0;

  // ---- Explorer state machine (check_transition is applied in every write) ----
  // Compare-and-set: moves `explorer` from `from` to `to` if it is in `from`.
  // kIllegalTransition if the transition is not legal or the key is not in
  // `from`. Leases are changed only by the lease methods below: `from` or
  // `to` == kLeased is kInvalidArgument here. Appends an audit row.
  [[nodiscard]] virtual Status transition(const solana::Pubkey& explorer, KeyState from,
                                          KeyState to, std::string_view reason) = 0;
  // Same for several keys, all or none.
  [[nodiscard]] virtual Status transition_many(std::span<const solana::Pubkey> explorers,
                                               KeyState from, KeyState to,
                                               std::string_view reason) = 0;

  // ---- leases (durable claim, docs/ARCHITECTURE.md) ----
  // Atomically moves up to `max` kAvailable Explorers (oldest first) to
  // kLeased for `owner` with a fresh lease_id each and the given deadline.
  // Returns what was claimed (possibly empty). No key is ever returned to
  // two concurrent callers.
  [[nodiscard]] virtual Result<std::vector<KeyRecord>> claim_explorers(
      const LeaseOwner& owner, std::size_t max, std::int64_t lease_deadline_ms) = 0;
  // Heartbeat: moves the deadline of every lease `owner` holds. Returns how
  // many. Leases already expired to kUsed are not revived.
  [[nodiscard]] virtual Result<std::size_t> renew_leases(const LeaseOwner& owner,
                                                         std::int64_t lease_deadline_ms) = 0;
  // Ends one lease: retire=true -> kUsed; retire=false -> kAvailable, only if
  // it never signed (kConflict otherwise). kConflict if `lease_id` is not
  // the key's current lease (expired, or someone else's).
  [[nodiscard]] virtual Status release_explorer(const solana::Pubkey& explorer,
                                                std::uint64_t lease_id, bool retire) = 0;
  // Ends several leases held by `owner`, all or none (same rules). One audit
  // row for the batch (store/batch_audit.h).
  [[nodiscard]] virtual Status release_explorers(const LeaseOwner& owner,
                                                 std::span<const solana::Pubkey> explorers,
                                                 bool retire) = 0;
  // Every lease whose deadline is < `now_ms` -> kUsed (I2). Returns them.
  [[nodiscard]] virtual Result<std::vector<solana::Pubkey>> expire_leases(std::int64_t now_ms) = 0;
  // Every lease `owner` holds -> kUsed, with one audit row naming them and
  // `reason` (the owner died, or restarted: a restart never takes its old
  // leases back, docs/ARCHITECTURE.md I2). Returns them.
  [[nodiscard]] virtual Result<std::vector<solana::Pubkey>> expire_owner(
      const LeaseOwner& owner, std::string_view reason) = 0;
  // Distinct owners holding at least one lease (to check which are alive).
  [[nodiscard]] virtual Result<std::vector<LeaseOwner>> list_lease_owners() = 0;

  // Sign-once guard (I2). Call BEFORE producing the signature: succeeds only
  // for a kLeased Explorer whose current lease is `lease_id` and that never
  // signed; then sign_count = 1 and signed_at_ms = now, durably. A second
  // call, or any call after the lease ended, is kConflict. A crash between
  // this and the signature costs one unused key, never a second signature.
  [[nodiscard]] virtual Status mark_signed(const solana::Pubkey& explorer,
                                           std::uint64_t lease_id) = 0;
  // The daemon's sign records, written AFTER the signatures (the durable
  // single-use commitment is the claim, docs/ARCHITECTURE.md I2): for each
  // entry whose Explorer is kLeased under `lease_id` and never signed,
  // sign_count = 1 and signed_at_ms = now; one audit row ("explorer.sign")
  // for the batch. Entries whose lease is no longer current (expired by
  // another process) or that already signed are skipped, nothing written
  // for them, and returned. kInvalidArgument (nothing written) if one is
  // not an Explorer. One store transaction.
  [[nodiscard]] virtual Result<std::vector<solana::Pubkey>> record_signed(
      std::span<const SignedLease> signed_leases) = 0;

  // ---- instance lock (one live process per stable instance name) ----
  // Takes the lock named by `owner.host` + `owner.instance` on this store and
  // holds it as long as this KeyStore object lives. The operating system
  // (SQLite: flock on a file beside the store, "<store>.instance-<name>.lock")
  // or the server (PostgreSQL: a session-level advisory lock on a connection
  // of its own) frees it when the process dies, so a restarted daemon gets
  // it back at once and a second live one is refused. This is what makes it
  // safe for a restart with the same instance to take its balancer-leader
  // slot back without waiting (see try_acquire_leader). kConflict, naming
  // the holder, when another live process (or another KeyStore object in
  // this process) holds it; idempotent on the same object.
  [[nodiscard]] virtual Status lock_instance(const LeaseOwner& owner) = 0;

  // ---- balancer leader (one at a time, docs/ARCHITECTURE.md) ----
  // True if `owner` is (now) the leader until `deadline_ms`: the slot was
  // free, expired (deadline < now), or already ours (renewal). The slot
  // belongs to host + instance (the pid is recorded, not compared): a process
  // restarted with the same stable instance takes its own slot back at once;
  // callers with such an instance hold lock_instance() first. PostgreSQL
  // adds an advisory lock held by the leading process.
  [[nodiscard]] virtual Result<bool> try_acquire_leader(const LeaseOwner& owner,
                                                        std::int64_t deadline_ms) = 0;
  // No-op if `owner` (host + instance) is not the leader.
  [[nodiscard]] virtual Status release_leader(const LeaseOwner& owner) = 0;

  // ---- intents ----
  // Persists a prepared intent (status must be kPrepared) with its
  // transfers, BEFORE it is sent (I1, I4). Returns its id.
  // kAlreadyExists if the signature is already recorded.
  [[nodiscard]] virtual Result<std::int64_t> insert_intent(const IntentRecord& intent) = 0;
  // Compare-and-set on status, checked with check_intent_transition; records
  // the outcome fields that are set. kIllegalTransition if the intent is not
  // in `from` or the move is not legal; kNotFound if no such intent.
  [[nodiscard]] virtual Status update_intent(std::int64_t id, IntentStatus from, IntentStatus to,
                                             const IntentOutcome& outcome) = 0;
  [[nodiscard]] virtual Result<IntentRecord> get_intent(std::int64_t id) = 0;
  [[nodiscard]] virtual Result<IntentRecord> get_intent_by_signature(
      const solana::Signature& signature) = 0;
  // kPrepared and kSent intents, oldest first: what a restart must resolve.
  [[nodiscard]] virtual Result<std::vector<IntentRecord>> list_unresolved_intents() = 0;
  // Intents with a transfer from or to `pubkey`, oldest first.
  [[nodiscard]] virtual Result<std::vector<IntentRecord>> list_intents_for_key(
      const solana::Pubkey& pubkey) = 0;

  // Removes a HODL key (qtw hodl remove). kNotFound if unknown,
  // kInvalidArgument if the key is not a HODL key. Its nonce accounts and
  // requests stay (history). Appends an audit row.
  [[nodiscard]] virtual Status remove_hodl(const solana::Pubkey& pubkey) = 0;

  // ---- cold HODL ----
  // Records a nonce account (status as given, normally kCreating) BEFORE
  // its creation transaction is sent. kAlreadyExists if the address is
  // known; kInvalidArgument if `hodl` is not a HODL key. Returns its id.
  [[nodiscard]] virtual Result<std::int64_t> add_nonce_account(
      const NonceAccountRecord& record) = 0;
  // Compare-and-set on status; kIllegalTransition if not in `from`,
  // kNotFound if unknown. Appends an audit row.
  [[nodiscard]] virtual Status set_nonce_account_status(const solana::Pubkey& address,
                                                        NonceAccountStatus from,
                                                        NonceAccountStatus to) = 0;
  // Every nonce account, ordered by id.
  [[nodiscard]] virtual Result<std::vector<NonceAccountRecord>> list_nonce_accounts() = 0;
  // Persists a new request (status must be kPending, no signature). kInvalidArgument
  // on a malformed record (empty message or transfers). Returns its id.
  [[nodiscard]] virtual Result<std::int64_t> insert_topup_request(
      const TopupRequestRecord& request) = 0;
  [[nodiscard]] virtual Result<TopupRequestRecord> get_topup_request(std::int64_t id) = 0;
  // Requests in `status` (all when unset), ordered by id.
  [[nodiscard]] virtual Result<std::vector<TopupRequestRecord>> list_topup_requests(
      std::optional<TopupStatus> status) = 0;
  // Compare-and-set on status (check_topup_transition); sets signature and
  // intent_id when given, and detail. kIllegalTransition / kNotFound.
  // Appends an audit row.
  [[nodiscard]] virtual Status update_topup_request(std::int64_t id, TopupStatus from,
                                                    TopupStatus to,
                                                    std::optional<solana::Signature> signature,
                                                    std::optional<std::int64_t> intent_id,
                                                    std::string_view detail) = 0;

  // ---- wallet settings: named integers (e.g. "funding_paused_at_ms") ----
  // The value stored under `name`; nullopt if it was never set.
  [[nodiscard]] virtual Result<std::optional<std::int64_t>> get_setting(std::string_view name) = 0;
  // Inserts or replaces `name`. kInvalidArgument for an empty name or one the
  // store keeps for itself ("next_lease_id").
  [[nodiscard]] virtual Status put_setting(std::string_view name, std::int64_t value) = 0;

  // ---- audit (hash-chained: qtw/store/audit_chain.h) ----
  // Appends one row, chained to the current tail. `record.id` and `at_ms`
  // are assigned by the store.
  [[nodiscard]] virtual Result<std::int64_t> append_audit(const AuditRecord& record) = 0;
  // Rows with id > after_id, oldest first, at most `limit` (0 = all).
  [[nodiscard]] virtual Result<std::vector<AuditRecord>> list_audit(std::int64_t after_id,
                                                                    std::size_t limit) = 0;
  // The same rows with their chain fields.
  [[nodiscard]] virtual Result<std::vector<AuditEntry>> list_audit_entries(std::int64_t after_id,
                                                                           std::size_t limit) = 0;
  // The last `count` rows, oldest first.
  [[nodiscard]] virtual Result<std::vector<AuditEntry>> list_audit_tail(std::size_t count) = 0;
};

// put_setting's name rule, shared by the backends: non-empty, at most 64
// bytes, and not "next_lease_id" (the SQLite lease counter's row).
[[nodiscard]] Status check_setting_name(std::string_view name);

}  // namespace qtw::store
