# Per-step overhead: ten RUN steps that do nothing; built with --no-cache, so
# each one starts a container, snapshots and commits a layer.
FROM @REGISTRY@/library/busybox:latest
RUN true
RUN true
RUN true
RUN true
RUN true
RUN true
RUN true
RUN true
RUN true
RUN true
