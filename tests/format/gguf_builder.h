// Builds GGUF bytes field by field, for parser tests that need files the
// gguf package refuses to write (every malformed case) or tiny valid ones.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace ws::test {

inline void put_u32(std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
inline void put_u64(std::string& s, uint64_t v) { s.append(reinterpret_cast<const char*>(&v), 8); }
inline void put_string(std::string& s, const std::string& v) {
  put_u64(s, v.size());
  s += v;
}

struct GgufBuilder {
  uint32_t version = 3;
  std::string kv;
  uint64_t kv_count = 0;
  std::string infos;
  uint64_t tensor_count = 0;
  uint64_t alignment = 32;

  GgufBuilder& add_u32(const std::string& key, uint32_t v) {
    put_string(kv, key);
    put_u32(kv, 4);
    put_u32(kv, v);
    ++kv_count;
    return *this;
  }
  GgufBuilder& add_f32(const std::string& key, float v) {
    put_string(kv, key);
    put_u32(kv, 6);
    kv.append(reinterpret_cast<const char*>(&v), 4);
    ++kv_count;
    return *this;
  }
  GgufBuilder& add_string(const std::string& key, const std::string& v) {
    put_string(kv, key);
    put_u32(kv, 8);
    put_string(kv, v);
    ++kv_count;
    return *this;
  }
  GgufBuilder& add_strings(const std::string& key, const std::vector<std::string>& v) {
    put_string(kv, key);
    put_u32(kv, 9);
    put_u32(kv, 8);
    put_u64(kv, v.size());
    for (const std::string& s : v) put_string(kv, s);
    ++kv_count;
    return *this;
  }
  // Raw key/value bytes (type and value), for malformed cases.
  GgufBuilder& add_raw(const std::string& key, const std::string& type_and_value) {
    put_string(kv, key);
    kv += type_and_value;
    ++kv_count;
    return *this;
  }
  // `ne` in GGUF order (fastest-varying first).
  GgufBuilder& add_tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    put_string(infos, name);
    put_u32(infos, static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) put_u64(infos, d);
    put_u32(infos, type);
    put_u64(infos, offset);
    ++tensor_count;
    return *this;
  }
  std::string header() const {
    std::string s = "GGUF";
    put_u32(s, version);
    put_u64(s, tensor_count);
    put_u64(s, kv_count);
    return s + kv + infos;
  }
  // Header, padding to the alignment, then `data`.
  std::string build(const std::string& data = "") const {
    std::string s = header();
    s.append((alignment - s.size() % alignment) % alignment, '\0');
    return s + data;
  }
};

}  // namespace ws::test
