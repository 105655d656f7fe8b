# syntax=docker/dockerfile:1
# The spa image: the `spa` binary on a distroless base (glibc, OpenSSL, CA certificates;
# no shell, no package manager), run as the unprivileged user nonroot.
#
#   docker build -t spa .                                  # the image
#   docker build --target binary --output type=local,dest=dist .   # dist/spa only
#
# The release workflow builds each architecture natively (no emulation) and joins them
# under one multi-architecture tag.

FROM rust:1.95.0-bookworm AS build
WORKDIR /src
# zlib is built into the binary: the distroless base does not ship libz (OpenSSL and glibc
# come from the base image, from the same Debian release as this builder).
ENV LIBZ_SYS_STATIC=1
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p spa-controller \
    && strip target/release/spa \
    && install -D -m 0755 target/release/spa /out/spa \
    && ldd /out/spa

# The binary alone, for the release assets.
FROM scratch AS binary
COPY --from=build /out/spa /spa

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/spa /usr/local/bin/spa
# nonroot, by number so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532
# The admin endpoints when run with `--listen 0.0.0.0:8080` (deploy/automation.yaml).
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/spa", "controller", "health"]
ENTRYPOINT ["/usr/local/bin/spa"]
CMD ["--help"]
