// weightstream perplexity <model> --file TEXT [--dtype D] [--context N] [--threads N] [--json]
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
#include "cli/commands.h"
#include "generate/perplexity.h"
#include "source/memory_stats.h"

namespace ws::cli {

namespace {

const char* kPerplexityUsage =
    "usage: weightstream perplexity <model> --file TEXT [--dtype DTYPE] [--context N] [--threads N] [--json]\n"
    "  scores the first N tokens of the file (default 2048): exp(mean negative log-likelihood)\n";

// Text files for scoring are small; refuse anything that is clearly not one.
constexpr std::streamoff kMaxTextBytes = 64ll << 20;

}  // namespace

int run_perplexity(int argc, char** argv) {
  Result<Args> args = parse_args(argc, argv, 1, with_http_options({"file", "dtype", "context", "threads"}), {"json"});
  if (!args) return report_error(args.error());
  if (args->positional.size() != 1 || !args->get("file")) {
    std::fputs(kPerplexityUsage, stderr);
    return kExitUsage;
  }
  Result<WeightDType> dtype = parse_weight_dtype(args->get("dtype").value_or("keep"));
  if (!dtype) return report_error(dtype.error());
  Result<double> context = args->get_number("context", 2048);
  Result<double> threads = args->get_number("threads", 0);
  if (!context || !threads || *context < 2 || *context > (1 << 20) || *context != static_cast<size_t>(*context) ||
      *threads < 0 || *threads > 1024 || *threads != static_cast<int>(*threads)) {
    std::fputs(kPerplexityUsage, stderr);
    std::fputs("--context must be a whole number from 2 to 1048576, --threads from 0 to 1024\n", stderr);
    return kExitUsage;
  }
  std::ifstream in(*args->get("file"), std::ios::binary);
  if (!in) return report_error(Error{ErrorKind::NotFound, "cannot open " + *args->get("file")});
  in.seekg(0, std::ios::end);
  if (in.tellg() > kMaxTextBytes) return report_error(Error{ErrorKind::InvalidArgument, "the text file is over 64 MiB"});
  in.seekg(0);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  Result<HttpTransportOptions> http = http_options(*args);
  if (!http) return report_error(http.error());
  Result<ModelFiles> files = open_model_files(args->positional[0], *http);
  if (!files) return report_error(files.error());
  Result<const Tokenizer*> tokenizer = usable_tokenizer(*files);
  if (!tokenizer) return report_error(tokenizer.error());
  std::vector<int32_t> ids;
  if ((*tokenizer)->bos_id()) ids.push_back(*(*tokenizer)->bos_id());
  const std::vector<int32_t> body = (*tokenizer)->encode(text);
  ids.insert(ids.end(), body.begin(), body.end());

  BackendChoice choice;
  choice.options.threads = static_cast<int>(*threads);
  Result<std::unique_ptr<Backend>> backend = make_backend(choice);
  if (!backend) return report_error(backend.error());
  LoadOptions load_options;
  load_options.context = static_cast<size_t>(*context);
  Result<BoundModel> loaded = load_model(*files->source, files->config, **backend, *dtype, nullptr, load_options);
  if (!loaded) return report_error(loaded.error());
  const size_t window = std::min({ids.size(), static_cast<size_t>(*context), files->config.max_positions});
  Result<PerplexityResult> scored = perplexity(*loaded->model, ids, window);
  if (!scored) return report_error(scored.error());

  if (args->has("json")) {
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
