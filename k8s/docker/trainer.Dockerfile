# ferroflow-train image: the release binary plus the five libtorch runtime
# files from the PyPI wheels (≈425 MB), in the wheels' relative layout under
# one site-packages directory (libtorch_cpu.so finds the CUDA stubs through
# its own $ORIGIN/../../nvidia/cu13/lib runpath), on distroless, non-root.
# From the repository root (no Docker engine runs in CI, so CI does not build it):
#   docker build -f k8s/docker/trainer.Dockerfile -t ferroflow-trainer:0.1.0 .
ARG RUST_VERSION=1.95
ARG SITE=/opt/ferroflow/site-packages

FROM rust:${RUST_VERSION}-bookworm AS build
ARG SITE
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-pip libgloo-dev \
 && rm -rf /var/lib/apt/lists/*
# The versions of scripts/setup-libtorch.sh (tch 0.26 = libtorch 2.13).
RUN pip3 install --break-system-packages --no-deps --target ${SITE} \
      torch==2.13.0 "nvidia-cuda-runtime==13.0.96.*" "nvidia-cuda-cupti==13.0.85.*"
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY server server
COPY migrations migrations
COPY trainer trainer
COPY k8s/launcher k8s/launcher
# The binary's runpath is ${SITE}/torch/lib, the same path as in the final image.
ENV LIBTORCH=${SITE}/torch LIBTORCH_CXX11_ABI=1
RUN cargo build --release --locked -p ferroflow-trainer --bin ferroflow-train

FROM gcr.io/distroless/cc-debian12:nonroot
ARG SITE
COPY --from=build ${SITE}/torch/lib/libtorch_cpu.so ${SITE}/torch/lib/libc10.so ${SITE}/torch/lib/libgomp.so.1 ${SITE}/torch/lib/
COPY --from=build ${SITE}/nvidia/cu13/lib/libcudart.so.13 ${SITE}/nvidia/cu13/lib/libcupti.so.13 ${SITE}/nvidia/cu13/lib/
COPY --from=build /src/target/release/ferroflow-train /usr/local/bin/ferroflow-train
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/ferroflow-train"]
CMD ["run"]
