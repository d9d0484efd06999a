// The strict unpickler: a bounds-checked interpreter of the pickle opcodes that
// builds a pickle::Value tree and never imports or calls anything.
#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "googlenet/io/pickle.h"
#include "pickle_internal.h"

namespace googlenet::pickle {
namespace {

using detail::key_fingerprint;
using detail::valid_utf8;
using detail::ValueAccess;

// The opcodes this reader executes, and their names (for messages); others are
// refused.
constexpr std::string_view kOpcodes =
    "(.012JKMNQRTUXabcd}ehjl]qrst)uGBC\x80\x81\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x93\x94\x95";
// clang-format off
constexpr const char* kOpcodeNames[] = {
    "MARK", "STOP", "POP", "POP_MARK", "DUP", "BININT", "BININT1", "BININT2", "NONE", "BINPERSID",
    "REDUCE", "BINSTRING", "SHORT_BINSTRING", "BINUNICODE", "APPEND", "BUILD", "GLOBAL", "DICT",
    "EMPTY_DICT", "APPENDS", "BINGET", "LONG_BINGET", "LIST", "EMPTY_LIST", "BINPUT",
    "LONG_BINPUT", "SETITEM", "TUPLE", "EMPTY_TUPLE", "SETITEMS", "BINFLOAT", "BINBYTES",
    "SHORT_BINBYTES", "PROTO", "NEWOBJ", "TUPLE1", "TUPLE2", "TUPLE3", "NEWTRUE", "NEWFALSE",
    "LONG1", "LONG4", "SHORT_BINUNICODE", "BINUNICODE8", "BINBYTES8", "STACK_GLOBAL", "MEMOIZE",
    "FRAME"};
// clang-format on
static_assert(std::size(kOpcodeNames) == kOpcodes.size());

const char* opcode_name(uint8_t op) {
  const size_t i = kOpcodes.find(static_cast<char>(op));
  return i == std::string_view::npos ? nullptr : kOpcodeNames[i];
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
      if (op_ == '.') break;  // STOP
      step();
    }
    if (!marks_.empty() || stack_.size() != 1) fail("stack is not exactly one value at STOP");
    if (pos_ != data_.size()) {
      fail(std::to_string(data_.size() - pos_) + " trailing bytes after STOP (corrupt file?)");
    }
    return stack_.back();
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

  void memo_put(uint64_t index) { memo_[index] = top(); }

  void memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " was never stored");
    push(it->second);
  }

  // Executes the opcode in op_ (all but STOP).
  void step() {
    // str/bytes opcodes: (opcode, kind, bytes of the little-endian length).
    static constexpr std::tuple<uint8_t, Kind, int> kText[] = {
        {'X', Kind::kString, 4}, {0x8c, Kind::kString, 1}, {0x8d, Kind::kString, 8},
        {'U', Kind::kBytes, 1},  {'C', Kind::kBytes, 1},   {'B', Kind::kBytes, 4},
        {0x8e, Kind::kBytes, 8}};
    for (const auto& [code, kind, length_bytes] : kText) {
      if (code == op_) {
        return push_text(kind, little_endian(length_bytes));
      }
    }
    switch (op_) {
      case 0x80: {  // PROTO
        const uint64_t version = little_endian(1);
        if (op_pos_ != 0 || version < 2 || version > 5) {
          fail("protocol " + std::to_string(version) + " at this position; expected 2-5 at byte 0");
        }
        return;
      }
      case 0x95:  // FRAME: a length hint for buffering; only check it is within the data
        if (little_endian(8) > data_.size() - pos_) fail("truncated: FRAME longer than the rest");
        return;
      case '(':
        return marks_.push_back(stack_.size());
      case '0':
        pop();
        return;
      case '1':
        pop_mark();
        return;
      case '2':
        return push(top());
      case 'N':
        return push(make(Kind::kNone));
      case 0x88:
      case 0x89: {
        Value v = make(Kind::kBool);
        ValueAccess::node(v).b = op_ == 0x88;
        return push(std::move(v));
      }
      case 'J':
        return push_int(static_cast<int32_t>(little_endian(4)));
      case 'K':
        return push_int(static_cast<int64_t>(little_endian(1)));
      case 'M':
        return push_int(static_cast<int64_t>(little_endian(2)));
      case 0x8a:
        return push_long(little_endian(1));
      case 0x8b:
        return push_long(little_endian(4));
      case 'G': {
        const std::string_view b = take(8, "a float");
        uint64_t bits = 0;
        for (char c : b) bits = (bits << 8) | static_cast<uint8_t>(c);  // big-endian
        Value v = make(Kind::kFloat);
        std::memcpy(&ValueAccess::node(v).f, &bits, sizeof bits);
        return push(std::move(v));
      }
      case 'T': {
        const auto length = static_cast<int32_t>(little_endian(4));
        if (length < 0) fail("negative length " + std::to_string(length));
        return push_text(Kind::kBytes, static_cast<uint64_t>(length));
      }
      case ')':
        return push(container(Kind::kTuple, {}));
      case 't':
        return push(container(Kind::kTuple, pop_mark()));
      case 0x85:
      case 0x86:
      case 0x87: {
        Value::Items items(op_ - 0x84);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        return push(container(Kind::kTuple, std::move(items)));
      }
      case ']':
        return push(container(Kind::kList, {}));
      case 'l':
        return push(container(Kind::kList, pop_mark()));
      case 'a':
        return append({pop()});
      case 'e':
        return append(pop_mark());
      case '}':
        return push(make(Kind::kDict));
      case 'd': {
        Value::Items flat = pop_mark();
        push(make(Kind::kDict));
        return set_items(std::move(flat));
      }
      case 's': {
        Value v = pop();
        Value k = pop();
        return set_items({std::move(k), std::move(v)});
      }
      case 'u':
        return set_items(pop_mark());
      case 'c': {
        const std::string module = global_line();
        return push_global(module, global_line());
      }
      case 0x93: {
        const Value name = pop();
        const Value module = pop();
        if (!module.is(Kind::kString) || !name.is(Kind::kString)) fail("module/name are not str");
        return push_global(module.as_string(), name.as_string());
      }
      case 'R':
        return reduce(/*newobj=*/false);
      case 0x81:
        return reduce(/*newobj=*/true);
      case 'b': {
        Value state = pop();
        auto& t = target(/*list=*/false, /*dict=*/false, /*object=*/true);
        if (t.object->state) fail("a second BUILD on the same object");
        adopt(t, state);
        t.object->state = std::move(state);
        return;
      }
      case 'Q':
        return push(container(Kind::kPersistentId, {pop()}));
      case 'q':
        return memo_put(little_endian(1));
      case 'r':
        return memo_put(little_endian(4));
      case 0x94:
        return memo_put(memo_.size());
      case 'h':
        return memo_get(little_endian(1));
      case 'j':
        return memo_get(little_endian(4));
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
  std::unordered_map<const ValueAccess::Node*, std::pair<Value, std::unordered_set<std::string>>>
      keys_;
};

}  // namespace

Value read(std::string_view bytes, const AllowedGlobals& allowed, std::string_view source) {
  return Reader(bytes, allowed, source).run();
}

}  // namespace googlenet::pickle
