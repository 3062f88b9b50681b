// weightstream tokenize: what the model sees: the rendered chat text (with
// --chat / --messages), the token ids and each id's token. Reads only
// config.json, the tokenizer files and the chat template; no weight byte moves.
#include <cstdio>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/model_files.h"
#include "api/prompt.h"
#include "cli/args.h"
#include "cli/messages_file.h"
#include "weightstream/weightstream.h"

namespace ws::cli {

int run_tokenize(const Args& args) {
  const auto text = args.get("text") ? args.get("text") : args.get("prompt");
  const bool has_text = text.has_value(), has_messages = args.get("messages").has_value();
  const bool chat_flags = args.has("chat") || args.get("system");
  if (has_text == has_messages || (args.get("text") && args.get("prompt")) ||
      (chat_flags && !args.get("prompt")) || (args.get("system") && !args.has("chat"))) {
    return usage_error(kTokenize, Error{ErrorKind::InvalidArgument,
                                        "give exactly one of --text, --prompt and --messages "
                                        "(--chat with --prompt; --system with --chat)"});
  }
  Result<std::string> model = model_or_default(args);
  if (!model) return report_error(model.error());
  const std::string location = *model;
  // The conversation first: a bad file is reported before the model is opened.
  std::optional<nlohmann::ordered_json> messages;
  if (auto path = args.get("messages")) {
    Result<nlohmann::ordered_json> read = read_messages(*path);
    if (!read) return report_error(read.error());
    messages = std::move(*read);
  }
  Result<ModelFiles> files = open_model_files(location);
  if (!files) return report_error(files.error());
  Result<Prompt> prompt = make_error(ErrorKind::InvalidArgument, "no input");
  if (messages) {
    prompt = encode_chat(*files, *messages);
  } else {
    prompt = encode_prompt(*files, *text, args.has("chat") ? ChatMode::On : ChatMode::Off, args.get("system"));
  }
  if (!prompt) return report_error(prompt.error());
  const Tokenizer& tokenizer = *files->tokenizer;  // encode_* succeeded, so there is one

  if (args.has("json")) {
    nlohmann::json pieces = nlohmann::json::array();
    for (int32_t id : prompt->ids) pieces.push_back(tokenizer.token_text(id));
    nlohmann::json out = {{"ids", prompt->ids}, {"tokens", pieces}, {"count", prompt->ids.size()}};
    if (prompt->chat) {
      out["text"] = prompt->text;
      out["chat_template"] = files->chat_template_origin;
      out["stop_ids"] = prompt->stop_ids;
    }
    std::puts(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return kExitOk;
  }
  if (prompt->chat) {
    std::printf("--- chat text (%s) ---\n%s\n--- %zu tokens ---\n", files->chat_template_origin.c_str(),
                prompt->text.c_str(), prompt->ids.size());
  }
  for (int32_t id : prompt->ids) {
    // The token's own text, escaped so that whitespace and control bytes show.
    const nlohmann::json piece = tokenizer.token_text(id);
    std::printf("%d\t%s\n", id, piece.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
  return kExitOk;
}

}  // namespace ws::cli
