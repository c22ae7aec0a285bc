// See c10d_shim.h.  Only declarations from the c10d/gloo headers are used;
// the definitions live in libtorch_cpu.so (and libtorch_cuda.so for NCCL).
#include "c10d_shim.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef FERROFLOW_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

struct ff_group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  std::chrono::milliseconds timeout;
};

namespace {

void set_error(char** err, const std::string& message) {
  if (err == nullptr) {
    return;
  }
  *err = static_cast<char*>(std::malloc(message.size() + 1));
  if (*err != nullptr) {
    std::memcpy(*err, message.c_str(), message.size() + 1);
  }
}

// Runs f, turning any exception into an error message and `fail`.
template <typename F, typename R>
R guarded(char** err, R fail, F&& f) {
  try {
    return f();
  } catch (const c10::Error& e) {
    // what() carries a C++ backtrace; the message alone is what users need.
    set_error(err, e.what_without_backtrace());
  } catch (const std::exception& e) {
    set_error(err, e.what());
  } catch (...) {
    set_error(err, "unknown C++ exception");
  }
  return fail;
}

// Waits for a collective; wait() throws on a peer's failure or the timeout.
int wait_work(ff_group* g, const c10::intrusive_ptr<c10d::Work>& work) {
  if (!work->wait(g->timeout)) {
    throw std::runtime_error("collective did not complete within the timeout");
  }
  return 0;
}

}  // namespace

extern "C" {

ff_group* ff_group_new(const char* master_addr, uint16_t master_port, int rank,
                       int world_size, int64_t timeout_ms, int backend,
                       const char* device, int use_interface, char** err) {
  return guarded(err, static_cast<ff_group*>(nullptr), [&]() -> ff_group* {
    auto timeout = std::chrono::milliseconds(timeout_ms);
    c10d::TCPStoreOptions store_opts;
    store_opts.port = master_port;
    store_opts.isServer = rank == 0;
    store_opts.numWorkers = world_size;
    store_opts.waitWorkers = true;
    store_opts.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(std::string(master_addr), store_opts);

    c10::intrusive_ptr<c10d::Backend> pg;
    if (backend == 0) {
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      std::string dev(device == nullptr ? "" : device);
      // As torch.distributed: GLOO_SOCKET_IFNAME if set, else this host's name
      // (falling back to loopback when it does not resolve).
      if (use_interface != 0) {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(dev));
      } else if (!dev.empty()) {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(dev));
      } else {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, opts);
    } else {
#ifdef FERROFLOW_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world_size, opts);
#else
      throw std::runtime_error("built without the `nccl` feature");
#endif
    }
    return new ff_group{store, pg, timeout};
  });
}

int ff_group_all_reduce_sum(ff_group* g, void* t, char** err) {
  return guarded(err, -1, [&]() {
    std::vector<at::Tensor> tensors{*static_cast<at::Tensor*>(t)};
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    opts.timeout = g->timeout;
    return wait_work(g, g->backend->allreduce(tensors, opts));
  });
}

int ff_group_broadcast(ff_group* g, void* t, int root, char** err) {
  return guarded(err, -1, [&]() {
    std::vector<at::Tensor> tensors{*static_cast<at::Tensor*>(t)};
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    opts.rootTensor = 0;
    opts.timeout = g->timeout;
    return wait_work(g, g->backend->broadcast(tensors, opts));
  });
}

int ff_group_barrier(ff_group* g, char** err) {
  return guarded(err, -1, [&]() {
    c10d::BarrierOptions opts;
    opts.timeout = g->timeout;
    return wait_work(g, g->backend->barrier(opts));
  });
}

void ff_group_free(ff_group* g) {
  // Destructors may throw on a broken connection; nothing useful to report.
  try {
    delete g;
  } catch (...) {
  }
}

void ff_free_string(char* s) { std::free(s); }

int ff_nccl_compiled(void) {
#ifdef FERROFLOW_NCCL
  return 1;
#else
  return 0;
#endif
}

}  // extern "C"
