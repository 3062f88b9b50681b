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

// The transport options for opening `location`. HF_TOKEN becomes a bearer
// token only for a Hugging Face host (huggingface.co, its subdomains, or the
// host of $HF_ENDPOINT), as huggingface_hub does, and only without an
// explicit --header Authorization. InvalidArgument for a bad value.
Result<HttpTransportOptions> http_options(const Args& args, const std::string& location);

}  // namespace ws::cli
