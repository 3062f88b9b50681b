// ws::generate: a Generator run to the end, each id handed to the callback as
// soon as it is sampled.
#include "generate/generate.h"

#include "generate/generator.h"

namespace ws {

Result<GenerateResult> generate(Model& model, const std::vector<int32_t>& prompt, const GenerateOptions& options,
                                const TokenCallback& on_token) {
  WS_ASSIGN_OR_RETURN(Generator generator, Generator::start(model, prompt, options));
  for (;;) {
    WS_ASSIGN_OR_RETURN(std::optional<int32_t> id, generator.step());
    if (!id) break;
    if (on_token && !on_token(*id)) generator.stop();
  }
  return generator.result();
}

}  // namespace ws
