//! Bakes libtorch's directory into the binary's rpath and compiles the c10d
//! shim (`csrc/c10d_shim.cpp`) against the same libtorch headers torch-sys uses.
use std::env;
use std::path::PathBuf;

fn main() {
    // torch-sys (`links = "tch"`) publishes the directory it linked against.
    let lib_dir = PathBuf::from(
        env::var("DEP_TCH_LIBTORCH_LIB")
            .expect("torch-sys did not publish DEP_TCH_LIBTORCH_LIB; is LIBTORCH set?"),
    );
    let libtorch = lib_dir
        .parent()
        .expect("libtorch lib dir has a parent")
        .to_path_buf();

    // torch-sys puts no rpath into downstream binaries: without this the
    // binary only runs with LD_LIBRARY_PATH set.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
    println!(
        "cargo:rustc-env=FERROFLOW_LIBTORCH_LIB={}",
        lib_dir.display()
    );

    let cxx11_abi = env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    println!("cargo:rerun-if-env-changed=GLOO_INCLUDE_DIR");
    println!("cargo:rerun-if-changed=csrc/c10d_shim.cpp");
    println!("cargo:rerun-if-changed=csrc/c10d_shim.h");

    let mut build = cc::Build::new();
    build
        .cpp(true)
        .pic(true)
        .warnings(false)
        .file("csrc/c10d_shim.cpp")
        .include(libtorch.join("include"))
        .include(libtorch.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={cxx11_abi}"))
        .define("USE_C10D_GLOO", None)
        .define("GLOG_USE_GLOG_EXPORT", None);
    // The wheel ships gloo's symbols inside libtorch_cpu.so but not its
    // headers; Debian's libgloo-dev supplies them under /usr/include.
    if let Ok(gloo) = env::var("GLOO_INCLUDE_DIR") {
        build.include(gloo);
    }
    if env::var_os("CARGO_FEATURE_NCCL").is_some() {
        build.define("FERROFLOW_NCCL", None);
        build.define("USE_C10D_NCCL", None);
        // NCCL's header comes from the nvidia-nccl wheel next to torch.
        let nvidia = libtorch.join("../nvidia");
        for sub in ["nccl/include", "cu13/include"] {
            build.include(nvidia.join(sub));
        }
    }
    build.compile("ferroflow_c10d");
}
