// The pickle value tree: construction, typed access, repr and equality. The
// reader is in pickle_reader.cpp, the writer in pickle_writer.cpp.
#include "googlenet/io/pickle.h"

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "pickle_internal.h"

namespace googlenet::pickle {

const char* kind_name(Kind kind) {
  static const char* kNames[] = {"None",  "bool", "int",  "float",  "str",    "bytes",
                                 "tuple", "list", "dict", "global", "object", "persistent id"};
  return kNames[static_cast<int>(kind)];
}

namespace detail {

Value ValueAccess::make(Kind kind) {
  auto node = std::make_shared<Value::Node>();
  node->kind = kind;
  return Value(std::move(node));
}

}  // namespace detail

using detail::ValueAccess;

Value::Value() : Value(ValueAccess::make(Kind::kNone)) {}

Value Value::boolean(bool b) {
  Value v = ValueAccess::make(Kind::kBool);
  v.node_->b = b;
  return v;
}

Value Value::integer(int64_t i) {
  Value v = ValueAccess::make(Kind::kInt);
  v.node_->i = i;
  return v;
}

Value Value::real(double f) {
  Value v = ValueAccess::make(Kind::kFloat);
  v.node_->f = f;
  return v;
}

namespace {
Value with_text(Kind kind, std::string s) {
  Value v = ValueAccess::make(kind);
  ValueAccess::node(v).s = std::move(s);
  return v;
}
Value with_items(Kind kind, Value::Items items) {
  Value v = ValueAccess::make(kind);
  ValueAccess::node(v).items = std::move(items);
  return v;
}
}  // namespace

Value Value::string(std::string s) { return with_text(Kind::kString, std::move(s)); }
Value Value::bytes(std::string b) { return with_text(Kind::kBytes, std::move(b)); }
Value Value::global(std::string name) { return with_text(Kind::kGlobal, std::move(name)); }
Value Value::tuple(Items items) { return with_items(Kind::kTuple, std::move(items)); }
Value Value::list(Items items) { return with_items(Kind::kList, std::move(items)); }
Value Value::persistent_id(Value pid) { return with_items(Kind::kPersistentId, {std::move(pid)}); }

Value Value::dict(DictItems items) {
  Value v = ValueAccess::make(Kind::kDict);
  v.node_->dict = std::move(items);
  return v;
}

Value Value::object(Object object) {
  Value v = ValueAccess::make(Kind::kObject);
  v.node_->object = std::make_unique<Object>(std::move(object));
  return v;
}

Kind Value::kind() const { return node_->kind; }

namespace {
[[noreturn]] void wrong_kind(const char* expected, const Value& found) {
  throw std::runtime_error(std::string("expected ") + expected + ", found " +
                           kind_name(found.kind()) + " " + found.repr());
}
}  // namespace

bool Value::as_bool() const {
  if (!is(Kind::kBool)) wrong_kind("bool", *this);
  return node_->b;
}
int64_t Value::as_int() const {
  if (!is(Kind::kInt)) wrong_kind("int", *this);
  return node_->i;
}
double Value::as_float() const {
  if (!is(Kind::kFloat)) wrong_kind("float", *this);
  return node_->f;
}
const std::string& Value::as_string() const {
  if (!is(Kind::kString)) wrong_kind("str", *this);
  return node_->s;
}
const std::string& Value::as_bytes() const {
  if (!is(Kind::kBytes)) wrong_kind("bytes", *this);
  return node_->s;
}
const Value::Items& Value::items() const {
  if (!is(Kind::kTuple) && !is(Kind::kList)) wrong_kind("tuple or list", *this);
  return node_->items;
}
const Value::DictItems& Value::dict() const {
  if (!is(Kind::kDict)) wrong_kind("dict", *this);
  return node_->dict;
}
const std::string& Value::global_name() const {
  if (!is(Kind::kGlobal)) wrong_kind("global", *this);
  return node_->s;
}
const Object& Value::object() const {
  if (!is(Kind::kObject)) wrong_kind("object", *this);
  return *node_->object;
}
const Value& Value::persistent_id() const {
  if (!is(Kind::kPersistentId)) wrong_kind("persistent id", *this);
  return node_->items.front();
}

const Value* Value::find(std::string_view key) const {
  for (const auto& [k, v] : dict()) {
    if ((k.is(Kind::kString) || k.is(Kind::kBytes)) && k.node_->s == key) return &v;
  }
  return nullptr;
}

const Value& Value::at(std::string_view key) const {
  if (const Value* v = find(key)) return *v;
  std::string keys;
  for (const auto& item : dict()) keys += (keys.empty() ? "" : ", ") + item.first.repr(40);
  throw std::runtime_error("no key '" + std::string(key) + "' (keys: " + keys.substr(0, 300) + ")");
}

namespace {

std::string quote(const std::string& s, char prefix) {
  std::string out = prefix ? std::string(1, prefix) + "'" : "'";
  for (unsigned char c : s) {
    if (c == '\'' || c == '\\') {
      out += '\\', out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* kHex = "0123456789abcdef";
      out += "\\x", out += kHex[c >> 4], out += kHex[c & 15];
    }
  }
  return out + "'";
}

std::string join(const Value::Items& items, size_t max_chars) {
  std::string out;
  for (const auto& item : items) {
    if (out.size() > max_chars) return out + ", ...";
    out += (out.empty() ? "" : ", ") + item.repr(max_chars);
  }
  return out;
}

}  // namespace

std::string Value::repr(size_t max_chars) const {
  const Node& n = *node_;
  std::string out;
  switch (n.kind) {
    case Kind::kNone:
      out = "None";
      break;
    case Kind::kBool:
      out = n.b ? "True" : "False";
      break;
    case Kind::kInt:
      out = std::to_string(n.i);
      break;
    case Kind::kFloat:
      out = std::to_string(n.f);
      break;
    case Kind::kString:
      out = quote(n.s.substr(0, max_chars), 0);
      break;
    case Kind::kBytes:
      out = quote(n.s.substr(0, max_chars), 'b');
      break;
    case Kind::kTuple:
      out = "(" + join(n.items, max_chars) + (n.items.size() == 1 ? ",)" : ")");
      break;
    case Kind::kList:
      out = "[" + join(n.items, max_chars) + "]";
      break;
    case Kind::kDict:
      out = "{";
      for (const auto& [k, v] : n.dict) {
        if (out.size() > max_chars) {
          out += ", ...";
          break;
        }
        out += (out.size() > 1 ? ", " : "") + k.repr(max_chars) + ": " + v.repr(max_chars);
      }
      out += "}";
      break;
    case Kind::kGlobal:
      out = n.s;
      break;
    case Kind::kObject:
      out = n.object->callable + "(" + join(n.object->args, max_chars) + ")";
      break;
    case Kind::kPersistentId:
      out = "persistent_id" + n.items.front().repr(max_chars);
      break;
  }
  return out.size() > max_chars + 5 ? out.substr(0, max_chars) + "..." : out;
}

namespace {
bool same_items(const Value::DictItems& a, const Value::DictItems& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].first != b[i].first || a[i].second != b[i].second) return false;
  }
  return true;
}
}  // namespace

bool operator==(const Value& a, const Value& b) {
  if (a.node_ == b.node_) return true;
  const Value::Node& x = *a.node_;
  const Value::Node& y = *b.node_;
  if (x.kind != y.kind) return false;
  switch (x.kind) {
    case Kind::kNone:
      return true;
    case Kind::kBool:
      return x.b == y.b;
    case Kind::kInt:
      return x.i == y.i;
    case Kind::kFloat:
      return std::memcmp(&x.f, &y.f, sizeof x.f) == 0;  // bitwise: NaN == NaN
    case Kind::kString:
    case Kind::kBytes:
    case Kind::kGlobal:
      return x.s == y.s;
    case Kind::kTuple:
    case Kind::kList:
    case Kind::kPersistentId:
      return x.items == y.items;
    case Kind::kDict:
      return same_items(x.dict, y.dict);
    case Kind::kObject: {
      const Object& p = *x.object;
      const Object& q = *y.object;
      return p.callable == q.callable && p.newobj == q.newobj && p.args == q.args &&
             p.list_items == q.list_items && same_items(p.dict_items, q.dict_items) &&
             p.state == q.state;
    }
  }
  return false;
}

namespace detail {

// UTF-8 as Python's "surrogatepass" decoder accepts it: no overlong forms, nothing
// above U+10FFFF.
bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff) return false;
    i += n;
  }
  return true;
}

// A fingerprint equal for equal hashable keys, to refuse duplicate dict keys;
// empty for unhashable ones.
std::string key_fingerprint(const Value& v) {
  const auto& n = ValueAccess::node(v);
  switch (n.kind) {
    case Kind::kNone:
      return "N";
    case Kind::kBool:
      return n.b ? "T" : "F";
    case Kind::kInt:
      return "i" + std::to_string(n.i);
    case Kind::kFloat:
      return "f" + std::string(reinterpret_cast<const char*>(&n.f), sizeof n.f);
    case Kind::kString:
      return "s" + std::to_string(n.s.size()) + ":" + n.s;
    case Kind::kBytes:
      return "b" + std::to_string(n.s.size()) + ":" + n.s;
    case Kind::kGlobal:
      return "g" + n.s;
    case Kind::kTuple: {
      std::string out = "(";
      for (const auto& item : n.items) {
        const std::string f = key_fingerprint(item);
        if (f.empty()) return "";
        out += std::to_string(f.size()) + ":" + f;
      }
      return out + ")";
    }
    default:
      return "";
  }
}

}  // namespace detail

Value read_file(const std::string& path, const AllowedGlobals& allowed) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path + ": read error (" + std::strerror(errno) + ")");
  return read(buffer.str(), allowed, path);
}

}  // namespace googlenet::pickle
