// download_file / download_cifar10 against a small HTTP/1.1 server on 127.0.0.1
// (an ephemeral port, one thread): good file, checksum mismatch, connection cut
// halfway then resumed with Range, a server ignoring Range, a stale part, 404.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "cifar_fixtures.h"
#include "googlenet/io/download.h"

namespace googlenet {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::TempDir;

class HttpServer {
 public:
  HttpServer(std::string name, std::string body) : name_(std::move(name)), body_(std::move(body)) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;  // ephemeral
    socklen_t length = sizeof(address);
    if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        listen(listener_, 8) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("test server: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~HttpServer() {
    stop_ = true;
    thread_.join();
    close(listener_);
  }

  std::string url(const std::string& name) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + name;
  }
  void cut_next_response_after(int64_t bytes) { cut_after_ = bytes; }
  void ignore_range(bool ignore) { ignore_range_ = ignore; }
  std::vector<std::string> requests() {  // "GET /name range=<Range header>"
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, /*timeout_ms=*/50) <= 0) continue;
      const int client = accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      timeval timeout{5, 0};  // a test never waits long on a silent client
      setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
      answer(client);
      close(client);
    }
  }

  void answer(int client) {
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
      const ssize_t n = recv(client, buffer, sizeof(buffer), 0);
      if (n <= 0) return;
      request.append(buffer, n);
    }
    const std::string path = request.substr(4, request.find(' ', 4) - 4);
    std::string range;
    const size_t at = request.find("\r\nRange: bytes=");
    if (at != std::string::npos)
      range = request.substr(at + 15, request.find("\r\n", at + 2) - at - 15);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back("GET " + path + " range=" + range);
    }
    std::string head, body;
    if (path != "/" + name_) {
      body = "no such file";
      head = "HTTP/1.1 404 Not Found\r\n";
    } else if (!range.empty() && !ignore_range_) {
      const size_t from = std::stoul(range);
      if (from >= body_.size()) {
        head = "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */" +
               std::to_string(body_.size()) + "\r\n";
      } else {
        body = body_.substr(from);
        head = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(from) +
               "-" + std::to_string(body_.size() - 1) + "/" + std::to_string(body_.size()) + "\r\n";
      }
    } else {
      body = body_;
      head = "HTTP/1.1 200 OK\r\n";
    }
    head += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    const int64_t cut = cut_after_.exchange(-1);
    if (cut >= 0 && cut < static_cast<int64_t>(body.size())) body.resize(cut);
    const std::string response = head + body;
    for (size_t sent = 0; sent < response.size();) {
      const ssize_t n = send(client, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += n;
    }
  }

  std::string name_, body_;
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> cut_after_{-1};
  std::atomic<bool> ignore_range_{false};
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

const std::string kName = "cifar-10-binary.tar.gz";

std::string random_body(size_t size) {
  std::mt19937 rng(11);
  std::string body(size, '\0');
  for (char& c : body) c = static_cast<char>(rng() & 255);
  return body;
}

class Download : public ::testing::Test {
 protected:
  void SetUp() override { setenv("no_proxy", "127.0.0.1", 1); }  // never a proxy for loopback
  const std::string body_ = random_body(1 << 20);
  const std::string md5_ = md5_hex(body_);
  HttpServer server_{kName, body_};
  TempDir tmp_;
  const fs::path file_ = tmp_ / kName;
  const fs::path part_ = tmp_ / (kName + ".part");
};

TEST(DownloadMd5, KnownVectors) {
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5_hex("The quick brown fox jumps over the lazy dog"),
            "9e107d9d372bb6826bd81d3542a419d6");
  TempDir tmp;
  testing::write_bytes(tmp / "f", "abc");
  EXPECT_EQ(md5_file(tmp / "f"), "900150983cd24fb0d6963f7d28e17f72");
}

TEST_F(Download, GoodFileWithProgressThenNoNetworkWhenPresent) {
  int64_t last_received = -1, last_total = 0, calls = 0;
  bool monotone = true;
  const auto path =
      download_cifar10(tmp_.path(), server_.url(kName), md5_, [&](int64_t received, int64_t total) {
        monotone = monotone && received >= last_received;
        last_received = received, last_total = total, ++calls;
      });
  EXPECT_EQ(path, file_);
  EXPECT_TRUE(testing::read_bytes(file_) == body_);
  EXPECT_FALSE(fs::exists(part_));
  EXPECT_GT(calls, 0);
  EXPECT_TRUE(monotone);
  EXPECT_EQ(last_received, static_cast<int64_t>(body_.size()));
  EXPECT_EQ(last_total, static_cast<int64_t>(body_.size()));
  download_cifar10(tmp_.path(), server_.url(kName), md5_);
  EXPECT_EQ(server_.requests().size(), 1u);  // the good file was kept as it was
}

TEST_F(Download, ChecksumMismatchNamesBothSumsAndLeavesNothing) {
  const std::string wrong = md5_hex("something else");
  const std::string message = error_of<std::runtime_error>(
      [&] { download_cifar10(tmp_.path(), server_.url(kName), wrong); });
  EXPECT_NE(message.find(server_.url(kName) + ": checksum mismatch: MD5 " + md5_ + ", expected " +
                         wrong + " (corrupted download or a different file"),
            std::string::npos)
      << message;
  EXPECT_FALSE(fs::exists(file_));
  EXPECT_FALSE(fs::exists(part_));
}

TEST_F(Download, CutHalfwayThenResumedWithRange) {
  const int64_t half = body_.size() / 2;
  server_.cut_next_response_after(half);
  const std::string message = error_of<std::runtime_error>(
      [&] { download_cifar10(tmp_.path(), server_.url(kName), md5_); });
  EXPECT_NE(message.find(": download interrupted after 524288 bytes: "), std::string::npos)
      << message;
  EXPECT_NE(message.find("(run again to resume from " + part_.string() + ")"), std::string::npos)
      << message;
  EXPECT_FALSE(fs::exists(file_));
  ASSERT_EQ(fs::file_size(part_), static_cast<uintmax_t>(half));

  download_cifar10(tmp_.path(), server_.url(kName), md5_);
  EXPECT_TRUE(testing::read_bytes(file_) == body_);
  EXPECT_FALSE(fs::exists(part_));
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1], "GET /" + kName + " range=524288-");
}

TEST_F(Download, ServerIgnoringRangeRestartsFromZero) {
  testing::write_bytes(part_, body_.substr(0, 1000));
  server_.ignore_range(true);
  download_file(server_.url(kName), file_, md5_);
  EXPECT_TRUE(testing::read_bytes(file_) == body_);
}

TEST_F(Download, StalePartIsDiscardedAfterAMismatch) {
  testing::write_bytes(part_, std::string(1000, 'x'));  // not the start of this file
  download_file(server_.url(kName), file_, md5_);
  EXPECT_TRUE(testing::read_bytes(file_) == body_);
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0], "GET /" + kName + " range=1000-");
  EXPECT_EQ(requests[1], "GET /" + kName + " range=");
}

TEST_F(Download, ProgressCallbackCanCancel) {
  const auto cancel = [](int64_t, int64_t) { throw std::runtime_error("cancelled by the user"); };
  EXPECT_EQ(
      error_of<std::runtime_error>([&] { download_file(server_.url(kName), file_, md5_, cancel); }),
      "cancelled by the user");
  EXPECT_FALSE(fs::exists(file_));
}

TEST_F(Download, NotFoundIsAnHttpError) {
  const std::string url = server_.url("missing.tar.gz");
  const std::string message =
      error_of<std::runtime_error>([&] { download_cifar10(tmp_.path(), url, md5_); });
  EXPECT_EQ(message, url +
                         ": HTTP 404 Not Found (check the URL, or download the file by hand "
                         "and pass --data)");
  EXPECT_TRUE(fs::is_empty(tmp_.path()));
}

}  // namespace
}  // namespace googlenet
