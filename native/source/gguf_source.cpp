// Opening a .gguf file as a model: read the header prefix (growing the read
// until the parser has what it needs), build the checkpoint, and synthesize
// the Hugging Face side files from the metadata.
#include "source/gguf_source.h"

#include <algorithm>
#include <vector>

#include "format/gguf.h"

namespace ws {

Status open_gguf(Transport& transport, const std::string& file, Checkpoint& checkpoint,
                 std::map<std::string, std::string>& side_files, std::map<std::string, Error>& side_file_errors) {
  WS_ASSIGN_OR_RETURN(uint64_t file_bytes, transport.file_size(file));
  const std::string where = transport.describe(file);
  // Most headers (vocabulary included) fit in a few MiB; grow geometrically
  // past that so a 10 MB header takes a handful of reads, not thousands.
  std::vector<uint8_t> prefix;
  uint64_t want = std::min<uint64_t>(file_bytes, 4ull << 20);
  for (;;) {
    const uint64_t have = prefix.size();
    if (want > have) {
      prefix.resize(want);
      WS_TRY(transport.read(file, have, prefix.data() + have, want - have));
    }
    WS_ASSIGN_OR_RETURN(GgufPrefix parsed, parse_gguf_prefix(prefix.data(), prefix.size(), file_bytes, where));
    if (parsed.header) {
      prefix.clear();
      prefix.shrink_to_fit();
      const GgufHeader& header = *parsed.header;
      WS_TRY(gguf_checkpoint(header, file_bytes, where, checkpoint));
      checkpoint.shards.back().file_name = file;  // relative: the transport resolves it
      // Side files are best effort: a GGUF of an architecture we cannot run is
      // still a checkpoint to inspect or convert.
      auto keep = [&](const char* name, Result<std::string> made) {
        if (made) {
          side_files[name] = std::move(*made);
        } else {
          side_file_errors.emplace(name, made.error());
        }
      };
      keep("config.json", gguf_config_json(header, where));
      keep("tokenizer.json", gguf_tokenizer_json(header, where));
      keep("tokenizer_config.json", gguf_tokenizer_config_json(header, where));
      return Status::ok();
    }
    // The parser only asks for bytes the file has (it checks lengths against
    // file_bytes), so this always makes progress.
    want = std::min(file_bytes, std::max(parsed.bytes_needed, prefix.size() * 2));
    if (want <= prefix.size()) {
      return make_error(ErrorKind::Truncated, where + ": header needs more than the file's " +
                                                  std::to_string(file_bytes) + " bytes");
    }
  }
}

}  // namespace ws
