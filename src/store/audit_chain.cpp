#include "qtw/store/audit_chain.h"

#include <sodium.h>

#include <string_view>
#include <vector>

namespace qtw::store {
namespace {

constexpr std::string_view kDomain = "qtw-audit-v1";

void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void put_str(std::vector<std::uint8_t>& out, std::string_view s) {
  const auto n = static_cast<std::uint32_t>(s.size());
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  out.insert(out.end(), s.begin(), s.end());
}

}  // namespace

AuditHash audit_entry_hash(const AuditRecord& r, const AuditHash& prev_hash) {
  std::vector<std::uint8_t> buf;
  buf.reserve(128 + r.actor.size() + r.action.size() + r.detail.size());
  buf.insert(buf.end(), kDomain.begin(), kDomain.end());
  put_u64(buf, static_cast<std::uint64_t>(r.at_ms));
  put_str(buf, r.actor);
  put_str(buf, r.action);
  buf.push_back(r.pubkey ? 1 : 0);
  if (r.pubkey) buf.insert(buf.end(), r.pubkey->bytes.begin(), r.pubkey->bytes.end());
  buf.push_back(r.intent_id ? 1 : 0);
  if (r.intent_id) put_u64(buf, static_cast<std::uint64_t>(*r.intent_id));
  put_str(buf, r.detail);
  buf.insert(buf.end(), prev_hash.begin(), prev_hash.end());
  AuditHash out{};
  crypto_hash_sha256(out.data(), buf.data(), buf.size());
  return out;
}

std::string audit_hash_hex(const AuditHash& hash) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(64);
  for (const auto b : hash) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

Result<AuditVerifyReport> verify_audit_chain(KeyStore& store, std::size_t page_rows) {
  if (page_rows == 0) page_rows = 1000;
  AuditVerifyReport report;
  AuditHash expected_prev{};  // the first row links to 32 zero bytes
  std::int64_t prev_id = 0;
  std::int64_t after = 0;
  while (true) {
    QTW_ASSIGN_OR_RETURN(auto page, store.list_audit_entries(after, page_rows));
    for (const auto& e : page) {
      ++report.entries;
      const auto id = e.record.id;
      auto bad = [&](std::string why) {
        report.first_bad_id = id;
        report.problem = std::move(why);
      };
      if (!e.chained) {
        bad("entry " + std::to_string(id) +
            " has no hash: it was not written by qtw (inserted behind the store's back)");
      } else if (e.prev_hash != expected_prev) {
        bad("entry " + std::to_string(id) + " does not link to " +
            (prev_id == 0 ? std::string("the start of the log")
                          : "entry " + std::to_string(prev_id)) +
            ": an entry before it was deleted, inserted or moved");
      } else if (audit_entry_hash(e.record, e.prev_hash) != e.hash) {
        bad("entry " + std::to_string(id) + " does not match its hash: it was edited");
      }
      if (report.first_bad_id) return report;
      expected_prev = e.hash;
      prev_id = id;
      report.tail_id = id;
      report.tail_hash = e.hash;
    }
    if (page.size() < page_rows || page.empty()) break;
    after = page.back().record.id;
  }
  return report;
}

}  // namespace qtw::store
