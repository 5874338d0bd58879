// The same lifecycle as bench/lifecycle_client.mjs (lease + sign + return
// retired, a real legacy transfer message from the leased Explorer), from a
// client whose own CPU stays small: one thread per client, each on one
// keep-alive connection with blocking sockets, HTTP/1.1 written and parsed
// by hand (Content-Length bodies only, as the daemon answers). On a 2-vCPU
// machine the node.js client's CPU competes with the daemon's; this one
// shows what the daemon does when it does not. Prints the same JSON line:
// ops, seconds, per_second, p50_ms, p99_ms, non_200, lease/sign/return p50.
//   lifecycle_client --target http://127.0.0.1:PORT|unix:PATH --token T --ops N
//                    --clients C --blockhash B58 --to B58 [--healthz]
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "qtw/solana/encoding.h"

namespace {

struct Options {
  std::string target, token, blockhash, to;
  long ops = 0;
  int clients = 1;
  bool healthz = false;
};

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

int connect_to(const std::string& target) {
  if (target.rfind("unix:", 0) == 0) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", target.c_str() + 5);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
    return fd;
  }
  // http://HOST:PORT
  const auto host_at = target.find("//") + 2;
  const auto colon = target.rfind(':');
  const std::string host = target.substr(host_at, colon - host_at);
  const int port = std::atoi(target.c_str() + colon + 1);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// One keep-alive connection: request() writes a request and reads one
// Content-Length response; returns its status (0 on a connection error).
class Conn {
 public:
  Conn(const Options& o) : o_(o), fd_(connect_to(o.target)) {}
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  int request(const char* method, const std::string& path, const std::string& body,
              std::string* out) {
    std::string req = std::string(method) + " " + path + " HTTP/1.1\r\nHost: qtw\r\n";
    req += "Authorization: Bearer " + o_.token + "\r\n";
    if (std::strcmp(method, "POST") == 0) {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    }
    req += "\r\n" + body;
    for (std::size_t sent = 0; sent < req.size();) {
      const auto n = ::send(fd_, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return 0;
      sent += static_cast<std::size_t>(n);
    }
    // Read the head, then Content-Length bytes of body.
    std::size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return 0;
    }
    const int status = std::atoi(buf_.c_str() + 9);
    std::size_t length = 0;
    const auto cl = find_header(head_end, "content-length:");
    if (cl != std::string::npos) length = std::strtoul(buf_.c_str() + cl, nullptr, 10);
    while (buf_.size() < head_end + 4 + length) {
      if (!fill()) return 0;
    }
    if (out != nullptr) out->assign(buf_, head_end + 4, length);
    buf_.erase(0, head_end + 4 + length);
    return status;
  }

 private:
  bool fill() {
    char tmp[16384];
    const auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  std::size_t find_header(std::size_t head_end, const char* name) const {
    const std::size_t len = std::strlen(name);
    for (std::size_t i = 0; i + len < head_end; ++i) {
      if (strncasecmp(buf_.c_str() + i, name, len) == 0) return i + len;
    }
    return std::string::npos;
  }
  const Options& o_;
  int fd_;
  std::string buf_;
};

// The legacy message of a System transfer of 1,000 lamports, as the node
// client builds it: header, 4 keys (from, to, system program, ...), blockhash.
std::string transfer_b64(const std::string& from_b58, const Options& o) {
  std::vector<std::uint8_t> m = {1, 0, 1, 3};
  auto add = [&](const std::string& b58) {
    auto bytes = qtw::solana::base58_decode(b58);
    if (bytes) m.insert(m.end(), bytes->begin(), bytes->end());
  };
  add(from_b58);
  add(o.to);
  m.insert(m.end(), 32, 0);  // the System program
  add(o.blockhash);
  const std::uint8_t ix[] = {1, 2, 2, 0, 1, 12, 2, 0, 0, 0, 0xe8, 0x03, 0, 0, 0, 0, 0, 0};
  m.insert(m.end(), std::begin(ix), std::end(ix));
  return qtw::solana::base64_encode(m);
}

double pct(std::vector<double> xs, double p) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  return xs[std::min(xs.size() - 1, static_cast<std::size_t>(static_cast<double>(xs.size()) * p))];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto v = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--target") o.target = v();
    else if (a == "--token") o.token = v();
    else if (a == "--ops") o.ops = std::atol(v().c_str());
    else if (a == "--clients") o.clients = std::atoi(v().c_str());
    else if (a == "--blockhash") o.blockhash = v();
    else if (a == "--to") o.to = v();
    else if (a == "--healthz") o.healthz = true;
    else {
      std::fprintf(stderr, "lifecycle_client: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (o.target.empty() || o.ops <= 0 || o.clients <= 0) {
    std::fprintf(stderr, "lifecycle_client: --target, --ops and --clients are required\n");
    return 2;
  }
  std::atomic<long> next{0};
  std::atomic<long> non200{0};
  std::mutex mu;
  std::vector<double> all, lease_ms, sign_ms, return_ms;
  const auto started = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&] {
      Conn conn(o);
      std::vector<double> mine, l_ms, s_ms, r_ms;
      std::string body;
      while (next.fetch_add(1) < o.ops) {
        const auto t = Clock::now();
        if (o.healthz) {
          if (conn.request("GET", "/healthz", "", &body) != 200) ++non200;
          mine.push_back(ms_since(t));
          continue;
        }
        if (conn.request("POST", "/v1/explorers/lease", "{}", &body) != 200) {
          ++non200;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          continue;
        }
        l_ms.push_back(ms_since(t));
        const auto at = body.find("\"pubkey\":\"");
        if (at == std::string::npos) {
          ++non200;
          continue;
        }
        const std::string pk = body.substr(at + 10, body.find('"', at + 10) - at - 10);
        const std::string msg = "{\"message\":\"" + transfer_b64(pk, o) + "\"}";
        const auto ts = Clock::now();
        if (conn.request("POST", "/v1/explorers/" + pk + "/sign", msg, &body) != 200) ++non200;
        s_ms.push_back(ms_since(ts));
        const auto tr = Clock::now();
        if (conn.request("POST", "/v1/explorers/" + pk + "/return", "{\"retire\":true}", &body) !=
            200) {
          ++non200;
        }
        r_ms.push_back(ms_since(tr));
        mine.push_back(ms_since(t));
      }
      std::lock_guard lock(mu);
      all.insert(all.end(), mine.begin(), mine.end());
      lease_ms.insert(lease_ms.end(), l_ms.begin(), l_ms.end());
      sign_ms.insert(sign_ms.end(), s_ms.begin(), s_ms.end());
      return_ms.insert(return_ms.end(), r_ms.begin(), r_ms.end());
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("{\"ops\":%zu,\"seconds\":%.3f,\"per_second\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
              "\"non_200\":%ld",
              all.size(), seconds, static_cast<double>(all.size()) / seconds, pct(all, 0.5),
              pct(all, 0.99), non200.load());
  if (!o.healthz) {
    std::printf(",\"lease_p50_ms\":%.3f,\"sign_p50_ms\":%.3f,\"return_p50_ms\":%.3f",
                pct(lease_ms, 0.5), pct(sign_ms, 0.5), pct(return_ms, 0.5));
  }
  std::printf(",\"client\":\"c++\"}\n");
  return non200.load() == 0 ? 0 : 1;
}
