// The one exception type that means "the command line (or its environment) asks for
// something this program cannot do": `main` maps it to exit status 2, every other error
// to 1.
#pragma once

#include <stdexcept>

namespace googlenet {

// A bad flag value or combination, caught where the user's settings are checked
// (TrainConfig::validate, BenchOptions::validate, ...). Derives from
// std::invalid_argument, so callers that catch that still catch it.
class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace googlenet
