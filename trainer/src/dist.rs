//! Collectives through libtorch's own c10d (the library PyTorch DDP uses):
//! a `TCPStore` served by rank 0 for rendezvous and `ProcessGroupGloo` for
//! CPU tensors (`ProcessGroupNCCL` with the `nccl` feature).  The C++ side
//! lives in `csrc/c10d_shim.cpp`; every call returns C++ exceptions as errors.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tch::{Device, Tensor};

use crate::env::Rendezvous;

#[repr(C)]
struct FfGroup {
    _private: [u8; 0],
}

extern "C" {
    fn ff_group_new(
        master_addr: *const c_char,
        master_port: u16,
        rank: c_int,
        world_size: c_int,
        timeout_ms: i64,
        backend: c_int,
        device: *const c_char,
        use_interface: c_int,
        err: *mut *mut c_char,
    ) -> *mut FfGroup;
    fn ff_group_all_reduce_sum(g: *mut FfGroup, t: *mut c_void, err: *mut *mut c_char) -> c_int;
    fn ff_group_broadcast(
        g: *mut FfGroup,
        t: *mut c_void,
        root: c_int,
        err: *mut *mut c_char,
    ) -> c_int;
    fn ff_group_barrier(g: *mut FfGroup, err: *mut *mut c_char) -> c_int;
    fn ff_group_free(g: *mut FfGroup);
    fn ff_free_string(s: *mut c_char);
    fn ff_nccl_compiled() -> c_int;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Gloo,
    Nccl,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Gloo => "gloo",
            Backend::Nccl => "nccl",
        }
    }

    pub fn compiled(self) -> bool {
        match self {
            Backend::Gloo => true,
            // SAFETY: a constant-returning C function.
            Backend::Nccl => unsafe { ff_nccl_compiled() != 0 },
        }
    }
}

/// Turns the shim's error out-parameter into an anyhow error (and frees it).
fn take_error(err: *mut c_char, what: &str) -> anyhow::Error {
    if err.is_null() {
        return anyhow!("{what} failed");
    }
    // SAFETY: the shim allocates a NUL-terminated string with malloc.
    let message = unsafe { CStr::from_ptr(err) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: allocated by the shim, released once here.
    unsafe { ff_free_string(err) };
    anyhow!("{what}: {}", message.trim())
}

/// One process's membership in the group of all ranks.
pub struct ProcessGroup {
    raw: *mut FfGroup,
    pub rank: usize,
    pub world_size: usize,
    pub backend: Backend,
    /// Where this rank's tensors live (CPU for gloo, its GPU for NCCL).
    pub device: Device,
    /// Set after a failed collective: the C++ destructor may then block on
    /// dead peers, so the group is deliberately leaked instead.
    broken: bool,
}

// SAFETY: c10d process groups are thread-safe; we only move the handle.
unsafe impl Send for ProcessGroup {}

impl ProcessGroup {
    /// Joins the group: rank 0 serves the TCPStore on `MASTER_PORT`, the
    /// others connect to it; fails if not all ranks arrive within `timeout`.
    pub fn connect(
        rendezvous: &Rendezvous,
        backend: Backend,
        device: Device,
        timeout: Duration,
    ) -> Result<Self> {
        if !backend.compiled() {
            bail!(
                "backend {} needs ferroflow-train built with --features nccl",
                backend.name()
            );
        }
        // Device selection as torch.distributed: GLOO_SOCKET_IFNAME names an
        // interface; otherwise bind to this host's own name (loopback if it
        // does not resolve).
        let (interface, use_interface) = match std::env::var("GLOO_SOCKET_IFNAME") {
            Ok(ifname) if !ifname.is_empty() => {
                // torch accepts a comma-separated list; one device is enough here.
                (ifname.split(',').next().unwrap_or_default().to_owned(), 1)
            }
            _ => (String::new(), 0),
        };
        let addr =
            CString::new(rendezvous.master_addr.clone()).context("MASTER_ADDR contains NUL")?;
        let interface = CString::new(interface).context("GLOO_SOCKET_IFNAME contains NUL")?;
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: valid C strings; err is an out-parameter.
        let raw = unsafe {
            ff_group_new(
                addr.as_ptr(),
                rendezvous.master_port,
                rendezvous.rank as c_int,
                rendezvous.world_size as c_int,
                timeout.as_millis() as i64,
                match backend {
                    Backend::Gloo => 0,
                    Backend::Nccl => 1,
                },
                interface.as_ptr(),
                use_interface,
                &mut err,
            )
        };
        if raw.is_null() {
            return Err(take_error(err, "joining the process group")).with_context(|| {
                format!(
                    "rank {} of {} at {}:{}",
                    rendezvous.rank,
                    rendezvous.world_size,
                    rendezvous.master_addr,
                    rendezvous.master_port
                )
            });
        }
        Ok(ProcessGroup {
            raw,
            rank: rendezvous.rank,
            world_size: rendezvous.world_size,
            backend,
            device,
            broken: false,
        })
    }

    fn check(&mut self, rc: c_int, err: *mut c_char, what: &str) -> Result<()> {
        if rc == 0 {
            return Ok(());
        }
        self.broken = true;
        Err(take_error(err, what))
            .with_context(|| format!("rank {} of {}", self.rank, self.world_size))
    }

    /// Sums `tensor` over all ranks, in place.  The tensor must be dense and
    /// contiguous (the collective writes into its storage).
    pub fn all_reduce_sum(&mut self, tensor: &mut Tensor) -> Result<()> {
        if !tensor.is_contiguous() {
            bail!("all_reduce needs a contiguous tensor");
        }
        let mut err = std::ptr::null_mut();
        // SAFETY: raw is live; as_mut_ptr is tch's at::Tensor*.
        let rc = unsafe {
            ff_group_all_reduce_sum(self.raw, tensor.as_mut_ptr() as *mut c_void, &mut err)
        };
        self.check(rc, err, "all_reduce")
    }

    /// Copies `root`'s `tensor` into every rank's `tensor`, in place.
    pub fn broadcast(&mut self, tensor: &mut Tensor, root: usize) -> Result<()> {
        if !tensor.is_contiguous() {
            bail!("broadcast needs a contiguous tensor");
        }
        let mut err = std::ptr::null_mut();
        // SAFETY: as above.
        let rc = unsafe {
            ff_group_broadcast(
                self.raw,
                tensor.as_mut_ptr() as *mut c_void,
                root as c_int,
                &mut err,
            )
        };
        self.check(rc, err, "broadcast")
    }

    /// Sums small host-side statistics over all ranks.
    pub fn all_reduce_f64(&mut self, values: &[f64]) -> Result<Vec<f64>> {
        let mut t = Tensor::from_slice(values).to_device(self.device);
        self.all_reduce_sum(&mut t)?;
        Ok(Vec::<f64>::try_from(&t.to_device(Device::Cpu))?)
    }

    /// `root`'s `values` on every rank.
    pub fn broadcast_i64(&mut self, values: &[i64], root: usize) -> Result<Vec<i64>> {
        let mut t = Tensor::from_slice(values).to_device(self.device);
        self.broadcast(&mut t, root)?;
        Ok(Vec::<i64>::try_from(&t.to_device(Device::Cpu))?)
    }

    pub fn barrier(&mut self) -> Result<()> {
        let mut err = std::ptr::null_mut();
        // SAFETY: raw is live.
        let rc = unsafe { ff_group_barrier(self.raw, &mut err) };
        self.check(rc, err, "barrier")
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if !self.broken {
            // SAFETY: created by ff_group_new, freed once.
            unsafe { ff_group_free(self.raw) };
        }
    }
}

/// `dlopen("libtorch_cuda.so")` so CUDA kernels register on GPU nodes: the
/// linker's `--as-needed` drops the library from the binary since no symbol
/// of it is referenced.  Failure (no CUDA libraries) leaves a CPU build.
pub fn load_cuda_kernels() -> bool {
    let name = c"libtorch_cuda.so";
    // SAFETY: dlopen with a valid C string; the handle is kept for the
    // process lifetime on purpose.
    let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    if handle.is_null() {
        // The rpath of the binary is not searched by dlopen from a library
        // call site in all cases; try libtorch's own directory explicitly.
        let path = format!("{}/libtorch_cuda.so", env!("FERROFLOW_LIBTORCH_LIB"));
        let Ok(path) = CString::new(path) else {
            return false;
        };
        // SAFETY: as above.
        let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
        return !handle.is_null();
    }
    true
}
