TLS_ARGS=""
if [ "$TLS" = yes ]; then TLS_ARGS="--tls --cacert $TLS_DIR/@TLS_CA@"; fi

# Static Sentinel id: the same on every fresh start, and known to the peers in advance.
myid() { printf '%s' "$1" | sha1sum | cut -c1-40; }

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*" >&2; }

# rcli <password file> [redis-cli arguments]: redis-cli with TLS and a password from the Secret, bounded in time.
rcli() {
    pwfile=$1
    shift
    REDISCLI_AUTH="$(cat "$AUTH_DIR/$pwfile")" timeout 5 redis-cli --no-auth-warning $TLS_ARGS "$@"
}

# Double-quoted config value (the file format's escaping).
quote() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

# sentinel_votes [skip]: "<count> <host:port>" lines, most named master first, from every Sentinel but <skip>.
sentinel_votes() {
    skip="${1:-}"
    for s in $SENTINELS; do
        [ "$s" = "$skip" ] && continue
        reply=$(rcli @SENTINEL_CLIENT_PASSWORD_FILE@ -h "${s%:*}" -p "${s##*:}" SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | tr '\r\n' '  ') || reply=""
        # shellcheck disable=SC2086
        set -- $reply
        if [ $# -eq 2 ] && [ "$2" -eq "$2" ] 2>/dev/null; then echo "$1:$2"; fi
    done | sort | uniq -c | sort -rn
}
