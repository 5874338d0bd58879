#include "support/localnet.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#ifndef QTW_SOURCE_DIR
#error "QTW_SOURCE_DIR must be defined by the build"
#endif

namespace qtw::test {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string node_binary() {
  const char* env = std::getenv("QTW_NODE");
  return env && *env ? env : "node";
}

std::size_t collect(char* data, std::size_t size, std::size_t nmemb, void* user) {
  static_cast<std::string*>(user)->append(data, size * nmemb);
  return size * nmemb;
}

Result<std::string> http(const std::string& url, const std::string* post_body) {
  CURL* h = curl_easy_init();
  if (!h) return make_error(ErrorCode::kIo, "curl_easy_init failed");
  std::string body;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  if (post_body) {
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, post_body->c_str());
  }
  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  if (rc != CURLE_OK)
    return make_error(ErrorCode::kTransport, url + ": " + curl_easy_strerror(rc), rc);
  if (status != 200)
    return make_error(ErrorCode::kHttp, url + ": HTTP " + std::to_string(status) + " " + body,
                      status);
  return body;
}

}  // namespace

std::string source_path(std::string_view relative) {
  return std::string(QTW_SOURCE_DIR) + "/" + std::string(relative);
}

Result<std::unique_ptr<ReadyProcess>> ReadyProcess::spawn(std::vector<std::string> argv,
                                                          std::int64_t ready_timeout_ms) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return make_error(ErrorCode::kIo, "pipe2 failed", errno);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return make_error(ErrorCode::kIo, "fork failed", errno);
  }
  if (pid == 0) {
    // Child: die with the test process; stdout -> pipe; stderr inherited.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    ::dup2(fds[1], STDOUT_FILENO);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execvp(cargv[0], cargv.data());
    std::fprintf(stderr, "exec %s: %s\n", cargv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(fds[1]);
  auto proc = std::unique_ptr<ReadyProcess>(new ReadyProcess());
  proc->pid_ = pid;
  proc->stdout_fd_ = fds[0];

  std::string line;
  const std::int64_t deadline = now_ms() + ready_timeout_ms;
  for (;;) {
    const std::int64_t left = deadline - now_ms();
    if (left <= 0) {
      return make_error(ErrorCode::kTimeout, "no READY line from " + argv[0] + " " +
                                                 (argv.size() > 1 ? argv[1] : "") + " within " +
                                                 std::to_string(ready_timeout_ms) + " ms");
    }
    pollfd p{proc->stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left, 200))) <= 0) continue;
    char c;
    const ssize_t n = ::read(proc->stdout_fd_, &c, 1);
    if (n <= 0) {
      return make_error(ErrorCode::kUnavailable,
                        argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " exited before READY");
    }
    if (c != '\n') {
      line.push_back(c);
      continue;
    }
    constexpr std::string_view kReady = "READY ";
    if (line.rfind(kReady, 0) == 0) {
      proc->url_ = line.substr(kReady.size());
      break;
    }
    std::fprintf(stderr, "[child %d] %s\n", static_cast<int>(pid), line.c_str());
    line.clear();
  }
  const int fd = proc->stdout_fd_;
  proc->drain_ = std::thread([fd] {
    char buf[4096];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
  });
  return proc;
}

void ReadyProcess::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    const std::int64_t deadline = now_ms() + 5000;
    int status = 0;
    bool reaped = false;
    while (now_ms() < deadline) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || r < 0) {
        reaped = true;
        break;
      }
      ::usleep(10'000);
    }
    if (!reaped) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  // The child is gone, so its end of the pipe is closed and the drain
  // thread's read() returns 0.
  if (drain_.joinable()) drain_.join();
  if (stdout_fd_ >= 0) {
    ::close(stdout_fd_);
    stdout_fd_ = -1;
  }
}

ReadyProcess::~ReadyProcess() {
  stop();
}

Result<std::unique_ptr<LocalNode>> LocalNode::start(LocalNodeOptions options) {
  std::vector<std::string> argv{node_binary(), source_path("tools/localnet/server.js"), "--port",
                                "0"};
  if (options.slot_ms) {
    argv.push_back("--slot-ms");
    argv.push_back(std::to_string(*options.slot_ms));
  }
  for (auto& a : options.extra_args) argv.push_back(a);
  QTW_ASSIGN_OR_RETURN(auto proc, ReadyProcess::spawn(std::move(argv), options.ready_timeout_ms));
  auto node = std::unique_ptr<LocalNode>(new LocalNode());
  node->process_ = std::move(proc);
  return node;
}

Result<std::unique_ptr<FaultProxy>> FaultProxy::start(const std::string& target_url,
                                                      std::int64_t ready_timeout_ms) {
  std::vector<std::string> argv{node_binary(),   source_path("tools/faultproxy/proxy.js"),
                                "--listen-port", "0",
                                "--target",      target_url};
  QTW_ASSIGN_OR_RETURN(auto proc, ReadyProcess::spawn(std::move(argv), ready_timeout_ms));
  auto proxy = std::unique_ptr<FaultProxy>(new FaultProxy());
  proxy->process_ = std::move(proc);
  return proxy;
}

Status FaultProxy::set_mode(std::string_view mode, int count) {
  std::string body = "{\"mode\":\"" + std::string(mode) + "\"";
  if (count > 0) body += ",\"count\":" + std::to_string(count);
  body += "}";
  QTW_ASSIGN_OR_RETURN(auto reply, http(url() + "/__proxy/mode", &body));
  (void)reply;
  return {};
}

Result<std::string> FaultProxy::stats() {
  return http(url() + "/__proxy/stats", nullptr);
}

}  // namespace qtw::test
