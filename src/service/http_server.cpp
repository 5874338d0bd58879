#include "http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>

#include <spdlog/spdlog.h>

namespace qtw::service {
namespace {

constexpr int kListenBacklog = 4096;  // the kernel caps it at net.core.somaxconn

std::string errno_text(int err) { return std::strerror(err); }

// A listening descriptor until MHD takes it over.
class OwnedFd {
 public:
  explicit OwnedFd(int fd = -1) : fd_(fd) {}
  ~OwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  OwnedFd(OwnedFd&& other) noexcept : fd_(other.release()) {}
  OwnedFd& operator=(OwnedFd&&) = delete;
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Result<OwnedFd> bind_tcp(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot listen on " + host + ":" + service + ": " + ::gai_strerror(rc));
  }
  int last_errno = 0;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    OwnedFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        a->ai_protocol));
    if (fd.get() < 0) {
      last_errno = errno;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd.get(), a->ai_addr, a->ai_addrlen) == 0 &&
        ::listen(fd.get(), kListenBacklog) == 0) {
      ::freeaddrinfo(found);
      return fd;
    }
    last_errno = errno;
  }
  ::freeaddrinfo(found);
  return make_error(ErrorCode::kUnavailable,
                    "cannot listen on " + host + ":" + service + " (" + errno_text(last_errno) +
                        "; in use, or not a local address)");
}

Result<OwnedFd> bind_unix(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return make_error(ErrorCode::kInvalidArgument, "unix_socket path must be 1.." +
                                                       std::to_string(sizeof(addr.sun_path) - 1) +
                                                       " bytes: " + path);
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return make_error(ErrorCode::kAlreadyExists,
                        path + " exists and is not a socket; refusing to replace it");
    }
    OwnedFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const bool live = probe.get() >= 0 && ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr),
                                                    sizeof(addr)) == 0;
    if (live) {
      return make_error(ErrorCode::kUnavailable,
                        "another process is serving on " + path + " (is a daemon running?)");
    }
    ::unlink(path.c_str());  // stale: left by a daemon that crashed
  }
  OwnedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) {
    return make_error(ErrorCode::kIo, "socket(AF_UNIX): " + errno_text(errno));
  }
  // Mode 0600 from the start (no window where others may connect). umask is
  // process wide, but nothing else creates files while the daemon starts.
  const mode_t old_mask = ::umask(0177);
  const int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0 || ::listen(fd.get(), kListenBacklog) != 0) {
    const int err = bound != 0 ? bind_errno : errno;
    return make_error(ErrorCode::kUnavailable, "cannot listen on " + path + ": " + errno_text(err));
  }
  return fd;
}

std::string peer_of(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return {};
  const sockaddr* sa = info->client_addr;
  char text[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    return std::string(text) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return {};  // AF_UNIX
}

// What one request gathers between MHD's calls of the access handler.
struct Pending {
  std::string body;
  bool too_large = false;
};

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return {};
}

class HttpServer::Impl {
 public:
  Impl(HttpHandler handler, HttpServerOptions options, std::string unix_path)
      : handler_(std::move(handler)), o_(options), unix_path_(std::move(unix_path)) {}

  ~Impl() {
    if (daemon_ != nullptr) MHD_stop_daemon(daemon_);  // also closes the listening socket
    if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Status start(OwnedFd listener, bool tcp) {
    tcp_ = tcp;
    if (tcp) {
      sockaddr_storage addr{};
      socklen_t len = sizeof(addr);
      if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        port_ = addr.ss_family == AF_INET6
                    ? ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port)
                    : ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
      }
    }
    const unsigned threads = o_.threads == 0 ? 1 : o_.threads;
    // epoll in internal threads; with a pool each thread accepts and serves
    // its own connections. MHD_USE_ITC wakes them for a prompt stop.
    const unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    MHD_OptionItem opts[] = {
        {MHD_OPTION_LISTEN_SOCKET, listener.get(), nullptr},
        {MHD_OPTION_CONNECTION_LIMIT, static_cast<intptr_t>(o_.max_connections), nullptr},
        {MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(o_.idle_timeout.count()), nullptr},
        {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&Impl::completed), this},
        {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&Impl::connection_event),
         this},
        {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&Impl::log), this},
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         static_cast<intptr_t>(threads), nullptr},
        {MHD_OPTION_END, 0, nullptr},
    };
    daemon_ = MHD_start_daemon(flags, 0, nullptr, nullptr, &Impl::access, this,
                               MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (daemon_ == nullptr) {
      return make_error(ErrorCode::kUnavailable,
                        "the HTTP server did not start (libmicrohttpd gives its reason at --log-level debug)");
    }
    listener.release();  // MHD owns it now and closes it on stop
    return {};
  }

  [[nodiscard]] int port() const { return port_; }

 private:
  static MHD_Result access(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char* /*version*/, const char* upload_data,
                           size_t* upload_data_size, void** state) {
    auto* self = static_cast<Impl*>(cls);
    auto* pending = static_cast<Pending*>(*state);
    if (pending == nullptr) {  // headers are in; the body (if any) follows
      pending = new Pending();
      *state = pending;
      // A declared body above the limit is refused before it is read.
      const char* length =
          MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      if (length != nullptr && std::strtoull(length, nullptr, 10) > self->o_.max_body_bytes) {
        return self->send(connection, self->too_large());
      }
      return MHD_YES;
    }
    if (*upload_data_size != 0) {
      if (pending->body.size() + *upload_data_size > self->o_.max_body_bytes) {
        pending->too_large = true;  // chunked: drain, then 413
      } else if (!pending->too_large) {
        pending->body.append(upload_data, *upload_data_size);
      }
      *upload_data_size = 0;
      return MHD_YES;
    }
    if (pending->too_large) return self->send(connection, self->too_large());

    HttpRequest request;
    request.method = method;
    request.path = url;
    request.body = std::move(pending->body);
    request.peer = self->tcp_ ? peer_of(connection) : std::string();
    MHD_get_connection_values(
        connection, MHD_HEADER_KIND,
        [](void* headers, MHD_ValueKind, const char* key, const char* value) -> MHD_Result {
          static_cast<std::vector<std::pair<std::string, std::string>>*>(headers)->emplace_back(
              key, value == nullptr ? "" : value);
          return MHD_YES;
        },
        &request.headers);
    HttpResponse response;
    try {
      response = self->handler_(request);
    } catch (const std::exception& e) {
      spdlog::error("{} {}: internal error: {}", request.method, request.path, e.what());
      response = HttpResponse{500, "application/json", R"({"error":"internal error"})", {}};
    } catch (...) {
      spdlog::error("{} {}: internal error", request.method, request.path);
      response = HttpResponse{500, "application/json", R"({"error":"internal error"})", {}};
    }
    spdlog::debug("{} {} -> {}", request.method, request.path, response.status);
    return self->send(connection, response);
  }

  HttpResponse too_large() const {
    return HttpResponse{413,
                        "application/json",
                        R"({"error":"request body larger than )" +
                            std::to_string(o_.max_body_bytes) + R"( bytes"})",
                        {}};
  }

  MHD_Result send(MHD_Connection* connection, const HttpResponse& r) {
    MHD_Response* response = MHD_create_response_from_buffer(
        r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;  // out of memory: MHD closes the connection
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type.c_str());
    for (const auto& [k, v] : r.headers) MHD_add_response_header(response, k.c_str(), v.c_str());
    const MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(r.status),
                                                 response);
    MHD_destroy_response(response);
    return queued;
  }

  static void completed(void* /*cls*/, MHD_Connection*, void** state,
                        MHD_RequestTerminationCode) {
    delete static_cast<Pending*>(*state);
    *state = nullptr;
  }

  static void connection_event(void* cls, MHD_Connection* connection, void**,
                               MHD_ConnectionNotificationCode code) {
    const auto* self = static_cast<Impl*>(cls);
    if (code != MHD_CONNECTION_NOTIFY_STARTED || !self->tcp_) return;
    // Nagle + the client's delayed ACK would hold back an answer written in
    // more than one segment by ~40 ms.
    const MHD_ConnectionInfo* info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info == nullptr) return;
    const int one = 1;
    ::setsockopt(info->connect_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }

  static void log(void* /*cls*/, const char* format, va_list args) {
    char line[512];
    std::vsnprintf(line, sizeof(line), format, args);
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    spdlog::debug("http: {}", text);
  }

  HttpHandler handler_;
  HttpServerOptions o_;
  std::string unix_path_;  // removed on destruction
  bool tcp_ = false;
  int port_ = -1;
  MHD_Daemon* daemon_ = nullptr;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
int HttpServer::port() const noexcept { return impl_->port(); }

Result<std::unique_ptr<HttpServer>> HttpServer::listen_tcp(const std::string& host, int port,
                                                           HttpHandler handler,
                                                           HttpServerOptions options) {
  QTW_ASSIGN_OR_RETURN(auto fd, bind_tcp(host, port));
  auto impl = std::make_unique<Impl>(std::move(handler), options, std::string());
  QTW_TRY(impl->start(std::move(fd), /*tcp=*/true));
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

Result<std::unique_ptr<HttpServer>> HttpServer::listen_unix(const std::string& path,
                                                            HttpHandler handler,
                                                            HttpServerOptions options) {
  QTW_ASSIGN_OR_RETURN(auto fd, bind_unix(path));
  // From here on the socket file is ours: Impl removes it, even if MHD
  // fails to start.
  auto impl = std::make_unique<Impl>(std::move(handler), options, path);
  QTW_TRY(impl->start(std::move(fd), /*tcp=*/false));
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

}  // namespace qtw::service
