// Session: opening (the shared ModelOpener, answered from JS) and loading
// (the shared load sequence, fed by JS with fetched chunks).
#include "web/src/session.h"

#include <algorithm>

namespace ws::web {

namespace {

// wasm32 addresses 4 GiB; the module, stacks, activations and the KV cache
// need some of it.
constexpr uint64_t kWasmWeightBudget = (4ull << 30) - (256ull << 20);

const std::vector<ByteRequest> kNothingWanted;

}  // namespace

Status Session::open(const std::string& location, const std::string& weights_file) {
  if (model_) return make_error(ErrorKind::InvalidArgument, "the model is open already (prepare was called)");
  location_ = location;
  opener_.emplace(location, weights_file);
  return Status::ok();
}

const std::vector<ByteRequest>& Session::open_wanted() const { return opener_ ? opener_->wanted() : kNothingWanted; }

Status Session::open_answer(const std::string& file, const uint8_t* data, uint64_t size, uint64_t file_bytes,
                            const std::string& where) {
  if (!opener_) return make_error(ErrorKind::InvalidArgument, "nothing is being opened (ws_open first)");
  return opener_->answer(file, data, size, file_bytes, where);
}

Status Session::open_absent(const std::string& file, const std::string& why) {
  if (!opener_) return make_error(ErrorKind::InvalidArgument, "nothing is being opened (ws_open first)");
  return opener_->absent(file, why);
}

const std::string* Session::file(const std::string& name) const {
  auto it = opened_.files.find(name);
  return it == opened_.files.end() ? nullptr : &it->second;
}

Status Session::prepare(const std::string& dtype_text, int threads, size_t max_context) {
  if (model_) return make_error(ErrorKind::InvalidArgument, "the session is already prepared");
  if (!opener_) return make_error(ErrorKind::InvalidArgument, "no model was opened (ws_open first)");
  WS_ASSIGN_OR_RETURN(WeightDType dtype, parse_weight_dtype(dtype_text));
  WS_ASSIGN_OR_RETURN(opened_, opener_->take());
  opener_.reset();
  WS_ASSIGN_OR_RETURN(ModelSettings settings, read_model_settings(opened_, location_));
  settings_ = std::move(settings);

  BackendOptions options;
  options.threads = std::max(1, std::min(threads, kMaxThreads));
  WS_ASSIGN_OR_RETURN(backend_, make_portable_backend(options));
  // Admission refuses what cannot fit wasm32 before allocating (weights in
  // the chosen dtype, KV cache, activations, staging), naming the dtypes that would.
  ModelLoadOptions sequence;
  sequence.budget_bytes = kWasmWeightBudget;
  sequence.budget_source = "a wasm32 module's 4 GiB address space less 256 MiB for the module";
  sequence.context = max_context;
  Result<std::unique_ptr<Model>> model =
      build_admitted_model(settings_->config, *backend_, dtype, opened_.checkpoint, sequence);
  if (!model) {
    if (model.error().kind == ErrorKind::OutOfBudget) {
      return make_error(ErrorKind::OutOfBudget, model.error().message + " (the wasm heap is limited to 4 GiB)");
    }
    return model.error();
  }
  model_ = std::move(*model);
  max_context_ = max_context;
  // Windows convert on this thread: the pthreads build's pool is the backend's.
  WS_ASSIGN_OR_RETURN(load_, ModelLoad::start(*model_, opened_.checkpoint, *backend_, /*conversion_threads=*/1));
  return Status::ok();
}

Status Session::finish_load() {
  if (!load_ || !load_->executor()) return make_error(ErrorKind::InvalidArgument, "nothing is being loaded");
  return load_->finish();
}

}  // namespace ws::web
