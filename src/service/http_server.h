#pragma once
// A small event-driven HTTP/1.1 server for the daemon's API, on
// libmicrohttpd: a few epoll threads serve every connection, so an idle,
// half-sent or slow connection costs a file descriptor and a little memory,
// never a thread (a thread-per-connection pool is starved by a handful of
// idle sockets). Keep-alive has no per-connection request limit, answers go
// out with TCP_NODELAY, and each listener has a connection limit, an
// inactivity timeout and a request body limit.
//
// The listening socket is bound here, not by the library: loopback TCP
// (port 0 = ephemeral, see port()) or a Unix socket created mode 0600 (a
// stale socket file left by a crash is replaced; a live one, where another
// process answers, is refused; a path that is not a socket is never
// removed; the file is removed on destruction).
//
// The handler runs on a server thread, possibly on several at once: it must
// be thread safe. It should not block for long (it holds up the other
// connections of its thread, not the whole server).
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qtw/result.h"

namespace qtw::service {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer;  // "127.0.0.1:51234"; "" on a Unix socket

  // The first header named `name` (case-insensitive); "" if absent.
  [[nodiscard]] std::string_view header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  // epoll threads of this listener; handlers of different connections run
  // in parallel across them.
  unsigned threads = 4;
  // Connections open at once; more wait in the kernel's accept queue until
  // one closes (split evenly across the threads).
  unsigned max_connections = 8192;
  // A connection with no traffic for this long is closed (idle keep-alive,
  // or a request that stopped half-way).
  std::chrono::seconds idle_timeout{30};
  // A larger body is answered 413 without being read to its end.
  std::size_t max_body_bytes = 64 * 1024;
};

class HttpServer {
 public:
  // Listens on host:port (port 0 = ephemeral) and serves until destroyed.
  // kUnavailable if the address is taken or not local.
  [[nodiscard]] static Result<std::unique_ptr<HttpServer>> listen_tcp(
      const std::string& host, int port, HttpHandler handler, HttpServerOptions options = {});
  // Listens on the Unix socket `path` (see above) and serves until
  // destroyed. kInvalidArgument if the path is too long, kAlreadyExists if
  // it is a file that is not a socket, kUnavailable if another process
  // answers on it.
  [[nodiscard]] static Result<std::unique_ptr<HttpServer>> listen_unix(
      const std::string& path, HttpHandler handler, HttpServerOptions options = {});

  // Stops accepting, waits for the handlers in progress, closes every
  // connection and removes a Unix socket file.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound TCP port; -1 for a Unix socket.
  [[nodiscard]] int port() const noexcept;

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qtw::service
