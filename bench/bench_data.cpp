// One epoch of training-data preparation alone (shuffle, RandomCrop + flip,
// normalise, batches of 128), no model: images per second for each thread count.
// Usage: bench_data [DATA_DIR] [THREADS...]   (defaults: $GOOGLENET_DATA, 1 2)
// bench/data_peer.py times torchvision's pipeline on the same images.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "googlenet/cifar.h"
#include "googlenet/loader.h"

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  try {
    const char* env = std::getenv("GOOGLENET_DATA");
    const std::string dir = argc > 1 ? argv[1] : (env != nullptr ? env : "../shared/data");
    std::vector<int64_t> thread_counts;
    for (int i = 2; i < argc; ++i) thread_counts.push_back(std::stoll(argv[i]));
    if (thread_counts.empty()) thread_counts = {1, 2};

    auto start = Clock::now();
    auto data = std::make_shared<const googlenet::Cifar10>(
        googlenet::load_cifar10(dir, googlenet::Split::kTrain));
    std::cout << "load " << data->source << ": " << data->size() << " images in "
              << std::chrono::duration<double>(Clock::now() - start).count() << " s\n";

    for (int64_t threads : thread_counts) {
      googlenet::LoaderOptions options;
      options.threads = threads;
      googlenet::CifarLoader loader(data, options);
      double best = 0;
      for (int64_t epoch = 0; epoch < 3; ++epoch) {  // best of 3: the machine is shared
        start = Clock::now();
        loader.start_epoch(epoch);
        int64_t images = 0;
        while (auto batch = loader.next()) images += batch->labels.size(0);
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        best = std::max(best, images / seconds);
      }
      std::cout << "threads=" << threads << " batch=" << options.batch_size
                << " epoch_images=" << data->size() << " img/s=" << static_cast<int64_t>(best)
                << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
