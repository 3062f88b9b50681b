// weightstream perplexity: how well the model predicts a text file.
// Loads the model through the one load sequence (api/load_model.h), tokenizes
// the text file (no special tokens; the tokenizer's BOS first when it has
// one, as llama.cpp's perplexity does) and scores it (generate/perplexity.h).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "api/load_model.h"
#include "api/model_files.h"
#include "cli/args.h"
#include "cli/http_flags.h"
#include "cli/model_flags.h"
#include "cli/commands.h"
#include "generate/perplexity.h"
#include "source/memory_stats.h"

namespace ws::cli {

namespace {

// Text files for scoring are small; refuse anything that is clearly not one.
constexpr std::streamoff kMaxTextBytes = 64ll << 20;

}  // namespace

int run_perplexity(const Args& args) {
  if (!args.get("file")) return usage_error(kPerplexity, Error{ErrorKind::InvalidArgument, "--file is required"});
  Result<WeightDType> dtype = weight_dtype_flag(args);
  if (!dtype) return usage_error(kPerplexity, dtype.error());
  Result<BackendChoice> choice = backend_flags(args);
  if (!choice) return usage_error(kPerplexity, choice.error());
  Result<double> context = args.get_number("context", 2048);
  if (!context || *context < 2 || *context > (1 << 20) || *context != static_cast<size_t>(*context)) {
    return usage_error(kPerplexity,
                       Error{ErrorKind::InvalidArgument, "--context must be a whole number from 2 to 1048576"});
  }
  Result<HttpTransportOptions> http = http_options(args);
  if (!http) return usage_error(kPerplexity, http.error());
  std::ifstream in(*args.get("file"), std::ios::binary);
  if (!in) return report_error(Error{ErrorKind::NotFound, "cannot open " + *args.get("file")});
  in.seekg(0, std::ios::end);
  if (in.tellg() > kMaxTextBytes) return report_error(Error{ErrorKind::InvalidArgument, "the text file is over 64 MiB"});
  in.seekg(0);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  Result<ModelFiles> files = open_model_files(args.positional[0], *http);
  if (!files) return report_error(files.error());
  Result<const Tokenizer*> tokenizer = usable_tokenizer(*files);
  if (!tokenizer) return report_error(tokenizer.error());
  std::vector<int32_t> ids;
  if ((*tokenizer)->bos_id()) ids.push_back(*(*tokenizer)->bos_id());
  const std::vector<int32_t> body = (*tokenizer)->encode(text);
  ids.insert(ids.end(), body.begin(), body.end());

  Result<std::unique_ptr<Backend>> backend = make_backend(*choice);
  if (!backend) return report_error(backend.error());
  LoadOptions load_options;
  load_options.context = static_cast<size_t>(*context);
  Result<BoundModel> loaded = load_model(*files->source, files->config, **backend, *dtype, nullptr, load_options);
  if (!loaded) return report_error(loaded.error());
  const size_t window = std::min({ids.size(), static_cast<size_t>(*context), files->config.max_positions});
  Result<PerplexityResult> scored = perplexity(*loaded->model, ids, window);
  if (!scored) return report_error(scored.error());

  if (args.has("json")) {
    const nlohmann::json out = {{"dtype", weight_dtype_name(*dtype)},
                                {"text_tokens", ids.size()},
                                {"scored_tokens", scored->scored_tokens},
                                {"mean_nll", scored->mean_nll},
                                {"perplexity", scored->perplexity},
                                {"bound_bytes", loaded->bound_bytes},
                                {"peak_rss_bytes", peak_rss_bytes()},
                                {"seconds", scored->seconds}};
    std::puts(out.dump().c_str());
  } else {
    std::printf("perplexity %.4f over %zu tokens (--dtype %s, %.1f MB bound, %.1f s)\n", scored->perplexity,
                scored->scored_tokens, weight_dtype_name(*dtype), loaded->bound_bytes / 1e6, scored->seconds);
  }
  return kExitOk;
}

}  // namespace ws::cli
