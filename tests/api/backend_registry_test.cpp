// native/api's backend registry and checkpoint bind: the backend and device
// spellings (parsed only there), what each build offers, and bind_checkpoint
// (the one load sequence `weightstream load` runs) against the fixture's
// bytes read straight from the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "api/bind_checkpoint.h"
#include "api/load_model.h"

namespace ws {
namespace {

std::string fixture(const std::string& name) { return std::string(WS_FIXTURES_DIR) + "/models/" + name; }

bool has_torch() {
  const std::vector<std::string> names = backend_names();
  return std::find(names.begin(), names.end(), "torch") != names.end();
}

TEST(BackendRegistry, ParsesBackendAndDeviceSpellings) {
  EXPECT_EQ(*parse_backend_kind("portable"), BackendKind::Portable);
  EXPECT_EQ(*parse_backend_kind("torch"), BackendKind::Torch);
  EXPECT_EQ(parse_backend_kind("cuda").error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(parse_compute_device("cpu")->kind, DeviceKind::Cpu);
  EXPECT_EQ(parse_compute_device("cuda")->kind, DeviceKind::Cuda);
  EXPECT_EQ(parse_compute_device("cuda")->index, 0);
  EXPECT_EQ(parse_compute_device("cuda:3")->index, 3);
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:12345", ""}) {
    EXPECT_EQ(parse_compute_device(bad).error().kind, ErrorKind::InvalidArgument) << bad;
  }
  for (const char* name : {"portable", "torch"}) EXPECT_STREQ(backend_kind_name(*parse_backend_kind(name)), name);
  for (const char* name : {"cpu", "cuda:0", "cuda:7"}) EXPECT_EQ(compute_device_name(*parse_compute_device(name)), name);
}

TEST(BackendRegistry, ADeviceNeedsTheTorchBackend) {
  BackendChoice choice;
  choice.device = ComputeDevice{DeviceKind::Cuda, 0};
  EXPECT_EQ(make_backend(choice).error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(make_tensor_store(choice).error().kind, ErrorKind::InvalidArgument);
}

TEST(BackendRegistry, TorchIsThereOnlyInTorchBuilds) {
  BackendChoice torch;
  torch.kind = BackendKind::Torch;
  if (has_torch()) {
    EXPECT_TRUE(make_backend(torch).is_ok());
    EXPECT_TRUE(make_tensor_store(torch).is_ok());
  } else {
    EXPECT_EQ(make_backend(torch).error().kind, ErrorKind::Unsupported);
    EXPECT_EQ(make_tensor_store(torch).error().kind, ErrorKind::Unsupported);
  }
}

TEST(BindCheckpoint, OptionsThatExcludeEachOther) {
  CheckpointBindOptions blocks;
  blocks.dtype = WeightDType::Q4_0;
  EXPECT_TRUE(check_bind_options(blocks, BackendKind::Portable).is_ok());
  EXPECT_EQ(check_bind_options(blocks, BackendKind::Torch).error().kind, ErrorKind::InvalidArgument);
  CheckpointBindOptions mapped;
  mapped.map_weights = true;
  EXPECT_TRUE(check_bind_options(mapped, BackendKind::Portable).is_ok());
  EXPECT_EQ(check_bind_options(mapped, BackendKind::Torch).error().kind, ErrorKind::InvalidArgument);
  CheckpointBindOptions rank;
  rank.rank = 2;
  rank.world_size = 2;
  EXPECT_EQ(check_bind_options(rank, BackendKind::Portable).error().kind, ErrorKind::InvalidArgument);
}

// Kept dtypes: every bound tensor holds exactly its bytes in the file (read
// here with an ifstream, not through the loader), copied or mapped.
TEST(BindCheckpoint, KeptTensorsHoldTheFileBytes) {
  for (const bool map : {false, true}) {
    Result<std::unique_ptr<ModelSource>> source = ModelSource::open(fixture("gpt2"));
    ASSERT_TRUE(source.is_ok()) << source.error().to_string();
    const Checkpoint& checkpoint = (*source)->checkpoint();
    Result<std::unique_ptr<TensorStore>> store = make_tensor_store(BackendChoice{});
    ASSERT_TRUE(store.is_ok());
    CheckpointBindOptions options;
    options.map_weights = map;
    uint64_t progress_done = 0;
    options.progress = [&](const LoadProgress& p) { progress_done = p.bytes_done; };
    Result<BoundCheckpoint> bound = bind_checkpoint(**source, std::move(*store), options);
    ASSERT_TRUE(bound.is_ok()) << bound.error().to_string();
    ASSERT_EQ(bound->tensors().size(), checkpoint.tensors.size());
    EXPECT_EQ(bound->bound_bytes(), checkpoint.data_bytes());
    EXPECT_EQ(bound->copied_count(), map ? 0u : checkpoint.tensors.size());
    if (!map) {
      EXPECT_EQ(progress_done, checkpoint.data_bytes());
    }
    for (size_t i = 0; i < checkpoint.tensors.size(); ++i) {
      const TensorInfo& t = checkpoint.tensors[i];
      EXPECT_EQ(bound->tensors()[i].mapped, map) << t.name;
      std::ifstream file((*source)->describe(checkpoint.shards[t.shard].file_name), std::ios::binary);
      file.seekg(static_cast<std::streamoff>(t.begin));
      std::string expected(t.bytes(), '\0');
      file.read(&expected[0], static_cast<std::streamsize>(expected.size()));
      std::string got;
      ASSERT_TRUE(bound->visit_bytes(i, [&](const uint8_t* bytes, uint64_t n) {
                         got.assign(reinterpret_cast<const char*>(bytes), n);
                       }).is_ok());
      EXPECT_TRUE(got == expected) << t.name;
    }
  }
}

// A converted dtype: float tensors take it, the bound bytes shrink with it.
TEST(BindCheckpoint, ConvertsFloatTensorsToTheAskedDtype) {
  Result<std::unique_ptr<ModelSource>> source = ModelSource::open(fixture("gpt2"));
  ASSERT_TRUE(source.is_ok());
  CheckpointBindOptions options;
  options.dtype = WeightDType::BF16;
  Result<std::unique_ptr<TensorStore>> store = make_tensor_store(BackendChoice{});
  ASSERT_TRUE(store.is_ok());
  Result<BoundCheckpoint> bound = bind_checkpoint(**source, std::move(*store), options);
  ASSERT_TRUE(bound.is_ok()) << bound.error().to_string();
  for (size_t i = 0; i < bound->tensors().size(); ++i) {
    const TensorInfo& t = (*source)->checkpoint().tensors[i];
    const BoundTensor& b = bound->tensors()[i];
    EXPECT_EQ(b.dtype, t.dtype == DType::F32 ? DType::BF16 : t.dtype) << t.name;
    EXPECT_EQ(b.bytes, dtype_storage_bytes(b.dtype, t.numel())) << t.name;
  }
}

}  // namespace
}  // namespace ws
