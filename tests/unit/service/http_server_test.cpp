// The daemon's HTTP server (src/service/http_server): routing of a request to
// the handler and of its answer back, keep-alive, the limits (connections,
// silence, body size), and the listeners' socket rules (Unix socket mode,
// stale / live / foreign files, port in use). Real sockets, no mocks.
#include "service/http_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace qtw::service {
namespace {

namespace fs = std::filesystem;

// A raw client connection: what a Lander, or a hostile peer, would send.
class Client {
 public:
  static Client tcp(int port) {
    Client c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c.connected_ = ::connect(c.fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    return c;
  }
  static Client unix_socket(const std::string& path) {
    Client c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.data(), path.size());
    c.connected_ = ::connect(c.fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    return c;
  }
  Client(Client&& o) noexcept : fd_(std::exchange(o.fd_, -1)), connected_(o.connected_) {}
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] bool connected() const { return connected_; }
  void send(const std::string& data) const {
    ASSERT_EQ(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL), static_cast<ssize_t>(data.size()));
  }
  // One whole response (headers + Content-Length body); "" if the server
  // closed the connection (or nothing came within `timeout`).
  std::string response(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t length = 0;
        const auto cl = buffer_.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) length = std::stoul(buffer_.substr(cl + 16));
        if (buffer_.size() >= end + 4 + length) {
          std::string one = buffer_.substr(0, end + 4 + length);
          buffer_.erase(0, end + 4 + length);
          return one;
        }
      }
      if (!read_some(deadline)) return {};
    }
  }
  // True when the server closes the connection before `timeout`.
  bool closed_within(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (read_some(deadline)) {
    }
    return eof_;
  }

 private:
  explicit Client(int fd) : fd_(fd) {}
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  int fd_;
  bool connected_ = false;
  bool eof_ = false;
  std::string buffer_;
};

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}
std::string post(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}
std::string body_of(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

// Echoes what it was given, so a test sees the request as the handler did.
HttpResponse echo(const HttpRequest& r) {
  if (r.path == "/throw") throw std::runtime_error("boom");
  HttpResponse res;
  res.content_type = "text/plain";
  res.body = r.method + " " + r.path + " auth=" + std::string(r.header("AUTHORIZATION")) +
             " peer=" + (r.peer.empty() ? std::string("-") : std::string("tcp")) +
             " body=" + r.body;
  res.headers.emplace_back("X-Extra", "yes");
  return res;
}

fs::path temp_dir() {
  char tmpl[] = "/tmp/qtw-http-test-XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  if (dir == nullptr) throw std::runtime_error("mkdtemp");
  return dir;
}

TEST(HttpServer, RequestReachesTheHandlerAndItsAnswerComesBack) {
  auto server = HttpServer::listen_tcp("127.0.0.1", 0, echo);
  ASSERT_TRUE(server) << server.error().message;
  ASSERT_GT((*server)->port(), 0);
  auto c = Client::tcp((*server)->port());
  ASSERT_TRUE(c.connected());
  c.send("POST /v1/x?ignored=1 HTTP/1.1\r\nHost: t\r\nauthorization: Bearer k\r\nContent-Length: "
         "5\r\n\r\nhello");
  const std::string r = c.response();
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Type: text/plain"), std::string::npos) << r;
  EXPECT_NE(r.find("X-Extra: yes"), std::string::npos) << r;
  EXPECT_EQ(body_of(r), "POST /v1/x auth=Bearer k peer=tcp body=hello");
}

TEST(HttpServer, KeepAliveServesManyRequestsOnOneConnection) {
  auto server = HttpServer::listen_tcp("127.0.0.1", 0, echo);
  ASSERT_TRUE(server);
  auto c = Client::tcp((*server)->port());
  for (int i = 0; i < 200; ++i) {
    c.send(post("/n", std::to_string(i)));
    const std::string r = c.response();
    ASSERT_EQ(body_of(r), "POST /n auth= peer=tcp body=" + std::to_string(i)) << "request " << i;
    ASSERT_EQ(r.find("Connection: close"), std::string::npos) << r;
  }
}

TEST(HttpServer, AThrowingHandlerIs500AndTheServerGoesOn) {
  auto server = HttpServer::listen_tcp("127.0.0.1", 0, echo);
  ASSERT_TRUE(server);
  auto c = Client::tcp((*server)->port());
  c.send(get("/throw"));
  const std::string r = c.response();
  EXPECT_EQ(r.rfind("HTTP/1.1 500", 0), 0u) << r;
  EXPECT_EQ(body_of(r), R"({"error":"internal error"})");
  auto d = Client::tcp((*server)->port());
  d.send(get("/ok"));
  EXPECT_EQ(d.response().rfind("HTTP/1.1 200", 0), 0u);
}

TEST(HttpServer, ABodyAboveTheLimitIs413AndNeverReachesTheHandler) {
  std::atomic<int> calls{0};
  HttpServerOptions o;
  o.max_body_bytes = 10;
  auto server = HttpServer::listen_tcp(
      "127.0.0.1", 0, [&](const HttpRequest& r) { ++calls; return echo(r); }, o);
  ASSERT_TRUE(server);
  auto c = Client::tcp((*server)->port());
  c.send(post("/b", std::string(10, 'x')));  // at the limit: served
  EXPECT_EQ(c.response().rfind("HTTP/1.1 200", 0), 0u);
  auto d = Client::tcp((*server)->port());
  d.send("POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n");  // refused unread
  const std::string r = d.response();
  EXPECT_EQ(r.rfind("HTTP/1.1 413", 0), 0u) << r;
  EXPECT_NE(body_of(r).find("larger than 10 bytes"), std::string::npos) << r;
  auto e = Client::tcp((*server)->port());  // chunked: drained, then refused
  e.send("POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
  EXPECT_EQ(e.response().rfind("HTTP/1.1 413", 0), 0u);
  EXPECT_EQ(calls.load(), 1);
}

TEST(HttpServer, ASilentConnectionIsClosedAfterTheIdleTimeout) {
  HttpServerOptions o;
  o.idle_timeout = std::chrono::seconds(1);
  auto server = HttpServer::listen_tcp("127.0.0.1", 0, echo, o);
  ASSERT_TRUE(server);
  auto idle = Client::tcp((*server)->port());
  auto half = Client::tcp((*server)->port());
  half.send("GET /half HTTP/1.1\r\nHost:");
  EXPECT_TRUE(idle.closed_within(std::chrono::seconds(10)));
  EXPECT_TRUE(half.closed_within(std::chrono::seconds(10)));
}

TEST(HttpServer, ConnectionsBeyondTheLimitWaitUntilOneCloses) {
  HttpServerOptions o;
  o.threads = 1;
  o.max_connections = 2;
  auto server = HttpServer::listen_tcp("127.0.0.1", 0, echo, o);
  ASSERT_TRUE(server);
  auto a = std::make_unique<Client>(Client::tcp((*server)->port()));
  auto b = Client::tcp((*server)->port());
  a->send(get("/a"));  // both accepted before the third arrives
  ASSERT_FALSE(a->response().empty());
  b.send(get("/b"));
  ASSERT_FALSE(b.response().empty());
  auto third = Client::tcp((*server)->port());  // in the kernel's accept queue
  third.send(get("/third"));
  EXPECT_TRUE(third.response(std::chrono::milliseconds(500)).empty());
  b.send(get("/b2"));  // the accepted ones are served meanwhile
  EXPECT_EQ(body_of(b.response()), "GET /b2 auth= peer=tcp body=");
  a.reset();  // a slot frees: the third is accepted and answered
  EXPECT_EQ(body_of(third.response()), "GET /third auth= peer=tcp body=");
}

TEST(HttpServer, APortInUseIsUnavailable) {
  auto first = HttpServer::listen_tcp("127.0.0.1", 0, echo);
  ASSERT_TRUE(first);
  auto second = HttpServer::listen_tcp("127.0.0.1", (*first)->port(), echo);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  auto nowhere = HttpServer::listen_tcp("no-such-host.invalid", 0, echo);
  ASSERT_FALSE(nowhere);
  EXPECT_EQ(nowhere.error().code, ErrorCode::kUnavailable);
}

TEST(HttpServer, UnixSocketIsMode0600ServesWithoutPeerAndIsRemovedOnStop) {
  const fs::path dir = temp_dir();
  const std::string path = (dir / "s.sock").string();
  {
    auto server = HttpServer::listen_unix(path, echo);
    ASSERT_TRUE(server) << server.error().message;
    EXPECT_EQ((*server)->port(), -1);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto c = Client::unix_socket(path);
    ASSERT_TRUE(c.connected());
    c.send(get("/u"));
    EXPECT_EQ(body_of(c.response()), "GET /u auth= peer=- body=");
    // A second server on the live socket is refused and leaves it alone.
    auto clash = HttpServer::listen_unix(path, echo);
    ASSERT_FALSE(clash);
    EXPECT_EQ(clash.error().code, ErrorCode::kUnavailable);
    auto d = Client::unix_socket(path);
    d.send(get("/still"));
    EXPECT_FALSE(d.response().empty());
  }
  EXPECT_FALSE(fs::exists(path));
  fs::remove_all(dir);
}

TEST(HttpServer, AStaleSocketIsReplacedAForeignFileNeverIs) {
  const fs::path dir = temp_dir();
  const std::string path = (dir / "s.sock").string();
  {  // a socket file nobody listens on, as a crash leaves it
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.data(), path.size());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ::close(fd);
  }
  {
    auto server = HttpServer::listen_unix(path, echo);
    ASSERT_TRUE(server) << server.error().message;
    auto c = Client::unix_socket(path);
    c.send(get("/after-crash"));
    EXPECT_FALSE(c.response().empty());
  }
  const std::string file = (dir / "notes.txt").string();
  std::ofstream(file) << "keep me";
  auto refused = HttpServer::listen_unix(file, echo);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists);
  std::ifstream in(file);
  std::string kept;
  std::getline(in, kept);
  EXPECT_EQ(kept, "keep me");
  auto too_long = HttpServer::listen_unix("/tmp/" + std::string(200, 'x'), echo);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, ErrorCode::kInvalidArgument);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace qtw::service
