// The staged path: destinations that are torch tensors the loader cannot
// write in place (on a CUDA device, or CPU tensors routed this way for tests).
// The executor stages each window in one of a few pinned slots that a Python
// weightstream._staging.Stager allocated with torch; when a window is complete,
// write_source takes the GIL and has the Stager copy_ the slot into the
// destination slice (non_blocking, one CUDA event per slot, waited before the
// slot is reused). Float conversions (F32/F16/BF16) are done by that copy_, on
// the destination's device; ggml blocks to floats (and any other conversion)
// are converted on the host into another slot first, then copied as bytes.
// Nothing here links CUDA or LibTorch: torch is reached through Python only.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "load/load.h"

namespace ws::python {

class Stager final : public StagingProvider {
 public:
  // `stager`: the Python Stager; `slots`: the addresses of its slots, each
  // `slot_bytes` long (from Stager.configure, called with the GIL held).
  Stager(pybind11::object stager, std::vector<uint8_t*> slots, uint64_t slot_bytes);
  ~Stager() override;

  // Called by the executor (GIL released): the next free slot in turn.
  uint8_t* acquire(uint64_t bytes) override;

  // For a destination (GIL released): sends `count` elements of `source`
  // staged at `bytes` to tensor `target` (held as `dest`), elements
  // first_element.. onward.
  Status write(size_t target, DType dest, uint64_t first_element, DType source, const uint8_t* bytes,
               uint64_t count);

  // The first Python exception raised by the Stager during the load, if any
  // (the load failed with it; the caller re-raises it, GIL held).
  std::optional<pybind11::error_already_set>& python_error() { return python_error_; }

 private:
  // -1 when `p` is not the start of a slot.
  int slot_of(const uint8_t* p) const;
  Status python_failed();
  void capture(const std::exception& e);  // a C++ error (a bad cast) kept as a Python TypeError

  pybind11::object stager_;
  std::vector<uint8_t*> slots_;
  uint64_t slot_bytes_;
  std::optional<pybind11::error_already_set> python_error_;
};

// One tensor behind a Stager (host_data() is nullptr: the executor stages
// every window for it and calls write_source).
class StagedTensor final : public Destination {
 public:
  StagedTensor(Stager* stager, size_t target, DType dtype) : stager_(stager), target_(target), dtype_(dtype) {}
  void set_stager(Stager* stager) { stager_ = stager; }  // before the load
  uint8_t* host_data() override { return nullptr; }
  Status write_source(uint64_t first_element, DType source_dtype, const uint8_t* bytes, uint64_t count) override {
    return stager_->write(target_, dtype_, first_element, source_dtype, bytes, count);
  }

 private:
  Stager* stager_;
  size_t target_;
  DType dtype_;
};

// The slot size a staged load of `plan` needs: `window_bytes` (the plan's
// window budget), or more when one unit (a source block, or the host
// conversion's output for one block) is larger than that.
uint64_t slot_bytes_for(const LoadPlan& plan, const std::vector<ManifestEntry>& manifest, uint64_t window_bytes);

// True when write_source leaves the conversion from `source` to `dest` to
// torch's copy_ (both are F32, F16 or BF16).
bool converted_by_torch(DType source, DType dest);

}  // namespace ws::python
