// backend/buffer.h: the memory types the backend and the loader share.
//
// Backend-neutral: nothing here computes or converts. The loader (load/) fills
// Destinations and stages through a StagingProvider; a backend hands out the
// Destinations its weights live in (WeightStorage) and says where its ops read
// them. Layering (DESIGN.md): load/ may include this header, backend/ never
// includes load/.
#pragma once

#include <cstdint>

#include "core/result.h"
#include "format/format.h"

namespace ws {

class Backend;

// Where one tensor's final bytes live. The backend decides: host memory,
// a GPU allocation, the wasm heap.
class Destination {
 public:
  virtual ~Destination() = default;
  // The tensor's final bytes in host memory, or nullptr when they are not
  // host-addressable (then write_source is called instead).
  virtual uint8_t* host_data() = 0;
  // Non-host destinations receive source elements and convert them themselves.
  // The default (host destinations never receive them): Unsupported.
  virtual Status write_source(uint64_t first_element, DType source_dtype, const uint8_t* bytes,
                              uint64_t count);
  // True when write_source may be called from any thread (one call at a
  // time), so parallel readers can feed it (LoadExecutor::fill_parallel).
  // False by default: a GPU's current device is per-thread state.
  virtual bool writes_from_any_thread() const { return false; }
};

// A weight's bytes: the loader's Destination for it, and the one place the
// backend's ops find them (the only source of truth for where they are).
// compute_address() may be a device address, so only Backend implementations
// (through Backend::weight_bytes) ask for it; host code writes the bytes
// through host_data() while loading, or not at all.
class WeightStorage : public Destination {
 public:
  virtual uint64_t bytes() const = 0;

 private:
  friend class Backend;
  // Where the backend that made this storage computes on the bytes (host or
  // device memory; read-only for the ops but for the backend's own
  // prepare_linear_weight, which writes through host_data()).
  virtual const void* compute_address() const = 0;
};

// A 64-byte aligned host buffer that owns its memory. The memory is allocated
// but not touched, so pages are only committed as the source writes them.
class HostBuffer final : public WeightStorage {
 public:
  HostBuffer() = default;
  // Errors: OutOfBudget when the allocation fails or `bytes` overflows size_t.
  static Result<HostBuffer> allocate(uint64_t bytes);
  HostBuffer(HostBuffer&& other) noexcept;
  HostBuffer& operator=(HostBuffer&& other) noexcept;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  ~HostBuffer() override;

  uint8_t* host_data() override { return data_; }
  const uint8_t* data() const { return data_; }
  uint8_t* data() { return data_; }
  uint64_t bytes() const override { return bytes_; }

 private:
  const void* compute_address() const override { return data_; }
  uint8_t* data_ = nullptr;
  uint64_t bytes_ = 0;
};

// Where the executor stages windows that are not written in place. Without
// one it uses a single host buffer; a GPU backend hands out pinned buffers in
// turn, so the source fills the next while the last one is still copying.
class StagingProvider {
 public:
  virtual ~StagingProvider() = default;
  // A buffer of at least `bytes`, valid until the destination's write_source
  // for the window staged in it has returned. nullptr when `bytes` is more
  // than the provider holds (the executor then uses its own buffer). Errors
  // (a failed wait) are reported by the destinations' write_source.
  virtual uint8_t* acquire(uint64_t bytes) = 0;
};

}  // namespace ws
