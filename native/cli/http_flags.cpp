#include "cli/http_flags.h"

namespace ws::cli {

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
Result<HttpTransportOptions> http_options(const Args& args) {
  HttpTransportOptions options;
  if (auto header = args.get("header")) options.headers.push_back(*header);
  if (auto bundle = args.get("ca-bundle")) {
    if (bundle->empty()) return make_error(ErrorKind::InvalidArgument, "--ca-bundle needs a file name");
    options.ca_bundle = *bundle;
  }
  WS_ASSIGN_OR_RETURN(double deadline_s, args.get_number("http-deadline-s", 0));
  if (!(deadline_s >= 0 && deadline_s <= 1e7) || deadline_s != static_cast<double>(static_cast<long>(deadline_s))) {
    return make_error(ErrorKind::InvalidArgument, "--http-deadline-s must be a whole number of seconds from 0 to 10000000");
  }
  options.load_deadline_s = static_cast<long>(deadline_s);
  return options;
}

}  // namespace ws::cli
