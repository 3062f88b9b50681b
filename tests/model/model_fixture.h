// Loads a fixture written by make_model_fixtures.py through the real path:
// ModelSource -> config.json -> build_model -> plan -> executor -> stream.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/model.h"
#include "source/model_source.h"

namespace ws::test {

std::string fixture_dir(const std::string& name);

struct Reference {
  std::vector<int32_t> prompt;
  std::vector<float> logits;
  std::vector<int32_t> greedy;
  std::string dtype;
};
// reference.json (transformers on the checkpoint), or another reference file
// of the fixture (reference_q8_0.json: on its weights quantized by gguf-py).
Reference read_reference(const std::string& name, const std::string& file_name = "reference.json");

struct LoadedModel {
  std::unique_ptr<ModelSource> source;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Model> model;
};
// Fails the current test (and returns an empty model) on any error.
Result<LoadedModel> load_model(const std::string& dir, WeightDType dtype, const BackendOptions& options = {});
// The same path on a backend the caller made (the torch tests pass theirs).
Result<LoadedModel> load_model_on(std::unique_ptr<Backend> backend, const std::string& dir, WeightDType dtype);

}  // namespace ws::test
