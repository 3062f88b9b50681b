#include "cli/http_flags.h"

#include <strings.h>

#include <cctype>
#include <cstdlib>

namespace ws::cli {

namespace {

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

}  // namespace

const char* const kHttpUsage =
    "  for an http(s) <model>:\n"
    "    --header 'Name: value'   an extra request header, e.g. 'Authorization: Bearer hf_...'; an\n"
    "                             Authorization header is never sent to another host after a redirect\n"
    "    --ca-bundle FILE         PEM CAs to trust (default: $CURL_CA_BUNDLE, $SSL_CERT_FILE, the system's)\n"
    "    --http-deadline-s N      give up (Timeout) when the whole load takes longer than N s (default 0: never)\n"
    "    HF_TOKEN                 sent as a bearer token to huggingface.co (or $HF_ENDPOINT's host) only\n";

std::set<std::string> with_http_options(std::set<std::string> value_options) {
  value_options.insert({"header", "ca-bundle", "http-deadline-s"});
  return value_options;
}

// Headers and the CA bundle are checked by ModelSource::open (check_http_options).
Result<HttpTransportOptions> http_options(const Args& args, const std::string& location) {
  HttpTransportOptions options;
  bool has_authorization = false;
  if (auto header = args.get("header")) {
    options.headers.push_back(*header);
    has_authorization = strncasecmp(header->c_str(), "authorization:", 14) == 0;
  }
  if (auto bundle = args.get("ca-bundle")) {
    if (bundle->empty()) return make_error(ErrorKind::InvalidArgument, "--ca-bundle needs a file name");
    options.ca_bundle = *bundle;
  }
  WS_ASSIGN_OR_RETURN(double deadline_s, args.get_number("http-deadline-s", 0));
  if (!(deadline_s >= 0 && deadline_s <= 1e7) || deadline_s != static_cast<double>(static_cast<long>(deadline_s))) {
    return make_error(ErrorKind::InvalidArgument, "--http-deadline-s must be a whole number of seconds from 0 to 10000000");
  }
  options.load_deadline_s = static_cast<long>(deadline_s);
  const char* token = std::getenv("HF_TOKEN");
  if (token && *token && !has_authorization && is_hugging_face_host(url_host(location))) options.bearer_token = token;
  return options;
}

}  // namespace ws::cli
