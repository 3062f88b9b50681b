#include "cli/http_flags.h"

namespace ws::cli {

// The header's syntax is checked here (a usage error); the CA bundle's
// readability by ModelSource::open (check_http_options), at run time.
Result<HttpTransportOptions> http_options(const Args& args) {
  HttpTransportOptions options;
  if (auto header = args.get("header")) {
    WS_TRY(check_header_line(*header));
    options.headers.push_back(*header);
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
  return options;
}

}  // namespace ws::cli
