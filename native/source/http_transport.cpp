// HTTP(S) transport on libcurl. Every transfer is a Range request; a stream
// that breaks is resumed from the first byte not yet committed, so a dropped
// connection costs a reconnect, never a restart or a corrupt tensor.
// Nothing a server says is trusted: a 206's Content-Range must be the range
// asked for, bodies must come unencoded (we ask for identity), a server
// without Range support (200) is read from its first byte with the bytes
// before the wanted range skipped, and every request has deadlines (one
// response, one read, the whole load). Credentials go to the model URL's host
// only, never to another host a redirect leads to.
#include <curl/curl.h>

#include <strings.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <functional>
#include <cstring>
#include <mutex>
#include <thread>

#include "source/transports.h"

namespace ws {

namespace {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool starts_with_ignoring_case(const std::string& s, const char* prefix) {
  return strncasecmp(s.c_str(), prefix, std::strlen(prefix)) == 0;
}

// The CA bundle to trust: the option, else the variables curl's own tool and
// OpenSSL read (libcurl itself reads neither).
std::string resolved_ca_bundle(const HttpTransportOptions& options, std::string* from = nullptr) {
  if (!options.ca_bundle.empty()) {
    if (from) *from = "--ca-bundle";
    return options.ca_bundle;
  }
  for (const char* name : {"CURL_CA_BUNDLE", "SSL_CERT_FILE"}) {
    const char* value = std::getenv(name);
    if (value && *value) {
      if (from) *from = std::string("$") + name;
      return value;
    }
  }
  return "";
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

// Receives a body into a byte sink. `sink` returns false to abort the transfer.
struct Transfer {
  std::function<bool(const uint8_t*, uint64_t)> sink;
  uint64_t received = 0;
  bool sink_failed = false;
  std::string content_range;     // from the last response's headers
  std::string content_encoding;  // likewise
  CURL* curl = nullptr;
  uint64_t want_begin = 0;  // the range asked for, [want_begin, want_last]
  uint64_t want_last = 0;
  uint64_t skip = 0;        // body bytes before want_begin (a 200 to a ranged request)
  bool status_checked = false;
  bool got_status_line = false;
  std::optional<Error> refused;  // why a response's body was refused
  std::string where;             // the file, for messages
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  long response_timeout_s = 0;
  bool response_timed_out = false;
  bool permanent = false;  // a failure that retrying cannot mend (an untrusted certificate)
  bool ranges_ignored = false;  // a 200 answered the Range request
};

// Parses "bytes a-b/total" (b inclusive).
bool parse_content_range(const std::string& value, uint64_t& first, uint64_t& last) {
  unsigned long long a = 0, b = 0;
  char unit[8] = {0};
  if (std::sscanf(value.c_str(), "%7s %llu-%llu", unit, &a, &b) != 3 || strcasecmp(unit, "bytes") != 0) return false;
  first = a;
  last = b;
  return a <= b;
}

// Body bytes of an error page, of an encoded body or of a range we did not
// ask for must never reach a tensor: check before the first byte goes through.
bool body_is_wanted(Transfer& transfer) {
  if (transfer.status_checked) return true;
  long status = 0;
  curl_easy_getinfo(transfer.curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 206 && status != 200) return false;  // the status tells why
  if (!transfer.content_encoding.empty() && strcasecmp(transfer.content_encoding.c_str(), "identity") != 0) {
    transfer.refused = make_error(ErrorKind::Http, transfer.where + ": the server sent Content-Encoding: " +
                                                       transfer.content_encoding + " (asked for identity)");
    return false;
  }
  if (status == 206) {
    uint64_t first = 0, last = 0;
    if (!parse_content_range(transfer.content_range, first, last) || first != transfer.want_begin ||
        last > transfer.want_last) {
      transfer.refused = make_error(
          ErrorKind::Http, transfer.where + ": 206 with Content-Range \"" + transfer.content_range +
                               "\" for bytes " + std::to_string(transfer.want_begin) + "-" +
                               std::to_string(transfer.want_last) + " asked for");
      return false;
    }
  } else {
    transfer.skip = transfer.want_begin;  // no Range support: the body starts at byte 0
    transfer.ranges_ignored = true;
  }
  transfer.status_checked = true;
  return true;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const uint64_t n = static_cast<uint64_t>(size) * count;
  if (!body_is_wanted(*transfer)) return 0;  // curl stops with CURLE_WRITE_ERROR, sink_failed stays false
  uint64_t skipped = std::min<uint64_t>(transfer->skip, n);
  transfer->skip -= skipped;
  if (skipped == n) return n;
  transfer->received += n - skipped;
  if (!transfer->sink(reinterpret_cast<const uint8_t*>(data) + skipped, n - skipped)) {
    transfer->sink_failed = true;  // the sink wants no more (done, or refused)
    return 0;                      // makes curl stop with CURLE_WRITE_ERROR
  }
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect or a 100): forget the last one's
    transfer->got_status_line = true;
    transfer->content_range.clear();
    transfer->content_encoding.clear();
  }
  static const char kRange[] = "content-range:";
  static const char kEncoding[] = "content-encoding:";
  if (line.size() > sizeof(kRange) && strncasecmp(line.c_str(), kRange, sizeof(kRange) - 1) == 0) {
    transfer->content_range = trimmed(line.substr(sizeof(kRange) - 1));
  }
  if (line.size() > sizeof(kEncoding) && strncasecmp(line.c_str(), kEncoding, sizeof(kEncoding) - 1) == 0) {
    transfer->content_encoding = trimmed(line.substr(sizeof(kEncoding) - 1));
  }
  return n;
}

// A server that accepts the connection but never answers is abandoned after
// response_timeout_s, not held for the low-speed timeout and every retry.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  if (transfer->got_status_line || transfer->response_timeout_s <= 0) return 0;
  const auto waited = std::chrono::steady_clock::now() - transfer->started;
  if (waited > std::chrono::seconds(transfer->response_timeout_s)) {
    transfer->response_timed_out = true;
    return 1;  // CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

class HttpTransport final : public Transport {
 public:
  HttpTransport(std::string base_url, HttpTransportOptions options)
      : base_url_(std::move(base_url)), options_(std::move(options)) {
    init_curl_once();
    if (base_url_.empty() || base_url_.back() != '/') base_url_ += '/';
    ca_bundle_ = resolved_ca_bundle(options_);
    // "Authorization: Bearer T" travels as libcurl's bearer token, which
    // libcurl keeps to the first host; the other headers stay headers.
    std::vector<std::string> headers;
    for (const std::string& header : options_.headers) {
      const std::string value = trimmed(header.substr(header.find(':') + 1));
      if (starts_with_ignoring_case(header, "authorization:") && starts_with_ignoring_case(value, "bearer ")) {
        options_.bearer_token = trimmed(value.substr(7));
      } else {
        headers.push_back(header);
      }
    }
    options_.headers = std::move(headers);
  }

  // For messages: credentials in the URL are never echoed.
  std::string describe(const std::string& file) const override { return redact_url(base_url_ + file); }

  Result<uint64_t> file_size(const std::string& file) override {
    for (int attempt = 0;; ++attempt) {
      WS_TRY(check_load_deadline(file, "its size"));
      long status = 0;
      bool permanent = false;
      Result<uint64_t> size = probe_size(file, status, permanent);
      if (!size) WS_TRY(check_load_deadline(file, "its size"));
      const bool retryable = !size && !permanent && (status == 0 || status >= 500 || status == 408 || status == 429);
      if (size || !retryable || attempt >= options_.max_retries) return size;
      backoff(50L * (1 << std::min(attempt + 1, 6)));
    }
  }

  Status read(const std::string& file, uint64_t offset, uint8_t* dst, uint64_t len) override {
    if (len == 0) return Status::ok();
    uint64_t done = 0;
    auto sink = [&](const uint8_t* data, uint64_t n) {
      const uint64_t take = std::min(n, len - done);
      std::memcpy(dst + done, data, take);
      done += take;
      return done < len;  // stop once we have what we asked for
    };
    return with_retries(file, offset, len, done, sink);
  }

  Status stream(const std::string& file, size_t shard, LoadExecutor& executor, const ParallelFill& readers) override {
    // A server that ignores Range sends every piece from byte 0: one stream then.
    if (readers.readers > 1 && executor.can_fill_parallel(shard) && !ranges_ignored_.load()) {
      return stream_parallel(file, shard, executor, readers);
    }
    const FillTarget first = executor.next(shard);
    if (first.len == 0) return Status::ok();
    const uint64_t begin = first.file_offset;
    const uint64_t end = executor.shard_end(shard);
    uint64_t done = 0;
    Status commit_status;
    auto sink = [&](const uint8_t* data, uint64_t n) {
      while (n > 0 && !executor.shard_done(shard)) {
        const FillTarget t = executor.next(shard);
        const uint64_t take = std::min(t.len, n);
        if (t.dst) std::memcpy(t.dst, data, take);
        commit_status = executor.commit(shard, take);
        if (!commit_status) return false;
        data += take;
        n -= take;
        done += take;
      }
      return !executor.shard_done(shard);
    };
    Status status = with_retries(file, begin, end - begin, done, sink);
    if (!commit_status) return commit_status;
    return status;
  }

 private:
  // Several connections, each a Range request per piece of the shard, with
  // the single stream's resume, retries and checks per piece: one connection
  // reached 0.51x of curl's throughput from a local server (the body is
  // copied and committed on curl's thread between socket reads).
  Status stream_parallel(const std::string& file, size_t shard, LoadExecutor& executor, const ParallelFill& readers) {
    ParallelFill fill = readers;
    // Fewer, longer requests: each piece costs a request (and a connection).
    const uint64_t span = executor.shard_end(shard) - executor.next(shard).file_offset;
    fill.piece_bytes = std::max<uint64_t>(fill.piece_bytes, span / (uint64_t{fill.readers} * 4) + 1);
    return executor.fill_parallel(shard, fill, [&](PieceFill& piece) -> Status {
      uint64_t done = 0;
      Status commit_status;
      auto sink = [&](const uint8_t* data, uint64_t n) {
        while (n > 0 && !piece.done()) {
          const FillTarget t = piece.next();
          const uint64_t take = std::min(t.len, n);
          if (t.dst) std::memcpy(t.dst, data, take);
          commit_status = piece.commit(take);
          if (!commit_status) return false;
          data += take;
          n -= take;
          done += take;
        }
        return !piece.done();
      };
      Status status = with_retries(file, piece.begin(), piece.end() - piece.begin(), done, sink);
      if (!commit_status) return commit_status;
      return status;
    });
  }

  // Timeout once the load deadline has passed; `what` says what was being read.
  Status check_load_deadline(const std::string& file, const std::string& what) const {
    if (options_.load_deadline_s <= 0 || load_ms_left() > 0) return Status::ok();
    return make_error(ErrorKind::Timeout, describe(file) + ": the load's deadline of " +
                                              std::to_string(options_.load_deadline_s) + " s passed while reading " + what);
  }

  // Waits before a retry, never past the load deadline (the next check ends it).
  void backoff(long ms) const {
    if (options_.load_deadline_s > 0) ms = std::max(0L, std::min(ms, load_ms_left()));
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }

  // Milliseconds left of the load deadline (meaningful when there is one).
  long load_ms_left() const {
    const auto spent = std::chrono::steady_clock::now() - created_;
    return static_cast<long>(options_.load_deadline_s * 1000 -
                             std::chrono::duration_cast<std::chrono::milliseconds>(spent).count());
  }

  Result<uint64_t> probe_size(const std::string& file, long& status, bool& permanent) {
    // A one-byte Range GET instead of HEAD: every static server and the
    // Hugging Face CDN answer it, and Content-Range carries the full size.
    Transfer transfer;
    transfer.sink = [](const uint8_t*, uint64_t) { return false; };  // headers are all we need
    double content_length = -1;
    Status performed = perform(file, 0, 0, transfer, &status, &content_length,
                               options_.load_deadline_s > 0 ? std::max(1L, load_ms_left()) : 0);
    permanent = transfer.permanent;
    if (transfer.refused) return *transfer.refused;
    if (status == 206) {
      const size_t slash = transfer.content_range.find('/');
      if (slash != std::string::npos) {
        const char* total = transfer.content_range.c_str() + slash + 1;
        char* end = nullptr;
        const unsigned long long size = std::strtoull(total, &end, 10);
        if (end != total) return static_cast<uint64_t>(size);
      }
      return make_error(ErrorKind::Http, describe(file) + ": 206 response without a usable Content-Range");
    }
    if (status == 200 && content_length >= 0) return static_cast<uint64_t>(content_length);
    if (status == 0) return performed.is_ok() ? make_error(ErrorKind::Http, describe(file) + ": no response") : performed.error();
    return http_status_error(file, status);
  }

  // GET [offset, offset+len) into `sink`, reconnecting from offset + done after
  // a failure, up to max_retries consecutive failures without progress.
  // `sink` returns false once it wants no more bytes (or cannot take them).
  Status with_retries(const std::string& file, uint64_t offset, uint64_t len, uint64_t& done,
                      const std::function<bool(const uint8_t*, uint64_t)>& sink) {
    int failures = 0;        // in a row, without progress
    int total_failures = 0;  // in all
    const auto start = std::chrono::steady_clock::now();
    while (done < len) {
      const uint64_t before = done;
      Transfer transfer;
      transfer.sink = sink;
      long status = 0;
      long left_ms = 0;
      const std::string at_byte = "byte " + std::to_string(offset + done);
      if (options_.deadline_s > 0) {
        const auto spent = std::chrono::steady_clock::now() - start;
        left_ms = static_cast<long>(options_.deadline_s * 1000 -
                                    std::chrono::duration_cast<std::chrono::milliseconds>(spent).count());
        if (left_ms <= 0) {
          return make_error(ErrorKind::Timeout, describe(file) + ": deadline of " + std::to_string(options_.deadline_s) +
                                                    " s for one read passed at " + at_byte);
        }
      }
      if (options_.load_deadline_s > 0) {
        WS_TRY(check_load_deadline(file, at_byte));
        left_ms = left_ms > 0 ? std::min(left_ms, load_ms_left()) : load_ms_left();
      }
      Status last = perform(file, offset + done, len - done, transfer, &status, nullptr, left_ms);
      if (done >= len) return Status::ok();
      if (transfer.refused) return *transfer.refused;  // wrong bytes: retrying the same server will not help
      if (transfer.permanent) return last;
      WS_TRY(check_load_deadline(file, "byte " + std::to_string(offset + done)));
      if (transfer.sink_failed) {  // the sink refused bytes: its caller reports why
        return make_error(ErrorKind::Http, describe(file) + ": transfer stopped at byte " + std::to_string(offset + done));
      }
      if (last && status != 206 && status != 200) {
        last = http_status_error(file, status);
        if (status >= 400 && status < 500 && status != 408 && status != 429) return last;  // retrying will not help
      }
      if (last) {
        last = make_error(ErrorKind::Truncated, describe(file) + ": response ended at byte " +
                                                    std::to_string(offset + done) + " of " + std::to_string(offset + len));
      }
      failures = done > before ? 1 : failures + 1;
      ++total_failures;
      if (failures > options_.max_retries) {
        return make_error(last.error().kind, last.error().message + " (gave up after " +
                                                 std::to_string(options_.max_retries) + " retries)");
      }
      if (total_failures > options_.max_total_retries) {
        return make_error(last.error().kind, last.error().message + " (gave up after " +
                                                 std::to_string(options_.max_total_retries) + " retries in all)");
      }
      backoff(50L * (1 << std::min(failures, 6)));
    }
    return Status::ok();
  }

  // One GET of [offset, offset + len) (len 0: the one byte at offset).
  // timeout_ms > 0 caps the whole request.
  Status perform(const std::string& file, uint64_t offset, uint64_t len, Transfer& transfer, long* status,
                 double* content_length, long timeout_ms = 0) {
    CURL* curl = curl_easy_init();
    if (!curl) return make_error(ErrorKind::Http, "libcurl could not start a transfer");
    const std::string url = base_url_ + file;
    const std::string shown = describe(file);
    const std::string range = std::to_string(offset) + "-" + std::to_string(len == 0 ? offset : offset + len - 1);
    char error_buffer[CURL_ERROR_SIZE] = {0};
    transfer.curl = curl;
    transfer.want_begin = offset;
    transfer.want_last = len == 0 ? offset : offset + len - 1;
    transfer.where = shown;
    transfer.response_timeout_s = options_.response_timeout_s;
    // identity: a gzip body is not the tensor's bytes, and its offsets are not ours.
    curl_slist* headers = curl_slist_append(nullptr, "Accept-Encoding: identity");
    for (const std::string& header : options_.headers) headers = curl_slist_append(headers, header.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (!options_.bearer_token.empty()) {  // sent to this URL's host only, never after a redirect elsewhere
      curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
      curl_easy_setopt(curl, CURLOPT_XOAUTH2_BEARER, options_.bearer_token.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_UNRESTRICTED_AUTH, 0L);
    if (!ca_bundle_.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_bundle_.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    if (timeout_ms > 0) curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, options_.connect_timeout_s);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options_.low_speed_timeout_s);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "weightstream/0.1");
    const CURLcode code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    if (content_length) {
      curl_off_t length = -1;
      curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
      *content_length = static_cast<double>(length);
    }
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    if (transfer.ranges_ignored) ranges_ignored_.store(true);
    if (code == CURLE_WRITE_ERROR && transfer.sink_failed) return Status::ok();  // our sink stopped it
    if (code == CURLE_WRITE_ERROR && *status != 0) return Status::ok();  // refused body: the status tells why
    if (transfer.response_timed_out) {
      return make_error(ErrorKind::Timeout, shown + ": no response within " + std::to_string(options_.response_timeout_s) + " s");
    }
    if (code != CURLE_OK) {
      // curl's message may quote the URL: never with its credentials.
      std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
      for (size_t at; (at = detail.find(url)) != std::string::npos;) detail.replace(at, url.size(), shown);
      if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE || code == CURLE_SSL_CERTPROBLEM ||
          code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_URL_MALFORMAT) {
        transfer.permanent = true;
      }
      if (code == CURLE_PEER_FAILED_VERIFICATION) {
        detail += " (the server's TLS certificate is not trusted: for a private CA pass --ca-bundle FILE or set "
                  "CURL_CA_BUNDLE)";
      }
      return make_error(ErrorKind::Http, shown + ": " + detail);
    }
    return Status::ok();
  }

  Error http_status_error(const std::string& file, long status) const {
    if (status == 404) return make_error(ErrorKind::NotFound, describe(file) + ": HTTP 404 (not found)");
    std::string hint = status == 401 || status == 403 ? " (access denied: gated or private model?)" : "";
    return make_error(ErrorKind::Http, describe(file) + ": HTTP " + std::to_string(status) + hint);
  }

  std::string base_url_;
  HttpTransportOptions options_;
  std::string ca_bundle_;  // resolved once: the option or the environment
  std::atomic<bool> ranges_ignored_{false};  // some response ignored a Range request
  const std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
};

}  // namespace

Status check_http_options(const HttpTransportOptions& options) {
  for (const std::string& header : options.headers) WS_TRY(check_header_line(header));
  if (options.bearer_token.find_first_of("\r\n") != std::string::npos) {
    return make_error(ErrorKind::InvalidArgument, "the bearer token holds a line break");
  }
  std::string from;
  const std::string ca_bundle = resolved_ca_bundle(options, &from);
  if (!ca_bundle.empty() && ::access(ca_bundle.c_str(), R_OK) != 0) {
    return make_error(ErrorKind::InvalidArgument, "CA bundle \"" + ca_bundle + "\" (" + from + ") cannot be read");
  }
  return Status::ok();
}

std::unique_ptr<Transport> make_http_transport(std::string base_url, HttpTransportOptions options) {
  return std::make_unique<HttpTransport>(std::move(base_url), options);
}

}  // namespace ws
