// The HTTP options of every command that opens a model, declared once:
// --header, --ca-bundle, --http-deadline-s, and HF_TOKEN from the environment.
#pragma once

#include <set>
#include <string>

#include "cli/args.h"
#include "source/http_options.h"

namespace ws::cli {

// `value_options` plus the HTTP ones, for parse_args.
std::set<std::string> with_http_options(std::set<std::string> value_options);

// Usage text for the HTTP options (one place, shown by every command).
extern const char* const kHttpUsage;

// The transport options the flags give (HF_TOKEN is added by ModelSource::open,
// for the Hub's hosts only). InvalidArgument for a bad value.
Result<HttpTransportOptions> http_options(const Args& args);

}  // namespace ws::cli
