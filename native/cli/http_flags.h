// The HTTP options of every command that opens a model (--header,
// --ca-bundle, --http-deadline-s; declared in cli/options.cpp), read into
// transport options; HF_TOKEN from the environment is added by ModelSource::open.
#pragma once

#include "cli/args.h"
#include "source/http_options.h"

namespace ws::cli {

// The transport options the flags give. InvalidArgument for a value that does
// not parse (a usage error: call it while reading the command line).
Result<HttpTransportOptions> http_options(const Args& args);

}  // namespace ws::cli
