// PostgreSQL store: connecting, the pool of data sessions, and the
// transaction levels every call runs in (PgStore::run in the header).
#include <unistd.h>

#include "store/postgres/postgres_store_impl.h"

namespace qtw::store::pg {

namespace {

int hex_val(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

// Appends libpq connection parameters to a URI or key=value conninfo.
std::string with_params(std::string_view uri, const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string out(uri);
  const bool is_uri = out.rfind("postgresql://", 0) == 0 || out.rfind("postgres://", 0) == 0;
  for (const auto& [k, v] : kv) {
    if (is_uri) {
      out += out.find('?') == std::string::npos ? '?' : '&';
      out += k + "=" + v;
    } else {
      out += " " + k + "=" + v;
    }
  }
  return out;
}

}  // namespace

std::string hex_bytea(std::span<const std::uint8_t> b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s = "\\x";
  s.reserve(2 + b.size() * 2);
  for (auto c : b) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

// bytea arrives in hex output format ("\x0a1b..."), the server default.
std::vector<std::uint8_t> bytea(const pqxx::field& f) {
  std::vector<std::uint8_t> out;
  if (f.is_null()) return out;
  const char* s = f.c_str();
  const std::size_t n = std::strlen(s);
  if (n < 2 || s[0] != '\\' || s[1] != 'x') return out;
  out.reserve((n - 2) / 2);
  for (std::size_t i = 2; i + 1 < n; i += 2) {
    out.push_back(static_cast<std::uint8_t>(hex_val(s[i]) * 16 + hex_val(s[i + 1])));
  }
  return out;
}

Error map_sql_error(const pqxx::sql_error& e, std::string_view context) {
  const std::string state = e.sqlstate();
  std::string msg = std::string(context) + ": " + e.what();
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  long code = 0;
  if (state.size() == 5) code = std::strtol(state.c_str(), nullptr, 36);
  if (state == "23505") return Error{ErrorCode::kAlreadyExists, msg, code};
  if (state == "57014") return Error{ErrorCode::kTimeout, msg + " (statement_timeout)", code};
  if (state == "55P03") return Error{ErrorCode::kTimeout, msg + " (lock_timeout)", code};
  if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0 || state == "53300") {
    return Error{ErrorCode::kUnavailable, msg, code};
  }
  return Error{ErrorCode::kStore, msg, code};
}

bool is_retryable_sqlstate(const std::string& s) {
  return s == "40001" || s == "40P01";  // serialization failure, deadlock
}

PgStore::PgStore(std::string uri, PostgresStoreOptions options, Session session)
    : uri_(std::move(uri)), options_(std::move(options)) {
  auto first = std::make_unique<Slot>();
  first->data = std::move(session);
  idle_.push_back(first.get());
  slots_.push_back(std::move(first));
}

PgStore::~PgStore() {
  {
    std::lock_guard lock(leader_mu_);
    stop_ = true;
  }
  leader_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  leader_.drop();  // the server releases the advisory lock with the session
  instance_.drop();  // and the instance locks with theirs
  std::lock_guard lock(pool_mu_);
  for (auto& slot : slots_) slot->data.drop();
}

Status PgStore::transact(const std::function<Status()>& body) {
  // The body may have effects outside the store: never re-run it.
  return run("transaction", /*retry_safe=*/false, [&]() -> Status { return body(); });
}

std::string PgStore::session_name(const std::string& actor) {
  std::string name = actor.empty() ? "qtw" : "qtw " + actor;
  if (name.size() > 63) name.resize(63);
  return name;
}

Result<Session> PgStore::connect(const std::string& uri, const PostgresStoreOptions& o,
                                 int extra_idle_timeout_ms) {
  const int connect_s = std::max(2, (o.connect_timeout_ms + 999) / 1000);
  std::vector<std::pair<std::string, std::string>> params = {
      {"connect_timeout", std::to_string(connect_s)},
      // Detect a dead server or network under an idle connection.
      {"keepalives", "1"},
      {"keepalives_idle", "5"},
      {"keepalives_interval", "2"},
      {"keepalives_count", "3"}};
  // The operator's application_name (e.g. per host) wins over ours.
  // Ours names the process ("qtw host:pid"), so a leader whose sessions are
  // all gone can be told from one that is merely slow (try_acquire_leader).
  if (uri.find("application_name") == std::string::npos) {
    params.emplace_back("application_name", session_name(o.actor));
  }
  const std::string conninfo = with_params(uri, params);
  try {
    Session s;
    s.conn = std::make_unique<pqxx::connection>(conninfo);
    s.work = std::make_unique<pqxx::nontransaction>(*s.conn, "qtw");
    s.exec("SELECT set_config('statement_timeout', $1, false), "
           "set_config('lock_timeout', $2, false), "
           "set_config('idle_in_transaction_session_timeout', $3, false), "
           "set_config('idle_session_timeout', $4, false)",
           {P(std::to_string(o.statement_timeout_ms)), P(std::to_string(o.lock_timeout_ms)),
            // A process that hangs inside a transaction must not hold row
            // locks forever.
            P(std::to_string(std::max(o.statement_timeout_ms, 1) * 3)),
            P(std::to_string(extra_idle_timeout_ms))});
    return s;
  } catch (const pqxx::broken_connection& e) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot connect to " + redact_postgres_uri(uri) + ": " + e.what());
  } catch (const pqxx::sql_error& e) {
    return tl::unexpected(map_sql_error(e, "connecting to " + redact_postgres_uri(uri)));
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot connect to " + redact_postgres_uri(uri) + ": " + e.what());
  }
}

Slot* PgStore::checkout() {
  std::unique_lock lock(pool_mu_);
  for (;;) {
    if (!idle_.empty()) {
      Slot* slot = idle_.back();
      idle_.pop_back();
      return slot;
    }
    if (slots_.size() < static_cast<std::size_t>(std::max(1, options_.pool_size))) {
      slots_.push_back(std::make_unique<Slot>());  // connected by run() on first use
      return slots_.back().get();
    }
    pool_cv_.wait(lock);
  }
}

void PgStore::checkin(Slot* slot) {
  {
    std::lock_guard lock(pool_mu_);
    idle_.push_back(slot);
  }
  pool_cv_.notify_one();
}

void PgStore::sleep_backoff(int& backoff_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
  backoff_ms = std::min(backoff_ms * 2, 2'000);
}

void PgStore::rollback_level(Slot& slot, int level) noexcept {
  try {
    if (level == 0) {
      slot.data.exec("ROLLBACK");
    } else {
      const auto sp = "sp" + std::to_string(level);
      slot.data.exec("ROLLBACK TO SAVEPOINT " + sp);
      slot.data.exec("RELEASE " + sp);
    }
  } catch (...) {
    // The connection is in an unknown state: drop it; the server rolls
    // back whatever was open, so the whole outer unit must fail.
    slot.data.drop();
    if (level > 0) slot.poisoned = true;
  }
}

}  // namespace qtw::store::pg

namespace qtw::store {

std::string redact_postgres_uri(std::string_view uri) {
  std::string s(uri);
  const auto scheme = s.find("://");
  if (scheme != std::string::npos) {
    const auto at = s.find('@', scheme + 3);
    const auto slash = s.find('/', scheme + 3);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const auto colon = s.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at) s.replace(colon + 1, at - colon - 1, "***");
    }
    const auto pw = s.find("password=");
    if (pw != std::string::npos) {
      auto end = s.find('&', pw);
      s.replace(pw + 9, (end == std::string::npos ? s.size() : end) - pw - 9, "***");
    }
    return s;
  }
  const auto pw = s.find("password=");
  if (pw != std::string::npos) {
    auto end = s.find(' ', pw);
    s.replace(pw + 9, (end == std::string::npos ? s.size() : end) - pw - 9, "***");
  }
  return s;
}

}  // namespace qtw::store
