#!/usr/bin/env bash
# Makes sure the services the test suite talks to are running on 127.0.0.1: MariaDB (3306),
# PostgreSQL (5432) and Redis (6379). A service that is down is started when this machine has
# it installed (as root it may install it from Debian's packages); otherwise this script stops
# with a message naming what is missing. Sourced by scripts/test.sh.

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local name=$1 port=$2
  for _ in $(seq 1 60); do
    port_open "$port" && return 0
    sleep 0.5
  done
  echo "error: $name did not come up on 127.0.0.1:$port" >&2
  return 1
}

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing $* from Debian's packages" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    return 1
  fi
}

ensure_mariadb() {
  port_open 3306 && return 0
  echo "MariaDB is not running on 127.0.0.1:3306; starting it" >&2
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server || {
    echo "error: MariaDB (mysql://root@127.0.0.1:3306) is required by the tests and is not installed" >&2
    return 1
  }
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_port MariaDB 3306
}

ensure_postgres() {
  port_open 5432 && return 0
  echo "PostgreSQL is not running on 127.0.0.1:5432; starting it" >&2
  ls /etc/postgresql/*/main >/dev/null 2>&1 || apt_install postgresql || {
    echo "error: PostgreSQL (postgres://postgres@127.0.0.1:5432) is required by the tests and is not installed" >&2
    return 1
  }
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  wait_port PostgreSQL 5432
}

ensure_redis() {
  port_open 6379 && return 0
  echo "Redis is not running on 127.0.0.1:6379; starting it" >&2
  command -v redis-server >/dev/null || apt_install redis-server || {
    echo "error: Redis (redis://127.0.0.1:6379) is required by the tests and is not installed" >&2
    return 1
  }
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port Redis 6379
}

# The Kafka-protocol broker the cluster tests start themselves (tansu, from crates.io). Built
# once (about 15 minutes on two cores) and reused afterwards.
TANSU_VERSION=0.6.0
ensure_tansu() {
  if [ -n "${REUSE_CHAT_TANSU:-}" ]; then
    [ -x "$REUSE_CHAT_TANSU" ] && return 0
    echo "error: REUSE_CHAT_TANSU=$REUSE_CHAT_TANSU is not an executable" >&2
    return 1
  fi
  command -v tansu >/dev/null && return 0
  [ -x "$HOME/.cargo/bin/tansu" ] && return 0
  echo "installing the Kafka-protocol broker tansu $TANSU_VERSION (cargo install; about 15 minutes, once)" >&2
  cargo install tansu --version "$TANSU_VERSION" --features dynostore --locked --quiet || {
    echo "error: the Kafka-protocol broker tansu is required by the cluster tests and could not be installed" >&2
    return 1
  }
}

# The S3-protocol server the photo tests run their bucket on (s3s-fs; 0.14.1 is the newest that
# builds with this toolchain). The tests start it themselves (S3S_FS names another binary).
S3S_FS_VERSION=0.14.1
ensure_s3s_fs() {
  if [ -n "${S3S_FS:-}" ]; then
    [ -x "$S3S_FS" ] && return 0
    echo "error: S3S_FS=$S3S_FS is not an executable" >&2
    return 1
  fi
  command -v s3s-fs >/dev/null && return 0
  [ -x "$HOME/.cargo/bin/s3s-fs" ] && { export PATH="$HOME/.cargo/bin:$PATH"; return 0; }
  echo "installing the S3-protocol server s3s-fs $S3S_FS_VERSION (cargo install; about 3 minutes, once)" >&2
  cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --locked --quiet || {
    echo "error: the S3-protocol server s3s-fs is required by the photo tests and could not be installed" >&2
    return 1
  }
}
