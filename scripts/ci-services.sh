#!/usr/bin/env bash
# The job tests talk to the real Redis (127.0.0.1:6379) and RabbitMQ (127.0.0.1:5672): start
# whichever is not answering (with the machine's own packages) and wait until both answer.
set -euo pipefail

up() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 2)" 2>/dev/null; }

if ! up 6379 && command -v redis-server >/dev/null; then
    echo "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /tmp --logfile /tmp/rapport-ci-redis.log
fi
if ! up 5672 && command -v rabbitmq-server >/dev/null; then
    echo "starting RabbitMQ"
    rabbitmq-server -detached
fi
for port in 6379 5672; do
    for _ in $(seq 1 60); do up "$port" && break; sleep 1; done
    up "$port" || { echo "nothing answers on 127.0.0.1:$port (Redis 6379, RabbitMQ 5672)"; exit 1; }
done
echo "Redis and RabbitMQ answer"
