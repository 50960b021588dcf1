#!/usr/bin/env bash
# A throw-away IMAP server (Dovecot, from Debian's packages, installed when missing) on loopback for
# the progress-by-reply tests: IMAPS on one port, IMAP with STARTTLS on the next, a certificate of
# its own (its CA file is printed), and any user name logging in with the test password gets a
# mailbox of its own, so that every test has an empty one.
#
#   dovecot.sh [start]   start it unless it answers on the port; print "HOST:PORT:STARTTLS_PORT:CA_FILE"
#   dovecot.sh running   exit 0 when it answers on the port, 1 when nothing does
#   dovecot.sh stop      stop the server this script started in $DATA and remove its folder
#
# DUBAN_IMAP_PORT (10993; STARTTLS on the next port) and DUBAN_IMAP_DATA (/tmp/duban-imap-PORT)
# choose the ports and the folder. The password is DUBAN_IMAP_TEST_PASSWORD (duban-test-imap):
# the server listens on 127.0.0.1 only and holds nothing but test mail.
set -euo pipefail
PORT=${DUBAN_IMAP_PORT:-10993}
STARTTLS_PORT=$((PORT + 1))
DATA=${DUBAN_IMAP_DATA:-/tmp/duban-imap-$PORT}
PASSWORD=${DUBAN_IMAP_TEST_PASSWORD:-duban-test-imap}
ACTION=${1:-start}

case "$ACTION" in
  start | running | stop) ;;
  *)
    echo "usage: dovecot.sh [start|running|stop]" >&2
    exit 2
    ;;
esac

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

if [ "$ACTION" = running ]; then
  if answers; then exit 0; else exit 1; fi
fi

if [ "$ACTION" = stop ]; then
  # Only the server whose folder is $DATA: never another one on the port.
  if [ -f "$DATA/dovecot.conf" ] && command -v doveadm >/dev/null; then
    doveadm -c "$DATA/dovecot.conf" stop >/dev/null 2>&1 || true
  fi
  [ -f "$DATA/dovecot.conf" ] && rm -rf "$DATA"
  exit 0
fi

if ! command -v dovecot >/dev/null || [ ! -x /usr/lib/dovecot/imap ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd) >&2
    # the package starts the system's own Dovecot on 143/993 where it can: it is not ours
    systemctl stop dovecot >/dev/null 2>&1 || true
  else
    echo "Dovecot is not installed and cannot be installed here" >&2
    exit 1
  fi
fi

if answers && [ -f "$DATA/ca.pem" ]; then
  echo "127.0.0.1:$PORT:$STARTTLS_PORT:$DATA/ca.pem"
  exit 0
fi
if answers; then
  echo "port $PORT is taken by another server (not one this script started in $DATA)" >&2
  exit 1
fi

[ -f "$DATA/dovecot.conf" ] && doveadm -c "$DATA/dovecot.conf" stop >/dev/null 2>&1 || true
rm -rf "$DATA"
mkdir -p "$DATA/mail" "$DATA/run"
# a certificate for 127.0.0.1 that is its own CA: the tests trust exactly this file
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3 \
  -subj "/CN=duban test imap" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -keyout "$DATA/key.pem" -out "$DATA/ca.pem" >/dev/null 2>&1
chmod 600 "$DATA/key.pem"

if [ "$(id -u)" = 0 ]; then
  MAIL_USER=nobody
  MAIL_GROUP=$(id -gn nobody)
  chown "$MAIL_USER:$MAIL_GROUP" "$DATA/mail"
  LOGIN_USER=dovenull
  INTERNAL_USER=dovecot
else
  MAIL_USER=$(id -un)
  MAIL_GROUP=$(id -gn)
  LOGIN_USER=$MAIL_USER
  INTERNAL_USER=$MAIL_USER
fi

cat >"$DATA/dovecot.conf" <<EOF
# Written by scripts/dovecot.sh for the tests; removed by "dovecot.sh stop".
base_dir = $DATA/run
state_dir = $DATA/run
log_path = $DATA/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <$DATA/ca.pem
ssl_key = <$DATA/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_login_user = $LOGIN_USER
default_internal_user = $INTERNAL_USER
first_valid_uid = 1
mail_location = maildir:$DATA/mail/%u
passdb {
  driver = static
  args = password=$PASSWORD
}
userdb {
  driver = static
  args = uid=$MAIL_USER gid=$MAIL_GROUP home=$DATA/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $STARTTLS_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $PORT
    ssl = yes
  }
}
service anvil {
  chroot =
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF

dovecot -c "$DATA/dovecot.conf"
for _ in $(seq 1 40); do answers && break; sleep 0.25; done
if ! answers; then
  echo "Dovecot did not start on 127.0.0.1:$PORT (see $DATA/dovecot.log)" >&2
  exit 1
fi
echo "127.0.0.1:$PORT:$STARTTLS_PORT:$DATA/ca.pem"
