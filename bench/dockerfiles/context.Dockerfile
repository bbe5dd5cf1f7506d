# Row 6: copy a big generated build context (run.sh: BENCH_CTX_FILES files,
# BENCH_CTX_MB MiB) into the image.
FROM @REGISTRY@/library/busybox:latest
COPY . /ctx
