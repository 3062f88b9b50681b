#include "staged.h"

#include <algorithm>
#include <numeric>
#include <string>

namespace py = pybind11;

namespace ws::python {

namespace {

bool is_float(DType d) { return d == DType::F32 || d == DType::F16 || d == DType::BF16; }

// Elements that are whole blocks of both dtypes (the host conversion's unit).
uint64_t unit_elements(DType source, DType dest) {
  return std::lcm(dtype_block_elements(source), dtype_block_elements(dest));
}

}  // namespace

bool converted_by_torch(DType source, DType dest) { return source != dest && is_float(source) && is_float(dest); }

uint64_t slot_bytes_for(const LoadPlan& plan, const std::vector<ManifestEntry>& manifest, uint64_t window_bytes) {
  uint64_t bytes = window_bytes;
  for (const ShardPlan& shard : plan.shards) {
    for (const Window& w : shard.windows) {
      if (w.entry == kSkip) continue;
      bytes = std::max(bytes, w.file_end - w.file_begin);
      const DType source = plan.source_dtypes[w.entry], dest = manifest[w.entry].dtype;
      if (source != dest && !converted_by_torch(source, dest)) {
        bytes = std::max(bytes, dtype_storage_bytes(dest, unit_elements(source, dest)));
      }
    }
  }
  return bytes;
}

Stager::Stager(py::object stager, std::vector<uint8_t*> slots, uint64_t slot_bytes)
    : stager_(std::move(stager)), slots_(std::move(slots)), slot_bytes_(slot_bytes) {}

Stager::~Stager() {
  py::gil_scoped_acquire acquire;
  stager_ = py::object();
}

int Stager::slot_of(const uint8_t* p) const {
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i] == p) return static_cast<int>(i);
  }
  return -1;
}

void Stager::capture(const std::exception& e) {
  PyErr_SetString(PyExc_TypeError, e.what());
  python_error_.emplace();
}

Status Stager::python_failed() {
  return make_error(ErrorKind::Io, "the staged copy failed in Python: " +
                                       std::string(python_error_ ? python_error_->what() : "unknown error"));
}

uint8_t* Stager::acquire(uint64_t bytes) {
  if (bytes > slot_bytes_) return nullptr;  // slot_bytes_for sized the slots for every window: never
  py::gil_scoped_acquire acquire;
  if (python_error_) return nullptr;
  try {
    const size_t slot = stager_.attr("take")(-1).cast<size_t>();
    if (slot < slots_.size()) return slots_[slot];
  } catch (py::error_already_set& e) {
    python_error_.emplace(std::move(e));
  } catch (const py::cast_error& e) {
    capture(e);
  }
  return nullptr;
}

Status Stager::write(size_t target, DType dest, uint64_t first_element, DType source, const uint8_t* bytes,
                     uint64_t count) {
  py::gil_scoped_acquire acquire;
  if (python_error_) return python_failed();
  const int slot = slot_of(bytes);
  if (slot < 0) {
    return make_error(ErrorKind::InvalidArgument, "a window was staged outside the Stager's slots");
  }
  try {
    if (source == dest) {
      stager_.attr("copy_bytes")(slot, dtype_storage_bytes(source, count), target,
                                 dtype_storage_bytes(dest, first_element));
    } else if (converted_by_torch(source, dest)) {
      stager_.attr("copy_elements")(slot, dtype_storage_bytes(source, count), target, first_element,
                                    dtype_name(source));
    } else {
      // Converted here, piece by piece, into other slots (each a whole number
      // of both dtypes' blocks that fits one slot), then copied as bytes.
      const uint64_t unit = unit_elements(source, dest);
      const uint64_t per_piece = std::max<uint64_t>(1, slot_bytes_ / dtype_storage_bytes(dest, unit)) * unit;
      for (uint64_t done = 0; done < count; done += per_piece) {
        const uint64_t n = std::min(per_piece, count - done);
        const size_t out = stager_.attr("take")(slot).cast<size_t>();
        if (out >= slots_.size()) return make_error(ErrorKind::InvalidArgument, "the Stager gave no slot");
        {
          py::gil_scoped_release release;
          convert_elements(source, bytes + dtype_storage_bytes(source, done), dest, slots_[out], n);
        }
        stager_.attr("copy_bytes")(out, dtype_storage_bytes(dest, n), target,
                                   dtype_storage_bytes(dest, first_element + done));
      }
      stager_.attr("release")(slot);  // the window itself was read, not copied
    }
  } catch (py::error_already_set& e) {
    python_error_.emplace(std::move(e));
    return python_failed();
  } catch (const py::cast_error& e) {
    capture(e);
    return python_failed();
  }
  return Status::ok();
}

}  // namespace ws::python
