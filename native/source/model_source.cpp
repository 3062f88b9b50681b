#include "source/model_source.h"

#include <strings.h>
#include <sys/stat.h>

#include <cctype>
#include <cstdlib>

#include "source/gguf_source.h"
#include "source/transports.h"

namespace ws {

namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

bool is_url(const std::string& s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Reads and validates one shard's header; appends its tensors.
Status open_shard(Transport& transport, const std::string& file, Checkpoint& checkpoint) {
  WS_ASSIGN_OR_RETURN(uint64_t file_bytes, transport.file_size(file));
  uint8_t prefix[8] = {0};
  if (file_bytes >= 8) WS_TRY(transport.read(file, 0, prefix, 8));
  const std::string where = transport.describe(file);
  WS_ASSIGN_OR_RETURN(uint64_t header_bytes, parse_safetensors_prefix(prefix, file_bytes, where));
  std::string header(header_bytes, '\0');
  WS_TRY(transport.read(file, 8, reinterpret_cast<uint8_t*>(header.data()), header_bytes));
  ShardInfo shard;
  WS_TRY(parse_safetensors_header(header, file_bytes, where, checkpoint.shards.size(), shard, checkpoint.tensors));
  shard.file_name = file;  // relative: the transport resolves it
  checkpoint.shards.push_back(std::move(shard));
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

Result<std::unique_ptr<ModelSource>> ModelSource::open(const std::string& location,
                                                      const HttpTransportOptions& http) {
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

  Transport& transport = *source->transport_;
  Checkpoint& checkpoint = source->checkpoint_;
  if (ends_with(weights_file, ".gguf")) {
    source->gguf_ = true;
    WS_TRY(open_gguf(transport, weights_file, checkpoint, source->side_files_, source->side_file_errors_));
    return source;
  }
  if (!weights_file.empty()) {
    WS_TRY(open_shard(transport, weights_file, checkpoint));
    return source;
  }
  // model.safetensors first, as transformers does (modeling_utils checks
  // SAFE_WEIGHTS_NAME before SAFE_WEIGHTS_INDEX_NAME): where both lie in a
  // directory, both programs load the same weights.
  WS_ASSIGN_OR_RETURN(bool has_single, source->has_file(kSingleFile));
  if (has_single) {
    WS_TRY(open_shard(transport, kSingleFile, checkpoint));
    return source;
  }
  WS_ASSIGN_OR_RETURN(bool has_index, source->has_file(kIndexFile));
  if (has_index) {
    WS_ASSIGN_OR_RETURN(std::string index_text, source->read_text(kIndexFile, 256ull << 20));
    WS_ASSIGN_OR_RETURN(ShardIndex index, parse_shard_index(index_text, transport.describe(kIndexFile)));
    for (const std::string& shard_file : index.shard_files) {
      Status opened = open_shard(transport, shard_file, checkpoint);
      if (!opened) {
        return make_error(opened.error().kind == ErrorKind::NotFound ? ErrorKind::InvalidIndex
                              : opened.error().kind,
                          opened.error().message + " (shard named by " + std::string(kIndexFile) + ")");
      }
    }
    WS_TRY(check_shard_index(index, checkpoint, transport.describe(kIndexFile)));
    checkpoint.index_metadata = index.metadata;
    return source;
  }
  return make_error(ErrorKind::NotFound, redact_url(location) + ": no " + kSingleFile + " or " + kIndexFile + " found");
}

std::string ModelSource::shown_location() const { return redact_url(location_); }

Result<bool> ModelSource::has_file(const std::string& file_name) {
  if (side_files_.count(file_name)) return true;
  if (gguf_) return false;
  Result<uint64_t> size = transport_->file_size(file_name);
  if (size) return true;
  if (size.error().kind == ErrorKind::NotFound) return false;
  return size.error();
}

Result<std::string> ModelSource::read_text(const std::string& file_name, uint64_t max_bytes) {
  auto synthesized = side_files_.find(file_name);
  if (synthesized != side_files_.end()) return synthesized->second;
  if (gguf_) {
    auto why = side_file_errors_.find(file_name);
    if (why != side_file_errors_.end()) return why->second;
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
  const ShardInfo& info = checkpoint_.shards[shard];
  WS_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> mapped, transport_->map(info.file_name, populate));
  if (mapped->size() != info.file_bytes) {  // changed since its header was validated
    return make_error(ErrorKind::Truncated, transport_->describe(info.file_name) + ": file is now " +
                                                std::to_string(mapped->size()) + " bytes, was " +
                                                std::to_string(info.file_bytes) + " when opened");
  }
  return mapped;
}

Status ModelSource::load(LoadExecutor& executor) {
  for (size_t s = 0; s < checkpoint_.shards.size(); ++s) {
    WS_TRY(transport_->stream(checkpoint_.shards[s].file_name, s, executor));
  }
  return Status::ok();
}

}  // namespace ws
