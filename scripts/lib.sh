# Shared by scripts/run and scripts/test: find or install what Beacon needs.
# Installs system packages only when running as root; otherwise stops with the package name.

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    die "missing: $* — install with: sudo apt-get install -y $*"
  fi
  command -v apt-get >/dev/null || die "missing: $* (no apt-get here; install them with your package manager)"
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The directory holding initdb, pg_ctl and pg_isready (Debian keeps them off PATH).
pg_bin_dir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/pg_isready" ]; then
      echo "$dir"; return 0
    fi
  done
  return 1
}

ensure_rust() {
  command -v cargo >/dev/null || die "missing: Rust (cargo). Install it with rustup, then run this again."
}

ensure_postgres_server() {
  if [ -z "${DATABASE_URL:-}" ] && ! pg_bin_dir >/dev/null; then
    apt_install postgresql
  fi
  # The hll extension (HyperLogLog sketches for the rollups), for the local server's major
  # version. A remote DATABASE_URL server needs it too; the migration names it if missing.
  if pg_bin_dir >/dev/null; then
    local major; major="$(basename "$(dirname "$(pg_bin_dir)")")"
    [ -f "/usr/share/postgresql/$major/extension/hll.control" ] || apt_install "postgresql-$major-hll"
  fi
  if [ -z "${DATABASE_URL:-}" ] && [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    die "running as root needs the 'postgres' system user (created by the postgresql package)"
  fi
}

ensure_build_tools() {
  command -v cc >/dev/null || apt_install build-essential
  command -v pkg-config >/dev/null || apt_install pkg-config
  # SAML sign-in (samael) checks XML signatures with xmlsec: its headers and libclang (for
  # the bindings) to build, libxmlsec1-openssl to run; OpenSSL's headers for samael's openssl.
  local missing=()
  pkg-config --exists xmlsec1-openssl 2>/dev/null || missing+=(libxmlsec1-dev libxml2-dev)
  pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
  # bindgen loads libclang.so or libclang-<version>.so (libclang-cpp, which some machines
  # have without it, does not do).
  compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null || compgen -G '/usr/lib/*/libclang-[0-9]*.so*' >/dev/null \
    || compgen -G '/usr/lib/*/libclang.so*' >/dev/null || missing+=(libclang-dev)
  ls /usr/lib/*/libxmlsec1-openssl.so* >/dev/null 2>&1 || missing+=(libxmlsec1-openssl)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# Fetches a pinned npm package into target/<name>/<version>/ once, and prints the path of one
# of its files: ensure_npm_file NAME PACKAGE VERSION FILE
ensure_npm_file() {
  local name="$1" package="$2" version="$3" file="$4"
  local dir="$PWD/target/$name/$version"
  if [ ! -f "$dir/package/$file" ]; then
    command -v npm >/dev/null || apt_install npm
    mkdir -p "$dir"
    log "fetching $package@$version from npm"
    (cd "$dir" && npm pack --silent "$package@$version" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
  fi
  echo "$dir/package/$file"
}

# The CC0 country database (MaxMind format).
ensure_geo_db() {
  ensure_npm_file geo @ip-location-db/geo-whois-asn-country-mmdb 2.3.2026061719 geo-whois-asn-country.mmdb
}

# Node.js 20.19 or newer (Vite's floor) with npm. Debian 12's own nodejs is 18, too old:
# then this stops and says so rather than failing later inside the build.
ensure_node() {
  command -v node >/dev/null || apt_install nodejs
  command -v npm >/dev/null || apt_install npm
  local version major minor
  version="$(node -p 'process.versions.node')"
  major="${version%%.*}"
  minor="${version#*.}"; minor="${minor%%.*}"
  if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 19 ]; }; then
    die "Node.js $version is too old for the dashboard build: install Node.js 20.19 or newer (Debian 12's nodejs package is 18; use NodeSource's nodejs 20.x or 22.x), then run this again"
  fi
}

# web/node_modules, installed from the lock file whenever it changed since the last install.
ensure_web_deps() {
  ensure_node
  if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    log "npm ci (web)"
    npm ci --prefix web --no-audit --no-fund --loglevel=error
  fi
}

# A hash of what the dashboard's build reads: its sources, the npm manifest and lock file (the
# tests, browser tests and the build output are left out).
dashboard_inputs_hash() {
  (
    cd web
    find dashboard -path dashboard/dist -prune -o -path dashboard/e2e -prune \
      -o -path dashboard/test -prune -o -name node_modules -prune -o -type f -print0 \
      | LC_ALL=C sort -z | xargs -0 sha256sum
    sha256sum package.json package-lock.json
  ) | sha256sum | cut -d' ' -f1
}

# Builds the dashboard unless its inputs are the same as at its last build here (a stamp in
# target/). Skipping it also leaves web/dashboard/dist untouched, so Cargo (whose build script
# watches that folder) does not recompile the binary that embeds it.
build_dashboard_if_changed() {
  local stamp=target/dashboard-inputs.sha256 hash
  hash="$(dashboard_inputs_hash)"
  if [ -f web/dashboard/dist/index.html ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
    log "dashboard unchanged since its last build"
    return 0
  fi
  log "building the dashboard"
  npm --prefix web run --silent build:dashboard
  mkdir -p target
  echo "$hash" >"$stamp"
}

# Debian's Chromium, for the browser tests (no browser downloads).
ensure_chromium() {
  if [ -z "${BEACON_CHROMIUM:-}" ]; then
    [ -x /usr/bin/chromium ] || apt_install chromium
    export BEACON_CHROMIUM=/usr/bin/chromium
  fi
}
