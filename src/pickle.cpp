// The pickle value tree and the protocol-2 writer; the strict reader is in
// pickle_reader.cpp.
#include "googlenet/pickle.h"

#include <cstring>
#include <stdexcept>

#include "pickle_internal.h"

namespace googlenet::pickle {

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kBytes:
      return "bytes";
    case Kind::kTuple:
      return "tuple";
    case Kind::kList:
      return "list";
    case Kind::kDict:
      return "dict";
    case Kind::kGlobal:
      return "global";
    case Kind::kObject:
      return "object";
    case Kind::kPersistentId:
      return "persistent id";
  }
  return "?";
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

// ---- Writer ------------------------------------------------------------------

namespace {

class Writer {
 public:
  std::string out;

  void value(const Value& v, int depth) {
    if (depth > kMaxDepth) {
      throw std::invalid_argument("pickle::write: value nested deeper than " +
                                  std::to_string(kMaxDepth) + " levels");
    }
    switch (v.kind()) {
      case Kind::kNone:
        out += 'N';
        break;
      case Kind::kBool:
        out += v.as_bool() ? '\x88' : '\x89';
        break;
      case Kind::kInt:
        integer(v.as_int());
        break;
      case Kind::kFloat: {
        out += 'G';  // BINFLOAT: big-endian IEEE double
        uint64_t bits = 0;
        const double f = v.as_float();
        std::memcpy(&bits, &f, sizeof bits);
        for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>(bits >> shift);
        break;
      }
      case Kind::kString:
        text('X', v.as_string());
        break;
      case Kind::kBytes:
        if (v.as_bytes().size() < 256) {
          out += 'C', out += static_cast<char>(v.as_bytes().size()), out += v.as_bytes();
        } else {
          text('B', v.as_bytes());
        }
        break;
      case Kind::kTuple:
        tuple(v.items(), depth);
        break;
      case Kind::kList:
        out += ']';
        extend(v.items(), 'e', depth);
        break;
      case Kind::kDict:
        out += '}';
        set_items(v.dict(), depth);
        break;
      case Kind::kGlobal:
        global(v.global_name());
        break;
      case Kind::kObject: {
        const Object& o = v.object();
        global(o.callable);
        tuple(o.args, depth);
        out += o.newobj ? '\x81' : 'R';
        extend(o.list_items, 'e', depth);
        set_items(o.dict_items, depth);
        if (o.state) {
          value(*o.state, depth + 1);
          out += 'b';
        }
        break;
      }
      case Kind::kPersistentId:
        value(v.persistent_id(), depth + 1);
        out += 'Q';
        break;
    }
  }

 private:
  void little_endian(uint64_t x, int bytes) {
    for (int i = 0; i < bytes; ++i) out += static_cast<char>(x >> (8 * i));
  }

  void integer(int64_t i) {
    if (i >= 0 && i < 256) {
      out += 'K', little_endian(i, 1);
    } else if (i >= 0 && i < 65536) {
      out += 'M', little_endian(i, 2);
    } else if (i >= INT32_MIN && i <= INT32_MAX) {
      out += 'J', little_endian(static_cast<uint64_t>(i), 4);
    } else {  // LONG1: shortest two's-complement little-endian encoding
      int n = 8;
      while (n > 1) {
        const int64_t hi = i >> (8 * (n - 1) - 1);  // the top byte plus the next sign bit
        if (hi != 0 && hi != -1) break;
        --n;
      }
      out += '\x8a', out += static_cast<char>(n), little_endian(static_cast<uint64_t>(i), n);
    }
  }

  void text(char opcode, const std::string& s) {
    if (s.size() > UINT32_MAX) throw std::invalid_argument("pickle::write: string over 4 GiB");
    out += opcode, little_endian(s.size(), 4), out += s;
  }

  void global(const std::string& name) {
    const size_t dot = name.rfind('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == name.size() ||
        name.find('\n') != std::string::npos) {
      throw std::invalid_argument("pickle::write: global '" + name +
                                  "' is not of the form module.name");
    }
    out += 'c' + name.substr(0, dot) + '\n' + name.substr(dot + 1) + '\n';
  }

  void tuple(const Value::Items& items, int depth) {
    if (items.empty()) {
      out += ')';
      return;
    }
    if (items.size() > 3) out += '(';
    for (const auto& item : items) value(item, depth + 1);
    out += items.size() > 3 ? 't' : static_cast<char>(0x85 + items.size() - 1);
  }

  void extend(const Value::Items& items, char opcode, int depth) {
    if (items.empty()) return;
    out += '(';
    for (const auto& item : items) value(item, depth + 1);
    out += opcode;
  }

  void set_items(const Value::DictItems& items, int depth) {
    if (items.empty()) return;
    out += '(';
    for (const auto& [k, v] : items) value(k, depth + 1), value(v, depth + 1);
    out += 'u';
  }
};

}  // namespace

std::string write(const Value& value) {
  Writer writer;
  writer.out = "\x80\x02";  // PROTO 2, like torch.save
  writer.value(value, 1);
  writer.out += '.';
  return writer.out;
}

}  // namespace googlenet::pickle
