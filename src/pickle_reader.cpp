// The strict unpickler: a bounds-checked interpreter of the pickle opcodes that
// builds a pickle::Value tree and never imports or calls anything.
#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "googlenet/pickle.h"
#include "pickle_internal.h"

namespace googlenet::pickle {
namespace {

using detail::ValueAccess;

const char* opcode_name(uint8_t op) {
  switch (op) {
    case '(':
      return "MARK";
    case '.':
      return "STOP";
    case '0':
      return "POP";
    case '1':
      return "POP_MARK";
    case '2':
      return "DUP";
    case 'J':
      return "BININT";
    case 'K':
      return "BININT1";
    case 'M':
      return "BININT2";
    case 'N':
      return "NONE";
    case 'Q':
      return "BINPERSID";
    case 'R':
      return "REDUCE";
    case 'T':
      return "BINSTRING";
    case 'U':
      return "SHORT_BINSTRING";
    case 'X':
      return "BINUNICODE";
    case 'a':
      return "APPEND";
    case 'b':
      return "BUILD";
    case 'c':
      return "GLOBAL";
    case 'd':
      return "DICT";
    case '}':
      return "EMPTY_DICT";
    case 'e':
      return "APPENDS";
    case 'h':
      return "BINGET";
    case 'j':
      return "LONG_BINGET";
    case 'l':
      return "LIST";
    case ']':
      return "EMPTY_LIST";
    case 'q':
      return "BINPUT";
    case 'r':
      return "LONG_BINPUT";
    case 's':
      return "SETITEM";
    case 't':
      return "TUPLE";
    case ')':
      return "EMPTY_TUPLE";
    case 'u':
      return "SETITEMS";
    case 'G':
      return "BINFLOAT";
    case 'B':
      return "BINBYTES";
    case 'C':
      return "SHORT_BINBYTES";
    case 0x80:
      return "PROTO";
    case 0x81:
      return "NEWOBJ";
    case 0x85:
      return "TUPLE1";
    case 0x86:
      return "TUPLE2";
    case 0x87:
      return "TUPLE3";
    case 0x88:
      return "NEWTRUE";
    case 0x89:
      return "NEWFALSE";
    case 0x8a:
      return "LONG1";
    case 0x8b:
      return "LONG4";
    case 0x8c:
      return "SHORT_BINUNICODE";
    case 0x8d:
      return "BINUNICODE8";
    case 0x8e:
      return "BINBYTES8";
    case 0x93:
      return "STACK_GLOBAL";
    case 0x94:
      return "MEMOIZE";
    case 0x95:
      return "FRAME";
  }
  return nullptr;  // not supported
}

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

class Reader {
 public:
  Reader(std::string_view data, const AllowedGlobals& allowed, std::string_view source)
      : data_(data), allowed_(allowed), source_(source) {}

  Value run() {
    if (data_.empty() || static_cast<uint8_t>(data_[0]) != 0x80) {
      fail(data_.empty() ? "empty, expected a pickle (protocol 2-5)"
                         : "not a pickle of protocol 2-5 (first byte is not PROTO 0x80)");
    }
    while (true) {
      op_pos_ = pos_;
      op_ = static_cast<uint8_t>(take(1, "an opcode")[0]);
      if (step()) break;
    }
    if (pos_ != data_.size()) {
      fail(std::to_string(data_.size() - pos_) + " trailing bytes after STOP (corrupt file?)");
    }
    return result_;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::ostringstream msg;
    msg << source_ << ": pickle byte " << op_pos_;
    if (const char* name = opcode_name(op_)) msg << " (" << name << ")";
    msg << ": " << what;
    throw std::runtime_error(msg.str());
  }

  std::string_view take(uint64_t n, const char* what) {
    if (n > data_.size() - pos_) {
      fail("truncated: " + std::string(what) + " needs " + std::to_string(n) + " bytes, only " +
           std::to_string(data_.size() - pos_) + " left (file cut short?)");
    }
    const std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }

  uint64_t little_endian(int bytes) {
    const std::string_view b = take(bytes, "an argument");
    uint64_t x = 0;
    for (int i = bytes - 1; i >= 0; --i) x = (x << 8) | static_cast<uint8_t>(b[i]);
    return x;
  }

  Value make(Kind kind) {
    if (++values_ > kMaxValues) fail("more than " + std::to_string(kMaxValues) + " values");
    return ValueAccess::make(kind);
  }

  void push(Value v) { stack_.push_back(std::move(v)); }

  size_t stack_floor() const { return marks_.empty() ? 0 : marks_.back(); }

  Value& top() {
    if (stack_.size() <= stack_floor()) fail("stack underflow: needs a value, found none");
    return stack_.back();
  }

  Value pop() {
    Value v = top();
    stack_.pop_back();
    return v;
  }

  Value::Items pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to (corrupt pickle)");
    Value::Items items(stack_.begin() + marks_.back(), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }

  // Records that `child` now sits inside `parent`.
  void adopt(ValueAccess::Node& parent, const Value& child) {
    auto& c = ValueAccess::node(child);
    if (&c == &parent) fail("a value contains itself (recursive structures are not supported)");
    c.contained = true;
    parent.depth = std::max(parent.depth, c.depth + 1);
    if (parent.depth > kMaxDepth) fail("nested deeper than " + std::to_string(kMaxDepth));
  }

  // The value an APPEND/SETITEM/BUILD modifies, which must still be free-standing.
  ValueAccess::Node& target(bool list, bool dict, bool object) {
    auto& t = ValueAccess::node(top());
    if (!((list && t.kind == Kind::kList) || (dict && t.kind == Kind::kDict) ||
          (object && t.kind == Kind::kObject))) {
      fail(std::string("cannot apply it to a ") + kind_name(t.kind));
    }
    if (t.contained) fail("modifies a value already nested in another (recursive structure?)");
    return t;
  }

  Value container(Kind kind, Value::Items items) {
    Value v = make(kind);
    auto& n = ValueAccess::node(v);
    for (const auto& item : items) adopt(n, item);
    n.items = std::move(items);
    return v;
  }

  void append(Value::Items items) {
    auto& t = target(/*list=*/true, /*dict=*/false, /*object=*/true);
    auto& dest = t.kind == Kind::kList ? t.items : t.object->list_items;
    for (auto& item : items) adopt(t, item), dest.push_back(std::move(item));
  }

  void set_items(Value::Items flat) {
    if (flat.size() % 2 != 0) fail("odd number of keys and values");
    auto& t = target(/*list=*/false, /*dict=*/true, /*object=*/true);
    auto& dest = t.kind == Kind::kDict ? t.dict : t.object->dict_items;
    auto& seen =
        keys_.try_emplace(&t, top(), std::unordered_set<std::string>{}).first->second.second;
    for (size_t i = 0; i < flat.size(); i += 2) {
      const std::string fingerprint = key_fingerprint(flat[i]);
      if (fingerprint.empty()) fail("unhashable dict key " + flat[i].repr());
      if (!seen.insert(fingerprint).second) fail("duplicate dict key " + flat[i].repr());
      adopt(t, flat[i]), adopt(t, flat[i + 1]);
      dest.emplace_back(std::move(flat[i]), std::move(flat[i + 1]));
    }
  }

  void push_text(Kind kind, uint64_t length) {
    std::string_view s = take(length, kind == Kind::kString ? "a str" : "a bytes value");
    if (kind == Kind::kString && !valid_utf8(s)) fail("str is not valid UTF-8");
    Value v = make(kind);
    ValueAccess::node(v).s.assign(s);
    push(std::move(v));
  }

  void push_int(int64_t i) {
    Value v = make(Kind::kInt);
    ValueAccess::node(v).i = i;
    push(std::move(v));
  }

  void push_long(uint64_t n) {
    if (n > 8) fail("integer of " + std::to_string(n) + " bytes does not fit in 64 bits");
    uint64_t x = n == 0 ? 0 : little_endian(static_cast<int>(n));
    if (n > 0 && n < 8 && (x >> (8 * n - 1)) != 0) x |= ~uint64_t{0} << (8 * n);  // sign-extend
    push_int(static_cast<int64_t>(x));
  }

  void push_global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    if (allowed_.count(full) == 0) {
      std::string list;
      for (const auto& g : allowed_) list += (list.empty() ? "" : ", ") + g;
      fail("global '" + full + "' is not allowed (allowed: " + list +
           "); this pickle would import or run code this reader does not accept, so it is "
           "refused (only load files from sources you trust)");
    }
    Value v = make(Kind::kGlobal);
    ValueAccess::node(v).s = full;
    push(std::move(v));
  }

  std::string global_line() {
    const std::string_view rest = data_.substr(pos_, kMaxGlobalLength + 1);
    const size_t end = rest.find('\n');
    if (end == std::string_view::npos || end == 0) {
      fail("GLOBAL needs a module/name line of 1-" + std::to_string(kMaxGlobalLength) +
           " bytes ending in a newline");
    }
    for (char c : rest.substr(0, end)) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) {
        fail("GLOBAL name has a character outside [A-Za-z0-9_.]");
      }
    }
    pos_ += end + 1;
    return std::string(rest.substr(0, end));
  }

  void reduce(bool newobj) {
    Value args = pop();
    Value callable = pop();
    if (!callable.is(Kind::kGlobal))
      fail("callable is a " + std::string(kind_name(callable.kind())));
    if (!args.is(Kind::kTuple)) fail("arguments are a " + std::string(kind_name(args.kind())));
    Value v = make(Kind::kObject);
    auto& n = ValueAccess::node(v);
    adopt(n, callable), adopt(n, args);
    n.object = std::make_unique<Object>();
    n.object->callable = callable.global_name();
    n.object->newobj = newobj;
    n.object->args = args.items();
    push(std::move(v));
  }

  void memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " was never stored");
    push(it->second);
  }

  // Executes the opcode in op_; true at STOP.
  bool step() {
    switch (op_) {
      case 0x80: {  // PROTO
        const uint64_t version = little_endian(1);
        if (op_pos_ != 0 || version < 2 || version > 5) {
          fail("protocol " + std::to_string(version) + " at this position; expected 2-5 at byte 0");
        }
        return false;
      }
      case 0x95:  // FRAME: a length hint for buffering; only check it is within the data
        if (little_endian(8) > data_.size() - pos_) fail("truncated: FRAME longer than the rest");
        return false;
      case '.':
        if (!marks_.empty() || stack_.size() != 1) fail("stack is not exactly one value at STOP");
        result_ = stack_.back();
        return true;
      case '(':
        marks_.push_back(stack_.size());
        return false;
      case '0':
        pop();
        return false;
      case '1':
        pop_mark();
        return false;
      case '2':
        push(top());
        return false;
      case 'N':
        push(make(Kind::kNone));
        return false;
      case 0x88:
      case 0x89: {
        Value v = make(Kind::kBool);
        ValueAccess::node(v).b = op_ == 0x88;
        push(std::move(v));
        return false;
      }
      case 'J':
        push_int(static_cast<int32_t>(little_endian(4)));
        return false;
      case 'K':
        push_int(static_cast<int64_t>(little_endian(1)));
        return false;
      case 'M':
        push_int(static_cast<int64_t>(little_endian(2)));
        return false;
      case 0x8a:
        push_long(little_endian(1));
        return false;
      case 0x8b:
        push_long(little_endian(4));
        return false;
      case 'G': {
        const std::string_view b = take(8, "a float");
        uint64_t bits = 0;
        for (char c : b) bits = (bits << 8) | static_cast<uint8_t>(c);  // big-endian
        Value v = make(Kind::kFloat);
        std::memcpy(&ValueAccess::node(v).f, &bits, sizeof bits);
        push(std::move(v));
        return false;
      }
      case 'X':
        push_text(Kind::kString, little_endian(4));
        return false;
      case 0x8c:
        push_text(Kind::kString, little_endian(1));
        return false;
      case 0x8d:
        push_text(Kind::kString, little_endian(8));
        return false;
      case 'T': {
        const auto length = static_cast<int32_t>(little_endian(4));
        if (length < 0) fail("negative length " + std::to_string(length));
        push_text(Kind::kBytes, static_cast<uint64_t>(length));
        return false;
      }
      case 'U':
      case 'C':
        push_text(Kind::kBytes, little_endian(1));
        return false;
      case 'B':
        push_text(Kind::kBytes, little_endian(4));
        return false;
      case 0x8e:
        push_text(Kind::kBytes, little_endian(8));
        return false;
      case ')':
        push(container(Kind::kTuple, {}));
        return false;
      case 't':
        push(container(Kind::kTuple, pop_mark()));
        return false;
      case 0x85:
      case 0x86:
      case 0x87: {
        Value::Items items(op_ - 0x84);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        push(container(Kind::kTuple, std::move(items)));
        return false;
      }
      case ']':
        push(container(Kind::kList, {}));
        return false;
      case 'l':
        push(container(Kind::kList, pop_mark()));
        return false;
      case 'a':
        append({pop()});
        return false;
      case 'e':
        append(pop_mark());
        return false;
      case '}':
        push(make(Kind::kDict));
        return false;
      case 'd': {
        Value::Items flat = pop_mark();
        push(make(Kind::kDict));
        set_items(std::move(flat));
        return false;
      }
      case 's': {
        Value v = pop();
        Value k = pop();
        set_items({std::move(k), std::move(v)});
        return false;
      }
      case 'u':
        set_items(pop_mark());
        return false;
      case 'c': {
        const std::string module = global_line();
        push_global(module, global_line());
        return false;
      }
      case 0x93: {
        const Value name = pop();
        const Value module = pop();
        if (!module.is(Kind::kString) || !name.is(Kind::kString)) fail("module/name are not str");
        push_global(module.as_string(), name.as_string());
        return false;
      }
      case 'R':
        reduce(/*newobj=*/false);
        return false;
      case 0x81:
        reduce(/*newobj=*/true);
        return false;
      case 'b': {
        Value state = pop();
        auto& t = target(/*list=*/false, /*dict=*/false, /*object=*/true);
        if (t.object->state) fail("a second BUILD on the same object");
        adopt(t, state);
        t.object->state = std::move(state);
        return false;
      }
      case 'Q':
        push(container(Kind::kPersistentId, {pop()}));
        return false;
      case 'q':
        memo_[little_endian(1)] = top();
        return false;
      case 'r':
        memo_[little_endian(4)] = top();
        return false;
      case 0x94:
        memo_[memo_.size()] = top();
        return false;
      case 'h':
        memo_get(little_endian(1));
        return false;
      case 'j':
        memo_get(little_endian(4));
        return false;
    }
    static const char* kHex = "0123456789abcdef";
    fail(std::string("unsupported opcode 0x") + kHex[op_ >> 4] + kHex[op_ & 15] +
         " (not one Python's protocols 2-5 use for plain data; corrupt or foreign file?)");
  }

  std::string_view data_;
  const AllowedGlobals& allowed_;
  std::string_view source_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  uint8_t op_ = 0;
  int64_t values_ = 0;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value> memo_;
  // Keys of each dict being filled; holding the Value keeps its address unique.
  std::unordered_map<const ValueAccess::Node*, std::pair<Value, std::unordered_set<std::string>>> keys_;
  Value result_;
};

}  // namespace

Value read(std::string_view bytes, const AllowedGlobals& allowed, std::string_view source) {
  return Reader(bytes, allowed, source).run();
}

Value read_file(const std::string& path, const AllowedGlobals& allowed) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path + ": read error (" + std::strerror(errno) + ")");
  return read(buffer.str(), allowed, path);
}

}  // namespace googlenet::pickle
