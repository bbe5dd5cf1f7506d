# Row 5: four independent stages (each ~1 s of sleep and 20 MB written) and a
# final stage that copies from all four. Serially this is >= 4 s of RUN time.
# The trailing `echo stage-X` keeps the four RUNs distinct, so no builder may
# merge them into one.
FROM @REGISTRY@/library/busybox:latest AS a
RUN sleep 1 && dd if=/dev/urandom of=/f bs=1M count=20 && echo stage-a

FROM @REGISTRY@/library/busybox:latest AS b
RUN sleep 1 && dd if=/dev/urandom of=/f bs=1M count=20 && echo stage-b

FROM @REGISTRY@/library/busybox:latest AS c
RUN sleep 1 && dd if=/dev/urandom of=/f bs=1M count=20 && echo stage-c

FROM @REGISTRY@/library/busybox:latest AS d
RUN sleep 1 && dd if=/dev/urandom of=/f bs=1M count=20 && echo stage-d

FROM @REGISTRY@/library/busybox:latest
COPY --from=a /f /a
COPY --from=b /f /b
COPY --from=c /f /c
COPY --from=d /f /d
