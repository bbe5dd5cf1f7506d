FROM 127.0.0.1:56441/busybox:1 AS base
ARG GREETING=hello
RUN --mount=type=secret,id=token cat /run/secrets/token > /dev/null && echo "$GREETING" > /greeting

FROM base AS final
ADD --checksum=sha256:9347bf9e5b6f42fa181ab19631e9011b836363d3a08b05a8faf318868be5882e http://127.0.0.1:45509/file.txt /file.txt
ADD git://127.0.0.1:35617/repo.git#main /src
LABEL org.example.stage=final
