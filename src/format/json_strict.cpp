// A SAX handler that builds the nlohmann value itself. nlohmann's own
// callback parser (json::parse with a callback) rescans the parent object at
// every end_object, which made a 100k-tensor header take 80 s; this handler
// does O(log n) work per event, checks keys as they arrive and stops at the
// depth bound before anything deeper is built.
#include "format/json_strict.h"

#include <optional>
#include <unordered_set>
#include <vector>

namespace ws::detail {

namespace {

using json = nlohmann::json;

// A key as a message shows it: a 1 MB key must not become a 1 MB message.
std::string shown_key(const std::string& key) { return key.size() <= 200 ? key : key.substr(0, 197) + "..."; }

class StrictBuilder {
 public:
  using MemberHandler = std::function<Status(std::string key, json value)>;

  // With `on_member`, members of the root object are handed out one by one and not kept.
  explicit StrictBuilder(const MemberHandler* on_member = nullptr) : on_member_(on_member) {}

  json root;
  std::string problem;          // set when a check (not the syntax) stops the parse
  std::optional<Error> stopped;  // set when on_member returned an error

  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(json::number_integer_t v) { return put(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return put(json(v)); }
  bool number_float(json::number_float_t v, const std::string&) { return put(json(v)); }
  bool string(json::string_t& v) { return put(json(std::move(v))); }
  bool binary(json::binary_t& v) { return put(json(std::move(v))); }

  bool start_object(size_t) { return open(json::object()); }
  bool start_array(size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  void expect_members(size_t n) { root_keys_.reserve(n); }

  bool key(json::string_t& k) {
    if (streaming()) {
      if (!root_keys_.insert(k).second) {
        problem = "has the key \"" + shown_key(k) + "\" twice";
        return false;
      }
      member_key_ = std::move(k);
      member_ = json();
      slot_ = &member_;
      return true;
    }
    json::object_t& object = open_.back()->get_ref<json::object_t&>();
    auto [it, inserted] = object.emplace(std::move(k), nullptr);
    if (!inserted) {
      problem = "has the key \"" + shown_key(it->first) + "\" twice";
      return false;
    }
    slot_ = &it->second;
    return true;
  }

  bool parse_error(size_t position, const std::string& last_token, const nlohmann::detail::exception& e) {
    syntax_error = "is not valid JSON (byte " + std::to_string(position) + ", near '" +
                   last_token.substr(0, 40) + "')";
    return false;
  }
  std::string syntax_error;

 private:
  std::vector<json*> open_;  // the containers being filled, outermost first
  json* slot_ = nullptr;     // where an object's next value goes (set by key())
  const MemberHandler* on_member_;
  std::unordered_set<std::string> root_keys_;  // streaming: the root's keys seen so far
  std::string member_key_;                     // streaming: the member being built
  json member_;

  // Members of the root object go to on_member_ (the root itself stays empty).
  bool streaming() const { return on_member_ && open_.size() == 1 && open_[0]->is_object(); }
  bool hand_out_member() {
    Status status = (*on_member_)(std::move(member_key_), std::move(member_));
    member_ = json();
    if (!status) {
      stopped = status.error();
      return false;
    }
    return true;
  }

  // Places `v` in the innermost open container (or as the root); returns where it landed.
  json* place(json&& v) {
    if (open_.empty()) {
      root = std::move(v);
      return &root;
    }
    json& parent = *open_.back();
    if (parent.is_array()) {
      json::array_t& array = parent.get_ref<json::array_t&>();
      array.push_back(std::move(v));
      return &array.back();
    }
    *slot_ = std::move(v);
    return slot_;
  }
  bool put(json&& v) {
    const bool member_done = streaming();
    place(std::move(v));
    return member_done ? hand_out_member() : true;
  }
  bool open(json&& container) {
    if (open_.size() >= kMaxJsonDepth) {
      problem = "nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
      return false;
    }
    open_.push_back(place(std::move(container)));
    return true;
  }
  bool close() {
    open_.pop_back();
    return streaming() ? hand_out_member() : true;
  }
};

}  // namespace

namespace {

// nlohmann's lexer takes a NUL byte for the end of input, so "{...}\0junk"
// would parse; JSON text has no raw NUL anywhere (in strings it is escaped),
// and the safetensors reference rejects such a header.
Status check_no_nul(std::string_view text, ErrorKind kind, const std::string& what) {
  const size_t nul = text.find('\0');
  if (nul == std::string_view::npos) return Status::ok();
  return make_error(kind, what + " has a NUL byte at byte " + std::to_string(nul) + " (not JSON text)");
}

}  // namespace

Result<nlohmann::json> parse_json_strict(std::string_view text, ErrorKind kind, const std::string& what) {
  WS_TRY(check_no_nul(text, kind, what));
  StrictBuilder builder;
  const bool ok = json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json,
                                  /*strict=*/true);
  if (!ok) {
    if (!builder.problem.empty()) return make_error(kind, what + " " + builder.problem);
    return make_error(kind, what + " " + (builder.syntax_error.empty() ? "is not valid JSON" : builder.syntax_error));
  }
  return std::move(builder.root);
}

Status parse_json_object_members(std::string_view text, ErrorKind kind, const std::string& what,
                                 const std::function<Status(std::string key, nlohmann::json value)>& on_member) {
  WS_TRY(check_no_nul(text, kind, what));
  StrictBuilder builder(&on_member);
  // A member takes at least 6 bytes ("k":0,); real headers ~100. Sized for
  // ~64-byte members, the key set rehashes a few times at most.
  builder.expect_members(text.size() / 64);
  const bool ok = json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json,
                                  /*strict=*/true);
  if (builder.stopped) return *builder.stopped;
  if (!ok) {
    if (!builder.problem.empty()) return make_error(kind, what + " " + builder.problem);
    return make_error(kind, what + " " + (builder.syntax_error.empty() ? "is not valid JSON" : builder.syntax_error));
  }
  if (!builder.root.is_object()) return make_error(kind, what + " is not a JSON object");
  return Status::ok();
}

std::string dump_json(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

}  // namespace ws::detail
