// C ABI over libtorch's c10d (TCPStore + ProcessGroupGloo/NCCL) for Rust.
// Every function catches C++ exceptions; on failure it returns NULL/-1 and
// stores a malloc'd message in *err (free it with ff_free_string).
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ff_group ff_group;

// backend: 0 = gloo, 1 = nccl.  device: the interface name (GLOO_SOCKET_IFNAME)
// when use_interface != 0, else a hostname/address to bind to ("" = default).
ff_group* ff_group_new(const char* master_addr, uint16_t master_port, int rank,
                       int world_size, int64_t timeout_ms, int backend,
                       const char* device, int use_interface, char** err);
// t is a tch C_tensor (an at::Tensor*).
int ff_group_all_reduce_sum(ff_group* g, void* t, char** err);
int ff_group_broadcast(ff_group* g, void* t, int root, char** err);
int ff_group_barrier(ff_group* g, char** err);
void ff_group_free(ff_group* g);
void ff_free_string(char* s);
int ff_nccl_compiled(void);

#ifdef __cplusplus
}
#endif
