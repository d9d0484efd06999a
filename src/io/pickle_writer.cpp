// The protocol-2 pickle writer (what torch.save's data.pkl uses).
#include <cstring>
#include <stdexcept>

#include "googlenet/io/pickle.h"

namespace googlenet::pickle {

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
