#include "api/model_files.h"

namespace ws {

Result<const Tokenizer*> usable_tokenizer(const ModelFiles& files) {
  if (files.tokenizer) return &*files.tokenizer;
  if (files.tokenizer_error) return *files.tokenizer_error;
  return make_error(ErrorKind::NotFound, files.source->shown_location() +
                                             ": no tokenizer.json, so text cannot be tokenized; give token ids (--prompt-ids, generate_from_ids)");
}

Result<ModelFiles> open_model_files(const std::string& location, const HttpTransportOptions& http) {
  ModelFiles files;
  WS_ASSIGN_OR_RETURN(files.source, ModelSource::open(location, http, OpenOptions{}));
  WS_ASSIGN_OR_RETURN(ModelSettings settings, read_model_settings(files.source->opened(), files.source->shown_location()));
  static_cast<ModelSettings&>(files) = std::move(settings);
  return files;
}

}  // namespace ws
