// weightstream_demo [<model> [<prompt> [<max-new-tokens>]]]
//
// Loads a model with the weightstream library and streams a greedy answer to
// stdout; load and generation figures, and the generated ids, go to stderr.
// Without <model>: the CLI's default ($WEIGHTSTREAM_MODEL, else
// build/models/SmolLM2-135M-Instruct.Q4_1.gguf under the current directory).
// $WEIGHTSTREAM_BACKEND / $WEIGHTSTREAM_DEVICE pick the backend ("torch",
// "cuda:0") when the installed library was built with it.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <weightstream/weightstream.h>

int main(int argc, char** argv) {
  ws::Result<std::string> location = argc > 1 ? ws::Result<std::string>(argv[1]) : ws::default_model_location();
  if (!location) location = std::string("build/models/SmolLM2-135M-Instruct.Q4_1.gguf");
  const std::string prompt = argc > 2 ? argv[2] : "What is the capital of France? Answer in one sentence.";

  ws::ModelOptions model_options;
  model_options.dtype = ws::WeightDType::Keep;  // or F32, F16, BF16, Q8_0, ..., Q6_K
  // Text from the environment becomes the options' enums here, at the edge.
  if (const char* backend = std::getenv("WEIGHTSTREAM_BACKEND")) {
    ws::Result<ws::BackendKind> kind = ws::parse_backend_kind(backend);
    if (!kind) return std::fprintf(stderr, "weightstream_demo: %s\n", kind.error().to_string().c_str()), 2;
    model_options.backend = *kind;
  }
  if (const char* device = std::getenv("WEIGHTSTREAM_DEVICE")) {
    ws::Result<ws::ComputeDevice> parsed = ws::parse_compute_device(device);
    if (!parsed) return std::fprintf(stderr, "weightstream_demo: %s\n", parsed.error().to_string().c_str()), 2;
    model_options.device = *parsed;
  }
  ws::Result<ws::LanguageModel> model = ws::LanguageModel::load(*location, model_options);
  if (!model) {
    std::fprintf(stderr, "weightstream_demo: %s\n", model.error().to_string().c_str());
    return 1;
  }

  ws::GenerationOptions options;  // temperature 0: greedy
  options.max_new_tokens = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 48;
  options.chat = model->has_chat_template();  // instruct models answer inside their chat template
  ws::Result<ws::Generation> answer = model->generate(prompt, options, [](const std::string& piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;  // false would stop here
  });
  if (!answer) {
    std::fprintf(stderr, "\nweightstream_demo: %s\n", answer.error().to_string().c_str());
    return 1;
  }
  std::fputs("\n", stdout);

  std::string ids;
  for (int32_t id : answer->ids) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  std::fprintf(stderr, "[%s: %.1f MB loaded in %.2f s, %.1f tok/s; %s]\nids: %s\n", model->model_type().c_str(),
               model->load_stats().bound_bytes / 1e6, model->load_stats().seconds, answer->decode_tokens_per_second,
               model->backend_description().c_str(), ids.c_str());
  return 0;
}
