// CudaUploader: pinned staging ring, copies on a dedicated stream, float
// conversion kernels. See cuda_upload.h.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>

#include "cuda/cuda_upload.h"
#include "load/float_bits.h"

namespace ws {

namespace {

Error cuda_error(cudaError_t status, const std::string& what) {
  return Error{ErrorKind::Device, what + ": " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")"};
}

bool is_float(DType d) { return d == DType::F32 || d == DType::F16 || d == DType::BF16; }

// One element: widen the source to f32, narrow to the target with the host
// converter's own bit operations (load/float_bits.h), so results match it.
__device__ float load_as_float(DType d, const uint8_t* in, uint64_t i) {
  if (d == DType::F32) return reinterpret_cast<const float*>(in)[i];
  const uint16_t h = reinterpret_cast<const uint16_t*>(in)[i];
  return d == DType::F16 ? fp::half_to_float(h) : fp::bfloat_to_float(h);
}

__device__ void store_float(DType d, uint8_t* out, uint64_t i, float f) {
  if (d == DType::F32) {
    reinterpret_cast<float*>(out)[i] = f;
  } else {
    reinterpret_cast<uint16_t*>(out)[i] = d == DType::F16 ? fp::float_to_half(f) : fp::float_to_bfloat(f);
  }
}

__global__ void convert_kernel(DType from, const uint8_t* in, DType to, uint8_t* out, uint64_t count) {
  const uint64_t stride = static_cast<uint64_t>(gridDim.x) * blockDim.x;
  for (uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    store_float(to, out, i, load_as_float(from, in, i));
  }
}

// Buffers are at least this big, so one ggml super-block (256 elements) and
// its f32 expansion always fit whatever the plan's window size.
constexpr uint64_t kMinBufferBytes = 64 << 10;

}  // namespace

int cuda_device_count(std::string* why_none) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (why_none) *why_none = cudaGetErrorString(status);
    cudaGetLastError();  // clear the sticky error for later calls
    return 0;
  }
  if (count == 0 && why_none) *why_none = "no CUDA device";
  return count;
}

// ---- CudaMemory ----

Result<CudaMemory> CudaMemory::allocate(int device, uint64_t bytes) {
  if (cudaError_t s = cudaSetDevice(device); s != cudaSuccess) return cuda_error(s, "cudaSetDevice");
  CudaMemory memory;
  if (cudaError_t s = cudaMalloc(&memory.data_, std::max<uint64_t>(bytes, 1)); s != cudaSuccess) {
    cudaGetLastError();
    Error e = cuda_error(s, "cudaMalloc of " + std::to_string(bytes) + " bytes");
    e.kind = ErrorKind::OutOfBudget;
    return e;
  }
  memory.bytes_ = bytes;
  return std::move(memory);  // explicit: nvcc 13.0's front end does not move into Result here
}

CudaMemory::CudaMemory(CudaMemory&& other) noexcept : data_(other.data_), bytes_(other.bytes_) {
  other.data_ = nullptr;
  other.bytes_ = 0;
}

CudaMemory& CudaMemory::operator=(CudaMemory&& other) noexcept {
  std::swap(data_, other.data_);
  std::swap(bytes_, other.bytes_);
  return *this;
}

CudaMemory::~CudaMemory() {
  if (data_) cudaFree(data_);
}

Result<std::vector<uint8_t>> CudaMemory::download() const {
  std::vector<uint8_t> host(bytes_);
  if (bytes_ == 0) return host;
  if (cudaError_t s = cudaMemcpy(host.data(), data_, bytes_, cudaMemcpyDeviceToHost); s != cudaSuccess) {
    return cuda_error(s, "cudaMemcpy device to host");
  }
  return host;
}

// ---- CudaUploader ----

struct CudaUploader::Impl {
  int device = 0;
  uint64_t buffer_bytes = 0;
  cudaStream_t stream = nullptr;
  // The ring the executor stages windows in; events[i] marks the last copy
  // out of buffers[i].
  std::vector<uint8_t*> buffers;
  std::vector<cudaEvent_t> events;
  size_t next = 0;
  // Two more pinned buffers for windows dequantised on the host.
  uint8_t* dequant[2] = {nullptr, nullptr};
  cudaEvent_t dequant_events[2] = {nullptr, nullptr};
  size_t next_dequant = 0;
  // Device copy of a window that a kernel converts into the tensor. One is
  // enough: the stream orders each copy after the previous kernel.
  void* scratch = nullptr;
  Status sticky;  // the first asynchronous error
  CudaUploadStats stats;

  // Which ring buffer `p` lies in, or -1 for memory the caller owns.
  int ring_index(const uint8_t* p) const {
    for (size_t i = 0; i < buffers.size(); ++i) {
      if (p >= buffers[i] && p < buffers[i] + buffer_bytes) return static_cast<int>(i);
    }
    return -1;
  }
  Status check(cudaError_t status, const char* what) {
    if (status != cudaSuccess && sticky.is_ok()) (void)(sticky = cuda_error(status, what));
    return sticky;
  }
  Status wait(cudaEvent_t event) {
    if (cudaEventQuery(event) == cudaSuccess) return Status::ok();
    ++stats.waits;
    return check(cudaEventSynchronize(event), "waiting for a host-to-device copy");
  }
};

CudaUploader::CudaUploader() : impl_(std::make_unique<Impl>()) {}

CudaUploader::~CudaUploader() {
  Impl& m = *impl_;
  if (m.stream) cudaStreamSynchronize(m.stream);
  for (uint8_t* b : m.buffers) cudaFreeHost(b);
  for (cudaEvent_t e : m.events) cudaEventDestroy(e);
  for (int i = 0; i < 2; ++i) {
    if (m.dequant[i]) cudaFreeHost(m.dequant[i]);
    if (m.dequant_events[i]) cudaEventDestroy(m.dequant_events[i]);
  }
  if (m.scratch) cudaFree(m.scratch);
  if (m.stream) cudaStreamDestroy(m.stream);
}

Result<std::unique_ptr<CudaUploader>> CudaUploader::create(int device, uint64_t window_bytes, int buffers) {
  if (buffers < 2) return make_error(ErrorKind::InvalidArgument, "the upload ring needs at least 2 buffers");
  std::string why;
  const int devices = cuda_device_count(&why);
  if (devices == 0) return make_error(ErrorKind::Device, "no CUDA device: " + why);
  if (device < 0 || device >= devices) {
    return make_error(ErrorKind::InvalidArgument,
                      "cuda:" + std::to_string(device) + " does not exist (" + std::to_string(devices) + " device(s))");
  }
  std::unique_ptr<CudaUploader> uploader(new CudaUploader());
  Impl& m = *uploader->impl_;
  m.device = device;
  m.buffer_bytes = std::max(window_bytes, kMinBufferBytes);
  if (cudaError_t s = cudaSetDevice(device); s != cudaSuccess) return cuda_error(s, "cudaSetDevice");
  if (cudaError_t s = cudaStreamCreateWithFlags(&m.stream, cudaStreamNonBlocking); s != cudaSuccess) {
    return cuda_error(s, "cudaStreamCreate");
  }
  auto pinned = [&](uint8_t** out, cudaEvent_t* event) -> Status {
    if (cudaError_t s = cudaHostAlloc(reinterpret_cast<void**>(out), m.buffer_bytes, cudaHostAllocDefault);
        s != cudaSuccess) {
      cudaGetLastError();
      Error e = cuda_error(s, "cudaHostAlloc of " + std::to_string(m.buffer_bytes) + " pinned bytes");
      e.kind = ErrorKind::OutOfBudget;
      return e;
    }
    m.stats.pinned_bytes += m.buffer_bytes;
    if (cudaError_t s = cudaEventCreateWithFlags(event, cudaEventDisableTiming); s != cudaSuccess) {
      return cuda_error(s, "cudaEventCreate");
    }
    return Status::ok();
  };
  m.buffers.assign(static_cast<size_t>(buffers), nullptr);
  m.events.assign(static_cast<size_t>(buffers), nullptr);
  for (int i = 0; i < buffers; ++i) WS_TRY(pinned(&m.buffers[i], &m.events[i]));
  for (int i = 0; i < 2; ++i) WS_TRY(pinned(&m.dequant[i], &m.dequant_events[i]));
  if (cudaError_t s = cudaMalloc(&m.scratch, m.buffer_bytes); s != cudaSuccess) {
    cudaGetLastError();
    Error e = cuda_error(s, "cudaMalloc of the conversion scratch");
    e.kind = ErrorKind::OutOfBudget;
    return e;
  }
  m.stats.device_scratch_bytes = m.buffer_bytes;
  return std::move(uploader);
}

uint8_t* CudaUploader::acquire(uint64_t bytes) {
  Impl& m = *impl_;
  if (bytes > m.buffer_bytes) return nullptr;
  const size_t i = m.next;
  m.next = (m.next + 1) % m.buffers.size();
  // An error here resurfaces from the next upload(); the buffer is still ours.
  (void)m.wait(m.events[i]);
  return m.buffers[i];
}

Status CudaUploader::upload(void* device_base, DType target, uint64_t first_element, DType source,
                            const uint8_t* src, uint64_t count) {
  Impl& m = *impl_;
  WS_TRY(m.sticky);
  if (!can_convert(source, target)) {
    return make_error(ErrorKind::Unsupported, std::string("upload of ") + dtype_name(source) + " as " +
                                                  dtype_name(target));
  }
  if (count == 0) return Status::ok();
  uint8_t* dst = static_cast<uint8_t*>(device_base) + dtype_storage_bytes(target, first_element);
  const uint64_t src_bytes = dtype_storage_bytes(source, count);
  const int ring = m.ring_index(src);

  if (source == target) {
    WS_TRY(m.check(cudaMemcpyAsync(dst, src, src_bytes, cudaMemcpyHostToDevice, m.stream), "cudaMemcpyAsync"));
    m.stats.bytes_copied += src_bytes;
  } else if (is_float(source) && is_float(target) && src_bytes <= m.buffer_bytes) {
    WS_TRY(m.check(cudaMemcpyAsync(m.scratch, src, src_bytes, cudaMemcpyHostToDevice, m.stream), "cudaMemcpyAsync"));
    const unsigned threads = 256;
    const unsigned blocks = static_cast<unsigned>(std::min<uint64_t>((count + threads - 1) / threads, 4096));
    convert_kernel<<<blocks, threads, 0, m.stream>>>(source, static_cast<const uint8_t*>(m.scratch), target, dst,
                                                      count);
    WS_TRY(m.check(cudaGetLastError(), "conversion kernel launch"));
    m.stats.bytes_copied += src_bytes;
    ++m.stats.gpu_conversions;
  } else {
    // ggml blocks widened, floats quantized into blocks (or a window larger
    // than the scratch): converted on the host a chunk at a time into the two
    // dequant buffers, each copied as soon as it is full while the other one
    // fills. Chunks are whole multiples of 256 elements: whole blocks of every format.
    const uint64_t block = dtype_block_elements(source);
    const uint64_t chunk = std::max<uint64_t>(m.buffer_bytes / dtype_size(target) / 256 * 256, block);
    for (uint64_t done = 0; done < count; done += chunk) {
      const uint64_t n = std::min(chunk, count - done);
      const size_t d = m.next_dequant;
      m.next_dequant ^= 1;
      WS_TRY(m.wait(m.dequant_events[d]));
      convert_elements(source, src + dtype_storage_bytes(source, done), target, m.dequant[d], n);
      const uint64_t out_bytes = dtype_storage_bytes(target, n);
      WS_TRY(m.check(cudaMemcpyAsync(dst + dtype_storage_bytes(target, done), m.dequant[d], out_bytes,
                                     cudaMemcpyHostToDevice, m.stream),
                     "cudaMemcpyAsync"));
      WS_TRY(m.check(cudaEventRecord(m.dequant_events[d], m.stream), "cudaEventRecord"));
      m.stats.bytes_copied += out_bytes;
    }
    ++m.stats.host_conversions;
  }
  if (ring >= 0) WS_TRY(m.check(cudaEventRecord(m.events[ring], m.stream), "cudaEventRecord"));
  return Status::ok();
}

Status CudaUploader::finish() {
  Impl& m = *impl_;
  return m.check(cudaStreamSynchronize(m.stream), "finishing the host-to-device copies");
}

int CudaUploader::device() const { return impl_->device; }
const CudaUploadStats& CudaUploader::stats() const { return impl_->stats; }

}  // namespace ws
