// The options that say how a model is held and where it computes, read in
// one place for every command: --dtype, --bind, --backend, --device,
// --threads, --huge-pages. Errors are InvalidArgument, for usage_error().
#pragma once

#include "api/load_model.h"
#include "cli/args.h"
#include "model/model.h"

namespace ws::cli {

// --dtype (default keep).
Result<WeightDType> weight_dtype_flag(const Args& args);
// --bind copy|mmap: true for mmap (default copy).
Result<bool> map_weights_flag(const Args& args);
// --backend, --device, --threads, --huge-pages (each where the command takes it).
Result<BackendChoice> backend_flags(const Args& args);

}  // namespace ws::cli
