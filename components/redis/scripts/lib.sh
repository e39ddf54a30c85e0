TLS_ARGS=""
if [ "$TLS" = yes ]; then TLS_ARGS="--tls --cacert $TLS_DIR/@TLS_CA@"; fi

# Static Sentinel id: the same on every fresh start, and known to the peers in advance.
myid() { printf '%s' "$1" | sha1sum | cut -c1-40; }

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*" >&2; }

# rcli_as <password> [redis-cli arguments]: redis-cli with TLS and the given password, bounded in time.
rcli_as() {
    password=$1
    shift
    REDISCLI_AUTH="$password" timeout 5 redis-cli --no-auth-warning $TLS_ARGS "$@"
}

# rcli <password file> [redis-cli arguments]: with the password of the Secret `redis-auth`, which holds only
# passwords every server accepts (the ACL sync Job holds it back until they do). Output is stdout and stderr together.
rcli() {
    pwfile=$1
    shift
    rcli_as "$(cat "$AUTH_DIR/$pwfile")" "$@" 2>&1
}

# Double-quoted config value (the file format's escaping).
quote() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

# Digest of the files in the given directories (a mounted Secret changes them in place, through a symlink swap).
fingerprint() {
    for dir in "$@"; do cat "$dir"/* 2>/dev/null; done | cksum
}

# assemble_data_acl <file>: the data nodes' users file joined from its parts in the `redis-acl` Secret (`users.acl`,
# then `users.acl.001`, ...: Key Vault holds at most 25 KB a secret), in order, written whole to <file>.
assemble_data_acl() {
    for part in "$ACL_DIR/@DATA_ACL_FILE@" "$ACL_DIR/@DATA_ACL_FILE@".*; do
        if [ -f "$part" ]; then cat "$part"; fi
    done > "$1.tmp"
    mv "$1.tmp" "$1"
}

# apply_acl <host> <port> <acl file>: the server's users become what the file says, in place. `ACL LOAD` would do
# it too, but Redis 7.0 disconnects every client of every user on ACL LOAD (replication and Sentinel links,
# applications); `ACL SETUSER` changes a user without touching its connections. Users not in the file are deleted.
# The file is applied in order and stops at the first line the server refuses. Its marker users (what the ACL sync
# Jobs wait for) come last, after the deletions: a marker must never stand for a file whose users the server did not
# all take, nor for one whose removed users still log in.
apply_acl() {
    host=$1
    port=$2
    file=$3
    wanted=" "
    markers=""
    failed=0
    # Not up yet (or loading its data): the next round applies the file.
    [ "$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$host" -p "$port" PING)" = PONG ] || return 1
    set -f
    while IFS= read -r line; do
        # shellcheck disable=SC2086
        set -- $line
        [ "${1:-}" = user ] || continue
        name=$2
        wanted="$wanted$name "
        case "$name" in
            # Markers last: one stands for the whole file, deletions included (a removed application's user).
            @ACL_MARKER_PREFIX@*)
                markers="$markers$line
"
                continue
                ;;
        esac
        set_user "$@" || failed=1
        [ "$failed" -eq 0 ] || break
    done < "$file"
    if [ "$failed" -eq 0 ]; then
        users=$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$host" -p "$port" ACL USERS) || failed=1
        for user in $users; do
            case "$wanted" in
                *" $user "*) ;;
                *) rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$host" -p "$port" ACL DELUSER "$user" >/dev/null || failed=1 ;;
            esac
        done
    fi
    if [ "$failed" -eq 0 ]; then
        while IFS= read -r line; do
            # shellcheck disable=SC2086
            [ -z "$line" ] || set_user $line || failed=1
        done <<EOF_MARKERS
$markers
EOF_MARKERS
    fi
    set +f
    return "$failed"
}

# set_user user <name> <rules...>: one users-file line applied to $host:$port (apply_acl's), its refusal logged.
set_user() {
    name=$2
    shift 2
    reply=$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$host" -p "$port" ACL SETUSER "$name" reset "$@")
    [ "$reply" = OK ] && return 0
    log "ACL SETUSER $name: $reply"
    return 1
}

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
