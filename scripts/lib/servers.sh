# Starts and stops the real servers the integration tests use, all on 127.0.0.1: moto's S3 + SQS
# API, PostgreSQL and an SMTP sink. Sourced by scripts/test.sh after lib/setup.sh.
# start_servers exports:
#   INGEST_TEST_AWS_ENDPOINT  http://127.0.0.1:PORT  (S3 and SQS)
#   INGEST_TEST_PG_URL        postgres://postgres@127.0.0.1:PORT/postgres (TLS on, not required)
#   INGEST_TEST_PG_CA         the CA certificate (PEM) that signed the server's certificate
#   INGEST_TEST_SMTP_URL      smtp://127.0.0.1:PORT?tls=none  (the sink speaks plain SMTP)
#   INGEST_TEST_SMTP_DIR      the folder the SMTP sink writes each message to

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for DESCRIPTION SECONDS COMMAND... — polls until COMMAND succeeds.
wait_for() {
    local what=$1 seconds=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then
            echo "FAILED: $what did not start within ${seconds}s" >&2
            return 1
        fi
        sleep 0.2
    done
}

start_servers() {
    SERVERS_DIR=$(mktemp -d /tmp/ocean-ingest-servers.XXXXXX)
    chmod 755 "$SERVERS_DIR" # the postgres user must be able to enter it
    export SERVERS_DIR

    local aws_port pg_port smtp_port
    aws_port=$(free_port)
    log "starting moto (S3 + SQS) on 127.0.0.1:$aws_port"
    "$OCEAN_INGEST_VENV/bin/moto_server" -H 127.0.0.1 -p "$aws_port" >"$SERVERS_DIR/moto.log" 2>&1 &
    echo $! > "$SERVERS_DIR/moto.pid"
    wait_for "moto" 30 curl -sf "http://127.0.0.1:$aws_port/moto-api/" || { cat "$SERVERS_DIR/moto.log" >&2; return 1; }
    export INGEST_TEST_AWS_ENDPOINT="http://127.0.0.1:$aws_port"

    pg_port=$(free_port)
    log "starting PostgreSQL on 127.0.0.1:$pg_port"
    local bin
    bin=$(pg_bindir)
    mkdir -p "$SERVERS_DIR/pg"
    chown postgres: "$SERVERS_DIR/pg"
    local as_pg=()
    [ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
    "${as_pg[@]}" "$bin/initdb" -D "$SERVERS_DIR/pg/data" -U postgres --auth=trust -E UTF8 >"$SERVERS_DIR/initdb.log" 2>&1 \
        || { cat "$SERVERS_DIR/initdb.log" >&2; echo "FAILED: initdb" >&2; return 1; }
    # TLS as RDS offers it: a throwaway CA signs a certificate for 127.0.0.1.
    local tls="$SERVERS_DIR/pg/tls"
    mkdir -p "$tls"
    {
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ocean-ingest test CA" \
            -keyout "$tls/ca.key" -out "$tls/ca.crt" &&
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
            -keyout "$tls/server.key" -out "$tls/server.csr" &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$tls/san.ext" &&
        openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
            -days 2 -extfile "$tls/san.ext" -out "$tls/server.crt"
    } >"$SERVERS_DIR/openssl.log" 2>&1 || { cat "$SERVERS_DIR/openssl.log" >&2; echo "FAILED: the test TLS certificates" >&2; return 1; }
    chown -R postgres: "$tls"
    chmod 600 "$tls/server.key"
    "${as_pg[@]}" "$bin/pg_ctl" -D "$SERVERS_DIR/pg/data" -l "$SERVERS_DIR/pg/log" -w \
        -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $SERVERS_DIR/pg -c fsync=off -c max_connections=200 -c ssl=on -c ssl_cert_file=$tls/server.crt -c ssl_key_file=$tls/server.key" start >/dev/null \
        || { cat "$SERVERS_DIR/pg/log" >&2; echo "FAILED: PostgreSQL did not start" >&2; return 1; }
    export INGEST_TEST_PG_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
    export INGEST_TEST_PG_CA="$tls/ca.crt"

    smtp_port=$(free_port)
    log "starting the SMTP sink on 127.0.0.1:$smtp_port"
    export INGEST_TEST_SMTP_DIR="$SERVERS_DIR/smtp"
    "$OCEAN_INGEST_VENV/bin/python" scripts/smtp_sink.py "$smtp_port" "$INGEST_TEST_SMTP_DIR" >"$SERVERS_DIR/smtp.log" 2>&1 &
    echo $! > "$SERVERS_DIR/smtp.pid"
    wait_for "the SMTP sink" 30 python3 -c "import socket; socket.create_connection(('127.0.0.1', $smtp_port), 1).close()" \
        || { cat "$SERVERS_DIR/smtp.log" >&2; return 1; }
    export INGEST_TEST_SMTP_URL="smtp://127.0.0.1:$smtp_port?tls=none"
}

stop_servers() {
    [ -n "${SERVERS_DIR:-}" ] || return 0
    for pidfile in "$SERVERS_DIR"/*.pid; do
        [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    if [ -d "$SERVERS_DIR/pg/data" ]; then
        local as_pg=()
        [ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
        "${as_pg[@]}" "$(pg_bindir)/pg_ctl" -D "$SERVERS_DIR/pg/data" -m fast stop >/dev/null 2>&1 || true
    fi
    rm -rf "$SERVERS_DIR"
}
