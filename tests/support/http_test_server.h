#pragma once
// A tiny real HTTP/1.1 server on 127.0.0.1 for tests that need exact,
// scripted replies (batch refusal, Retry-After, odd bodies). It is a real
// socket server, so the client under test runs its real libcurl path.
// Handles keep-alive; one thread per connection. Not for production.
#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace qtw::test {

class TestHttpServer {
 public:
  struct Reply {
    int status = 200;
    std::string body;
    std::vector<std::string> headers;  // "Name: value"
    bool close_without_reply = false;  // simulate a dropped connection
  };
  using Handler = std::function<Reply(const std::string& request_body)>;

  // Binds 127.0.0.1 on an ephemeral port and starts serving. Aborts the test
  // process (std::abort) if the socket cannot be set up.
  explicit TestHttpServer(Handler handler);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  [[nodiscard]] std::string url() const;
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] int requests() const { return requests_.load(); }
  [[nodiscard]] int connections() const { return connections_.load(); }
  // Request bodies received, in order.
  [[nodiscard]] std::vector<std::string> bodies() const;

 private:
  void accept_loop();
  void serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;  // guards bodies_ and workers_
  std::vector<std::string> bodies_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

}  // namespace qtw::test
