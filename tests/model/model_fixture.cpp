#include "model_fixture.h"

#include "api/load_model.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ws::test {

std::string fixture_dir(const std::string& name) { return std::string(WS_FIXTURES_DIR) + "/models/" + name; }

Reference read_reference(const std::string& name, const std::string& file_name) {
  std::ifstream file(fixture_dir(name) + "/" + file_name);
  std::stringstream text;
  text << file.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  Reference ref;
  if (j.is_discarded()) return ref;
  for (const auto& v : j["prompt"]) ref.prompt.push_back(v.get<int32_t>());
  for (const auto& v : j["logits"]) ref.logits.push_back(v.get<float>());
  for (const auto& v : j["greedy"]) ref.greedy.push_back(v.get<int32_t>());
  ref.dtype = j["dtype"].get<std::string>();
  return ref;
}

Result<LoadedModel> load_model(const std::string& dir, WeightDType dtype, const BackendOptions& options) {
  WS_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, make_portable_backend(options));
  return load_model_on(std::move(backend), dir, dtype);
}

Result<LoadedModel> load_model_on(std::unique_ptr<Backend> backend, const std::string& dir, WeightDType dtype) {
  LoadedModel loaded;
  loaded.backend = std::move(backend);
  WS_ASSIGN_OR_RETURN(loaded.source, ModelSource::open(dir));
  WS_ASSIGN_OR_RETURN(std::string config_text, loaded.source->read_text("config.json"));
  WS_ASSIGN_OR_RETURN(ModelConfig config, parse_model_config(config_text));
  // The CLI's and the library's own load sequence (native/api).
  WS_ASSIGN_OR_RETURN(BoundModel bound, ws::load_model(*loaded.source, config, *loaded.backend, dtype, {}));
  loaded.model = std::move(bound.model);
  return loaded;
}

}  // namespace ws::test
