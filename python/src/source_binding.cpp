// weightstream._native.Source: a ModelSource (file, directory, sharded index,
// http(s) URL, GGUF) opened from Python, and THE load (plan_load + executor +
// ModelSource::load) into buffers Python's torch allocated.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "errors.h"
#include "staged.h"
#include "load/load.h"
#include "source/model_source.h"

namespace py = pybind11;

namespace ws::python {

namespace {

// A tensor's storage that torch allocated (contiguous, on the CPU): the
// loader writes into it in place. Owns nothing; Python keeps the tensor alive
// for the whole load.
class TensorStorage final : public Destination {
 public:
  explicit TensorStorage(uint8_t* data) : data_(data) {}
  uint8_t* host_data() override { return data_; }

 private:
  uint8_t* data_;
};

Result<DType> dtype_from_name(const std::string& name) {
  for (int d = 0; d <= static_cast<int>(DType::Q5_K); ++d) {
    if (name == dtype_name(static_cast<DType>(d))) return static_cast<DType>(d);
  }
  return make_error(ErrorKind::InvalidArgument, "unknown dtype \"" + name + "\"");
}

// What one load writes: a tensor name, the dtype its buffer holds, the shape
// and the buffer (address and size as torch reported them).
using Target = std::tuple<std::string, std::string, std::vector<uint64_t>, uintptr_t, uint64_t>;

// The progress callback runs on the loading thread with the GIL released: at
// most every kCallbackInterval (and at the end) it takes the GIL, lets Python
// handle signals (Ctrl-C) and calls the user's callback. A Python exception
// from either cancels the executor; it is re-raised after the load. 50 ms:
// Ctrl-C feels immediate, and the GIL is taken 20 times a second at most.
constexpr auto kCallbackInterval = std::chrono::milliseconds(50);

class Source {
 public:
  static std::unique_ptr<Source> open(const std::string& location) {
    Result<std::unique_ptr<ModelSource>> opened = [&] {
      py::gil_scoped_release release;
      return ModelSource::open(location);
    }();
    if (!opened) raise(opened.error());
    return std::unique_ptr<Source>(new Source(std::move(opened).value()));
  }

  std::string location() const { return source_->shown_location(); }

  // (name, dtype name, shape, storage bytes, shard, first byte in the shard
  // file, stored in row order) in file order. The last is false for GGUF
  // q/k weights whose heads llama.cpp stores interleaved (never a plain view).
  py::list tensors() const {
    py::list out;
    for (const TensorInfo& t : source_->checkpoint().tensors) {
      out.append(py::make_tuple(t.name, dtype_name(t.dtype), t.shape, t.bytes(), t.shard, t.begin,
                                t.interleaved_heads == 0));
    }
    return out;
  }
  std::vector<std::map<std::string, std::string>> shard_metadata() const {
    std::vector<std::map<std::string, std::string>> out;
    for (const ShardInfo& s : source_->checkpoint().shards) out.push_back(s.metadata);
    return out;
  }
  std::map<std::string, std::string> index_metadata() const { return source_->checkpoint().index_metadata; }
  std::vector<std::string> shard_files() const {
    std::vector<std::string> out;
    for (const ShardInfo& s : source_->checkpoint().shards) out.push_back(s.file_name);
    return out;
  }
  // A side file next to the weights (config.json, ...); for a GGUF file the
  // ones made from its metadata.
  std::string read_text(const std::string& file) {
    Result<std::string> text = [&] {
      py::gil_scoped_release release;
      return source_->read_text(file);
    }();
    if (!text) raise(text.error());
    return std::move(text).value();
  }
  bool can_convert(const std::string& from, const std::string& to) const {
    Result<DType> f = dtype_from_name(from), t = dtype_from_name(to);
    return f && t && ws::can_convert(*f, *t);
  }

  // With `stager` (a weightstream._staging.Stager over the targets' tensors,
  // in the same order), every tensor is filled through it: the staged path.
  // The addresses are then not written to.
  void load(const std::vector<Target>& targets, uint64_t staging_bytes, py::object on_progress, py::object stager) {
    const bool staged = !stager.is_none();
    std::vector<ManifestEntry> manifest;
    std::vector<std::unique_ptr<Destination>> storage;
    std::unique_ptr<Stager> staging;
    manifest.reserve(targets.size());
    storage.reserve(targets.size());
    for (const auto& [name, dtype_text, shape, address, bytes] : targets) {
      Result<DType> dtype = dtype_from_name(dtype_text);
      if (!dtype) raise(dtype.error());
      uint64_t numel = 1;
      for (uint64_t d : shape) {
        if (d != 0 && numel > UINT64_MAX / d) raise(make_error(ErrorKind::InvalidArgument, name + ": shape overflows"));
        numel *= d;
      }
      // The loader writes dtype_storage_bytes(dtype, numel) bytes: the buffer
      // must hold exactly that, or a bad call would write out of bounds.
      if (numel % dtype_block_elements(*dtype) != 0 || dtype_storage_bytes(*dtype, numel) != bytes ||
          (bytes != 0 && address == 0)) {
        raise(make_error(ErrorKind::InvalidArgument, name + ": buffer of " + std::to_string(bytes) +
                                                         " bytes does not hold its shape in " + dtype_text));
      }
      if (staged) {
        storage.push_back(std::make_unique<StagedTensor>(nullptr, storage.size(), *dtype));
      } else {
        storage.push_back(std::make_unique<TensorStorage>(reinterpret_cast<uint8_t*>(address)));
      }
      manifest.push_back({name, *dtype, shape, storage.back().get()});
    }

    std::optional<py::error_already_set> python_error;
    Status status;
    {
      py::gil_scoped_release release;
      PlanOptions options;
      options.staging_bytes = staging_bytes;
      options.allow_unused_tensors = true;
      int slot_count = 1;
      if (staged) {
        // Windows are cut to one slot; the slots together hold staging_bytes.
        py::gil_scoped_acquire acquire;
        slot_count = stager.attr("slot_count").cast<int>();
        options.staging_bytes = std::max<uint64_t>(64, staging_bytes / static_cast<uint64_t>(std::max(1, slot_count)));
      }
      Result<LoadPlan> plan = plan_load(source_->checkpoint(), manifest, options);
      if (plan && staged) {
        const uint64_t slot_bytes = slot_bytes_for(*plan, manifest, options.staging_bytes);
        py::gil_scoped_acquire acquire;
        std::vector<uint8_t*> slots;
        for (uintptr_t address : stager.attr("configure")(slot_bytes).cast<std::vector<uintptr_t>>()) {
          slots.push_back(reinterpret_cast<uint8_t*>(address));
        }
        staging = std::make_unique<Stager>(stager, std::move(slots), slot_bytes);
        for (auto& d : storage) static_cast<StagedTensor&>(*d).set_stager(staging.get());
      }
      if (!plan) {
        status = plan.status();
      } else {
        Result<std::unique_ptr<LoadExecutor>> executor = LoadExecutor::create(*plan, manifest);
        if (!executor) {
          status = executor.status();
        } else {
          LoadExecutor& ex = **executor;
          if (staging) ex.set_staging(staging.get());
          auto last_call = std::chrono::steady_clock::now();
          ex.set_progress([&](const LoadProgress& p) {
            const auto now = std::chrono::steady_clock::now();
            if (p.bytes_done != p.bytes_total && now - last_call < kCallbackInterval) return;
            last_call = now;
            py::gil_scoped_acquire acquire;
            try {
              if (PyErr_CheckSignals() != 0) throw py::error_already_set();
              if (!on_progress.is_none()) on_progress(p.bytes_done, p.bytes_total);
            } catch (py::error_already_set& e) {
              if (!python_error) python_error.emplace(std::move(e));
              ex.cancel();
            }
          });
          status = source_->load(ex);
          if (status && !python_error && ex.bytes_done() != ex.bytes_total()) {
            status = make_error(ErrorKind::Truncated, "the source ended after " + std::to_string(ex.bytes_done()) +
                                                          " of " + std::to_string(ex.bytes_total()) + " bytes");
          }
          ex.set_progress({});  // the lambda refers to locals of this scope
        }
      }
    }
    if (python_error) throw std::move(*python_error);
    if (staging && staging->python_error()) throw std::move(*staging->python_error());
    raise_if_error(status);
  }

 private:
  explicit Source(std::unique_ptr<ModelSource> source) : source_(std::move(source)) {}
  std::unique_ptr<ModelSource> source_;
};

}  // namespace

void bind_source(py::module_& m) {
  py::class_<Source>(m, "Source")
      .def_static("open", &Source::open, py::arg("location"))
      .def_property_readonly("location", &Source::location)
      .def("tensors", &Source::tensors)
      .def("shard_metadata", &Source::shard_metadata)
      .def("index_metadata", &Source::index_metadata)
      .def("shard_files", &Source::shard_files)
      .def("read_text", &Source::read_text, py::arg("file"))
      .def("can_convert", &Source::can_convert)
      .def("load", &Source::load, py::arg("targets"), py::arg("staging_bytes"), py::arg("on_progress") = py::none(),
           py::arg("stager") = py::none());
}

}  // namespace ws::python
