FROM scratch
ARG GREETING=hello
LABEL org.example.stage=final
COPY hello.txt /hello.txt
