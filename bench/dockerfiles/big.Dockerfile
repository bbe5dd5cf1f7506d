# Row 7: a ~BENCH_BIG_MB image of four incompressible layers, for the export
# and push measurements. @LAYER_MB@ is BENCH_BIG_MB/4.
FROM @REGISTRY@/library/busybox:latest
RUN dd if=/dev/urandom of=/big1 bs=1M count=@LAYER_MB@ status=none
RUN dd if=/dev/urandom of=/big2 bs=1M count=@LAYER_MB@ status=none
RUN dd if=/dev/urandom of=/big3 bs=1M count=@LAYER_MB@ status=none
RUN dd if=/dev/urandom of=/big4 bs=1M count=@LAYER_MB@ status=none
