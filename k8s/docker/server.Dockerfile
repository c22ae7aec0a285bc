# ferroflow server image: the release binary plus the MLflow UI assets taken
# from the `mlflow` wheel, on distroless (glibc, non-root uid 65532).
# From the repository root (no Docker engine runs in CI, so CI does not build it):
#   docker build -f k8s/docker/server.Dockerfile -t ferroflow:0.1.0 .
ARG RUST_VERSION=1.95
ARG MLFLOW_VERSION=3.17.2

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
# Every workspace member's sources (cargo loads the whole workspace).
COPY Cargo.toml Cargo.lock ./
COPY server server
COPY migrations migrations
COPY trainer trainer
COPY k8s/launcher k8s/launcher
RUN cargo build --release --locked -p ferroflow-server --bin ferroflow

FROM python:3.12-slim-bookworm AS ui
ARG MLFLOW_VERSION
RUN pip download --no-deps --only-binary=:all: -d /wheel "mlflow==${MLFLOW_VERSION}" \
 && python -c "import glob, zipfile; z = zipfile.ZipFile(glob.glob('/wheel/mlflow-*.whl')[0]); [z.extract(n, '/x') for n in z.namelist() if n.startswith('mlflow/server/js/build/')]" \
 && mv /x/mlflow/server/js/build /ui

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/ferroflow /usr/local/bin/ferroflow
COPY --from=ui /ui /usr/share/ferroflow/ui
ENV FERROFLOW_UI_DIR=/usr/share/ferroflow/ui
USER 65532:65532
EXPOSE 5000
ENTRYPOINT ["/usr/local/bin/ferroflow"]
CMD ["server", "--host", "0.0.0.0", "--port", "5000"]
