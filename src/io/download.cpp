// libcurl transfer into `<file>.part` (appending on HTTP 206, restarting on 200),
// then an MD5 (nettle, already a dependency of libarchive) before the rename.
#include "googlenet/io/download.h"

#include <curl/curl.h>
#include <nettle/md5.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "googlenet/util/errors.h"

namespace googlenet {

namespace fs = std::filesystem;

namespace {

std::string hex(const uint8_t* digest, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string text;
  for (size_t i = 0; i < n; ++i) {
    text += kDigits[digest[i] >> 4];
    text += kDigits[digest[i] & 15];
  }
  return text;
}

std::string normalized_md5(const std::string& md5) {
  std::string lower;
  for (char c : md5) {
    const char l = static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    if ((l >= '0' && l <= '9') || (l >= 'a' && l <= 'f')) lower += l;
  }
  if (lower.size() != 32 || md5.size() != 32) {
    throw std::invalid_argument("MD5 '" + md5 + "': expected 32 hex digits");
  }
  return lower;
}

struct Transfer {
  fs::path part;
  int64_t offset = 0;  // bytes already in the part; 0 after the server ignored Range
  int64_t written = 0;
  long status = 0;
  std::string reason;        // e.g. "Not Found"
  int64_t range_start = -1;  // from Content-Range of a 206
  FILE* file = nullptr;
  std::string failure;                // why a callback stopped the transfer
  std::exception_ptr progress_error;  // thrown by the caller's callback, rethrown after curl
  const DownloadProgress* progress = nullptr;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect, too)
    const size_t space = line.find(' ');
    t->status = space == std::string::npos ? 0 : std::strtol(line.c_str() + space + 1, nullptr, 10);
    const size_t reason = line.find(' ', space + 1);
    t->reason = reason == std::string::npos ? "" : line.substr(reason + 1);
    while (!t->reason.empty() && (t->reason.back() == '\r' || t->reason.back() == '\n')) {
      t->reason.pop_back();
    }
    t->range_start = -1;
  } else if (line.size() > 20 && curl_strnequal(line.c_str(), "content-range: bytes ", 21)) {
    t->range_start = std::strtoll(line.c_str() + 21, nullptr, 10);
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->status != 200 && t->status != 206) return n;  // error page: discard
  if (t->file == nullptr) {
    if (t->status == 206 && t->range_start != t->offset) {
      t->failure = "server resumed at byte " + std::to_string(t->range_start) + ", expected " +
                   std::to_string(t->offset);
      return 0;
    }
    if (t->status == 200) t->offset = 0;  // Range ignored: the whole file follows
    t->file = std::fopen(t->part.c_str(), t->status == 206 ? "ab" : "wb");
    if (t->file == nullptr) {
      t->failure = "cannot write " + t->part.string();
      return 0;
    }
  }
  if (std::fwrite(data, 1, n, t->file) != n) {
    t->failure = "write to " + t->part.string() + " failed (disk full?)";
    return 0;
  }
  t->written += static_cast<int64_t>(n);
  return n;
}

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->progress != nullptr && *t->progress && (t->status == 200 || t->status == 206)) {
    try {  // an exception must not unwind through libcurl's C frames
      (*t->progress)(t->offset + now, total > 0 ? t->offset + total : -1);
    } catch (...) {
      t->progress_error = std::current_exception();
      return 1;  // aborts the transfer
    }
  }
  return 0;
}

// One request for `url` from the part's current size on; throws on failure.
void transfer(const std::string& url, const fs::path& part, const DownloadProgress& progress) {
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw std::runtime_error("libcurl: initialisation failed");
  Transfer t;
  t.part = part;
  t.offset = fs::exists(part) ? static_cast<int64_t>(fs::file_size(part)) : 0;
  t.progress = &progress;
  const std::string range = std::to_string(t.offset) + "-";
  char error[CURL_ERROR_SIZE] = "";
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);  // abort below 1 KB/s ...
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);     // ... sustained for a minute
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  if (t.offset > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  const CURLcode result = curl_easy_perform(c);
  if (t.file != nullptr) std::fclose(t.file);
  if (t.progress_error) std::rethrow_exception(t.progress_error);
  // 416: the part already holds the whole file (or is stale); the MD5 decides.
  if (t.status >= 400 && t.status != 416) {
    throw std::runtime_error(url + ": HTTP " + std::to_string(t.status) + " " + t.reason +
                             " (check the URL, or download the file by hand and pass --data)");
  }
  if (result != CURLE_OK) {
    const std::string why = !t.failure.empty() ? t.failure
                            : error[0] != '\0' ? std::string(error)
                                               : curl_easy_strerror(result);
    const int64_t have = t.offset + t.written;
    throw std::runtime_error(url + ": download interrupted after " + std::to_string(have) +
                             " bytes: " + why + " (run again to resume from " + part.string() +
                             ")");
  }
  if (t.status != 200 && t.status != 206 && t.status != 416) {
    throw std::runtime_error(url + ": unexpected HTTP " + std::to_string(t.status) + " " +
                             t.reason + ", expected 200 or 206 (check the URL)");
  }
}

}  // namespace

std::string md5_hex(const std::string& bytes) {
  md5_ctx ctx;
  md5_init(&ctx);
  md5_update(&ctx, bytes.size(), reinterpret_cast<const uint8_t*>(bytes.data()));
  uint8_t digest[MD5_DIGEST_SIZE];
  md5_digest(&ctx, MD5_DIGEST_SIZE, digest);
  return hex(digest, MD5_DIGEST_SIZE);
}

std::string md5_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error(path.string() + ": cannot open for reading (check permissions)");
  md5_ctx ctx;
  md5_init(&ctx);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    md5_update(&ctx, static_cast<size_t>(in.gcount()), reinterpret_cast<uint8_t*>(buffer.data()));
  }
  if (in.bad()) throw std::runtime_error(path.string() + ": read failed");
  uint8_t digest[MD5_DIGEST_SIZE];
  md5_digest(&ctx, MD5_DIGEST_SIZE, digest);
  return hex(digest, MD5_DIGEST_SIZE);
}

void download_file(const std::string& url, const fs::path& destination,
                   const std::string& expected_md5, const DownloadProgress& progress) {
  const std::string expected = normalized_md5(expected_md5);
  if (fs::is_regular_file(destination) && md5_file(destination) == expected) return;
  fs::path part = destination;
  part += ".part";
  // A resumed part can belong to another version of the file: on a mismatch after
  // resuming, start once more from byte 0. Two tries at most.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool resumed = fs::exists(part) && fs::file_size(part) > 0;
    transfer(url, part, progress);
    const std::string actual = fs::exists(part) ? md5_file(part) : md5_hex("");
    if (actual == expected) {
      fs::rename(part, destination);
      return;
    }
    fs::remove(part);
    if (!resumed) {
      throw std::runtime_error(url + ": checksum mismatch: MD5 " + actual + ", expected " +
                               expected +
                               " (corrupted download or a different file; run again, or check "
                               "the URL)");
    }
  }
  throw std::runtime_error(url + ": checksum mismatch twice (run again, or check the URL)");
}

fs::path download_cifar10(const fs::path& dir, const std::string& url,
                          const std::string& expected_md5, const DownloadProgress& progress) {
  std::string name = url.substr(0, url.find_first_of("?#"));
  name = name.substr(name.find_last_of('/') + 1);
  if (name.empty() || name.find(':') != std::string::npos) {
    throw UsageError(url + ": no file name at the end of the URL, expected e.g. " +
                     kCifar10BinaryUrl);
  }
  fs::create_directories(dir);
  const fs::path destination = dir / name;
  download_file(url, destination, expected_md5, progress);
  return destination;
}

}  // namespace googlenet
