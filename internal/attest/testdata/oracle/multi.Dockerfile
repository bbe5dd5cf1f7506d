FROM 127.0.0.1:56441/multi:1
COPY hello.txt /again.txt
