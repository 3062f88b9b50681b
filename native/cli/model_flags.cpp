#include "cli/model_flags.h"

namespace ws::cli {

Result<WeightDType> weight_dtype_flag(const Args& args) {
  const std::string text = args.get("dtype").value_or("keep");
  Result<WeightDType> dtype = parse_weight_dtype(text);
  if (!dtype) {
    return make_error(ErrorKind::InvalidArgument,
                      "--dtype must be one of " + std::string(weight_dtype_names()) + ", got \"" + text + "\"");
  }
  return dtype;
}

Result<bool> map_weights_flag(const Args& args) {
  const std::string bind = args.get("bind").value_or("copy");
  if (bind != "copy" && bind != "mmap") {
    return make_error(ErrorKind::InvalidArgument, "--bind must be copy or mmap, got \"" + bind + "\"");
  }
  return bind == "mmap";
}

Result<BackendChoice> backend_flags(const Args& args) {
  BackendChoice choice;
  if (auto name = args.get("backend")) {
    Result<BackendKind> kind = parse_backend_kind(*name);
    if (!kind) return make_error(ErrorKind::InvalidArgument, "--" + kind.error().message);
    choice.kind = *kind;
  }
  if (auto device = args.get("device")) {
    if (choice.kind != BackendKind::Torch) return make_error(ErrorKind::InvalidArgument, "--device needs --backend torch");
    Result<ComputeDevice> parsed = parse_compute_device(*device);
    if (!parsed) return make_error(ErrorKind::InvalidArgument, "--" + parsed.error().message);
    choice.device = *parsed;
  }
  WS_ASSIGN_OR_RETURN(const double threads, args.get_number("threads", 0));
  if (threads < 0 || threads > 1024 || threads != static_cast<double>(static_cast<int>(threads))) {
    return make_error(ErrorKind::InvalidArgument, "--threads must be a whole number between 0 and 1024");
  }
  choice.options.threads = static_cast<int>(threads);
  choice.options.huge_page_weights = args.has("huge-pages");
  return choice;
}

}  // namespace ws::cli
