#include "source/model_source.h"

#include <strings.h>
#include <sys/stat.h>

#include <cctype>
#include <cstdlib>

#include <algorithm>
#include <vector>

#include "source/transports.h"

namespace ws {

namespace {

bool is_url(const std::string& s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Answers the opener's requests through `transport` until it wants nothing
// more. A file the transport does not have is the opener's to judge (an
// optional side file, or a missing shard); every other failure ends the open.
// A file's size is asked once (over HTTP each ask is a request).
Status answer_requests(ModelOpener& opener, Transport& transport) {
  std::vector<uint8_t> bytes;
  std::map<std::string, uint64_t> sizes;
  while (!opener.wanted().empty()) {
    const ByteRequest request = opener.wanted().front();
    auto known = sizes.find(request.file);
    Result<uint64_t> file_bytes = known != sizes.end() ? Result<uint64_t>(known->second) : transport.file_size(request.file);
    if (!file_bytes) {
      if (file_bytes.error().kind != ErrorKind::NotFound) return file_bytes.error();
      WS_TRY(opener.absent(request.file, file_bytes.error().message));
      continue;
    }
    sizes[request.file] = *file_bytes;
    uint64_t n = *file_bytes > request.begin ? std::min(request.end, *file_bytes) - request.begin : 0;
    if (request.whole && *file_bytes > request.end) n = 0;  // over the cap: refused unread
    bytes.resize(n);
    if (n > 0) WS_TRY(transport.read(request.file, request.begin, bytes.data(), n));
    WS_TRY(opener.answer(request.file, bytes.data(), n, *file_bytes, transport.describe(request.file)));
  }
  return Status::ok();
}

// The host of an http(s) URL, lower-case, without user info or port; "" for anything else.
std::string url_host(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  size_t begin = scheme + 3;
  const size_t end = url.find_first_of("/?#", begin);
  std::string authority = url.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  const size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  if (!authority.empty() && authority[0] == '[') {  // [IPv6]:port
    const size_t close = authority.find(']');
    authority = authority.substr(0, close == std::string::npos ? std::string::npos : close + 1);
  } else {
    authority = authority.substr(0, authority.find(':'));
  }
  for (char& c : authority) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return authority;
}

bool is_hugging_face_host(const std::string& host) {
  if (host.empty()) return false;
  const std::string hub = "huggingface.co";
  if (host == hub || (host.size() > hub.size() && host.compare(host.size() - hub.size() - 1, std::string::npos, "." + hub) == 0)) {
    return true;
  }
  const char* endpoint = std::getenv("HF_ENDPOINT");
  return endpoint && host == url_host(endpoint);
}

// HF_TOKEN, as huggingface_hub sends it: a bearer token for the Hub's hosts
// only (huggingface.co, its subdomains, $HF_ENDPOINT's host), unless the
// caller gave its own token or Authorization header. libcurl keeps a bearer
// token to the first host, so a resolve/ URL's redirect to the CDN never sees it.
HttpTransportOptions with_hub_token(HttpTransportOptions options, const std::string& url) {
  const char* token = std::getenv("HF_TOKEN");
  if (!token || !*token || !options.bearer_token.empty() || !is_hugging_face_host(url_host(url))) return options;
  for (const std::string& header : options.headers) {
    if (strncasecmp(header.c_str(), "authorization:", 14) == 0) return options;
  }
  options.bearer_token = token;
  return options;
}

}  // namespace

std::string redact_url(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t host = scheme + 3;
  const size_t at = url.find('@', host);
  const size_t path = url.find('/', host);
  if (at == std::string::npos || (path != std::string::npos && at > path)) return url;
  return url.substr(0, host) + "***@" + url.substr(at + 1);
}

Result<std::unique_ptr<ModelSource>> ModelSource::open(const std::string& location, const HttpTransportOptions& http,
                                                      const OpenOptions& options) {
  auto source = std::unique_ptr<ModelSource>(new ModelSource());
  source->location_ = location;
  std::string weights_file;  // set when the location names one .safetensors file
  if (is_url(location)) {
    std::string url = location;
    if (ends_with(url, ".safetensors") || ends_with(url, ".gguf")) {
      const size_t slash = url.rfind('/');
      weights_file = url.substr(slash + 1);
      url = url.substr(0, slash + 1);
    }
#if defined(WS_HTTP)
    WS_TRY(check_http_options(http));
    source->transport_ = make_http_transport(url, with_hub_token(http, location));
#else
    (void)http;
    return make_error(ErrorKind::Unsupported, redact_url(location) + ": this build has no HTTP support (configured with WS_HTTP=OFF)");
#endif
  } else {
    struct stat st;
    if (location.empty() || ::stat(location.c_str(), &st) != 0) {
      return make_error(ErrorKind::NotFound, "model not found: \"" + location + "\" is neither a directory, a .safetensors or .gguf file nor an http(s) URL");
    }
    if (S_ISDIR(st.st_mode)) {
      source->transport_ = make_file_transport(location);
    } else {
      const size_t slash = location.rfind('/');
      weights_file = slash == std::string::npos ? location : location.substr(slash + 1);
      source->transport_ = make_file_transport(slash == std::string::npos ? "." : location.substr(0, slash));
    }
  }

  // A safetensors header is read as its 8-byte length, then exactly the
  // header: natively a round trip is cheap (pread, a kept-alive HTTP
  // connection) and no byte past the header is read twice, so a slow server
  // spends its time on the weights (the browser asks for 256 KiB at once).
  OpenOptions native_options = options;
  native_options.first_safetensors_prefix_bytes = 8;
  ModelOpener opener(redact_url(location), weights_file, native_options);
  WS_TRY(answer_requests(opener, *source->transport_));
  WS_ASSIGN_OR_RETURN(source->opened_, opener.take());
  return source;
}

std::string ModelSource::shown_location() const { return redact_url(location_); }

Result<bool> ModelSource::has_file(const std::string& file_name) {
  if (opened_.files.count(file_name)) return true;
  if (opened_.gguf) return false;
  Result<uint64_t> size = transport_->file_size(file_name);
  if (size) return true;
  if (size.error().kind == ErrorKind::NotFound) return false;
  return size.error();
}

Result<std::string> ModelSource::read_text(const std::string& file_name, uint64_t max_bytes) {
  auto held = opened_.files.find(file_name);
  if (held != opened_.files.end()) return held->second;
  if (opened_.gguf) {
    auto why = opened_.file_errors.find(file_name);
    if (why != opened_.file_errors.end()) return why->second;
    return make_error(ErrorKind::NotFound, shown_location() + ": a GGUF file has no " + file_name +
                                               " (only config.json, tokenizer.json and tokenizer_config.json are made from its metadata)");
  }
  WS_ASSIGN_OR_RETURN(uint64_t size, transport_->file_size(file_name));
  if (size > max_bytes) {
    return make_error(ErrorKind::OutOfBudget, transport_->describe(file_name) + ": " + std::to_string(size) +
                                                  " bytes, more than the " + std::to_string(max_bytes) + " allowed");
  }
  std::string text(size, '\0');
  WS_TRY(transport_->read(file_name, 0, reinterpret_cast<uint8_t*>(text.data()), size));
  return text;
}

Result<std::shared_ptr<const MappedFile>> ModelSource::map_shard(size_t shard, bool populate) {
  const ShardInfo& info = opened_.checkpoint.shards[shard];
  WS_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> mapped, transport_->map(info.file_name, populate));
  if (mapped->size() != info.file_bytes) {  // changed since its header was validated
    return make_error(ErrorKind::Truncated, transport_->describe(info.file_name) + ": file is now " +
                                                std::to_string(mapped->size()) + " bytes, was " +
                                                std::to_string(info.file_bytes) + " when opened");
  }
  return mapped;
}

Status ModelSource::load(LoadExecutor& executor, const ParallelFill& readers) {
  for (size_t s = 0; s < opened_.checkpoint.shards.size(); ++s) {
    WS_TRY(transport_->stream(opened_.checkpoint.shards[s].file_name, s, executor, readers));
  }
  return Status::ok();
}

}  // namespace ws
