// render_tool CASES.json: renders each case {"template", "context"} of a JSON
// array with our engine and prints a JSON array of {"text"} or {"error",
// "kind"} in the same order, for template_parity.py to compare with jinja2.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "template/template.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: render_tool CASES.json\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::ordered_json cases = nlohmann::ordered_json::parse(text.str(), nullptr, false);
  if (!cases.is_array()) {
    std::fprintf(stderr, "render_tool: %s is not a JSON array\n", argv[1]);
    return 1;
  }
  nlohmann::json results = nlohmann::json::array();
  for (const auto& c : cases) {
    nlohmann::json result;
    ws::Result<ws::JinjaTemplate> parsed = ws::JinjaTemplate::parse(c.at("template").get<std::string>());
    ws::Result<std::string> rendered = parsed ? parsed->render(c.at("context")) : ws::Result<std::string>(parsed.error());
    if (rendered) {
      result["text"] = *rendered;
    } else {
      result["error"] = rendered.error().message;
      result["kind"] = ws::error_kind_name(rendered.error().kind);
    }
    results.push_back(result);
  }
  std::cout << results.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}
