#!/bin/sh
# Install duban as a systemd service on a Debian/Ubuntu (or similar) host.
#
#   sudo systemd/install.sh            # from the repository root (or any folder of a clone)
#
# What it does (each step leaves existing files alone, so re-running it upgrades duban without
# touching the operator's configuration):
#   - creates the system user `duban` (no login shell, home /var/lib/duban);
#   - installs duban into a virtualenv under /opt/duban/venv (`pip install` of this checkout);
#   - copies config/duban.example.toml and config/units.example.toml to /etc/duban/duban.toml and
#     /etc/duban/units.toml, and the plans in workflows/ to /etc/duban/workflows/, if absent;
#   - creates /etc/duban/secrets.env (mode 0600, root only) listing the environment variables the
#     configuration refers to, with empty values, if absent;
#   - installs systemd/duban.service, systemd/duban-web.service (the web console) and the `duban`
#     admin wrapper in /usr/local/bin, and reloads systemd. It starts neither: edit the
#     configuration, run `sudo duban doctor`, then `sudo systemctl enable --now duban duban-web`.
#   - secrets.env gets DUBAN_WEB_SECRET, a random secret that signs the units' links and the
#     console's sessions, if it has none.
#
# DESTDIR=/some/dir installs the files under that folder instead of / and skips the steps that
# change the running system (user, systemctl); DUBAN_SKIP_VENV=1 skips the virtualenv. Both are for
# packaging and for tests.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
DESTDIR=${DESTDIR:-}
PYTHON=${PYTHON:-python3}
ETC="$DESTDIR/etc/duban"
OPT="$DESTDIR/opt/duban"
UNIT_DIR="$DESTDIR/etc/systemd/system"
BIN_DIR="$DESTDIR/usr/local/bin"

say() { printf '%s\n' "$*"; }
fail() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
    fail "请用 root 身份运行（sudo $0）"
fi
[ -f "$SRC/pyproject.toml" ] && [ -d "$SRC/engine" ] || fail "$SRC 不是 duban 的源代码目录"

# --- the service user ---------------------------------------------------------------------------
if [ -z "$DESTDIR" ] && ! id duban >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/duban --no-create-home \
        --shell /usr/sbin/nologin --comment "duban service" duban
    say "已创建系统用户 duban"
fi

# The state directory exists before the first start so that `sudo duban doctor` can run there.
if [ -z "$DESTDIR" ]; then
    install -d -o duban -g duban -m 0750 /var/lib/duban
fi

# --- the program ----------------------------------------------------------------------------------
install -d -m 0755 "$OPT"
if [ "${DUBAN_SKIP_VENV:-0}" != 1 ]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || fail "需要 Python 3.11 或更高版本（当前：$("$PYTHON" --version 2>&1)）"
    # The service runs as `duban` with ProtectHome=yes: a Python under /root or /home (pyenv,
    # conda) is unreadable to it. Use the system's Python instead.
    base=$("$PYTHON" -c 'import os, sys; print(os.path.realpath(sys.base_prefix))')
    case "$base" in
        /root | /root/* | /home | /home/*)
            fail "Python 安装在 $base，服务用户 duban 无法访问（且 ProtectHome=yes 会隐藏该目录）；请改用系统的 Python：sudo PYTHON=/usr/bin/python3 $0" ;;
    esac
    [ -x "$OPT/venv/bin/python" ] || "$PYTHON" -m venv "$OPT/venv"
    "$OPT/venv/bin/pip" install --quiet --upgrade "$SRC"
    say "已安装 $("$OPT/venv/bin/duban" --version) 到 $OPT/venv"
fi
install -m 0644 "$SRC/README.md" "$OPT/README.md"

# --- configuration (never overwritten) ------------------------------------------------------------
install -d -m 0755 "$ETC" "$ETC/workflows"
copy_once() {  # source target mode
    if [ -e "$2" ]; then
        say "保留已有的 $2"
    else
        install -m "$3" "$1" "$2"
        say "已创建 $2"
    fi
}
copy_once "$SRC/config/duban.example.toml" "$ETC/duban.toml" 0644
copy_once "$SRC/config/units.example.toml" "$ETC/units.toml" 0644
for plan in "$SRC"/workflows/*.yaml; do
    [ -e "$plan" ] || continue
    copy_once "$plan" "$ETC/workflows/$(basename "$plan")" 0644
done

# secrets.env: the variables named by ${…} and password_env in the configuration, values empty.
if [ ! -e "$ETC/secrets.env" ]; then
    (
        umask 077
        {
            say "# duban 的机密（SMTP 密码、企业微信机器人 key），由 systemd 作为环境变量传给服务。"
            say "# 仅 root 可读（0600）。格式：每行 名称=值，值不加引号。修改后执行 systemctl restart duban。"
            cat "$ETC/duban.toml" "$ETC/units.toml" | grep -v '^[[:space:]]*#' \
                | grep -o '\${[A-Za-z_][A-Za-z0-9_]*}' | tr -d '${}' | sort -u | sed 's/$/=/'
            sed -n 's/^[[:space:]]*password_env[[:space:]]*=[[:space:]]*"\([A-Za-z_][A-Za-z0-9_]*\)".*/\1=/p' \
                "$ETC/duban.toml"
        } > "$ETC/secrets.env"
    )
    say "已创建 $ETC/secrets.env（请填写其中的值）"
    new_secrets=1
fi
# The web's signing secret: random, written once into a new secrets.env. An existing one is the
# operator's and stays as it is: without the variable, duban keeps a secret in its database.
if [ -n "${new_secrets:-}" ]; then
    printf 'DUBAN_WEB_SECRET=%s\n' "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" \
        >> "$ETC/secrets.env"
    say "已在 $ETC/secrets.env 中生成网页端签名密钥 DUBAN_WEB_SECRET"
elif ! grep -q '^DUBAN_WEB_SECRET=.' "$ETC/secrets.env"; then
    say "提示：$ETC/secrets.env 中没有 DUBAN_WEB_SECRET；可加入一行 DUBAN_WEB_SECRET=随机值（如 openssl rand -hex 32 的输出）"
fi

# --- systemd --------------------------------------------------------------------------------------
install -d -m 0755 "$UNIT_DIR" "$BIN_DIR"
install -m 0644 "$SRC/systemd/duban.service" "$UNIT_DIR/duban.service"
install -m 0644 "$SRC/systemd/duban-web.service" "$UNIT_DIR/duban-web.service"
install -m 0755 "$SRC/systemd/duban-admin" "$BIN_DIR/duban"
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi

say ""
say "下一步："
say "  1. 编辑 /etc/duban/duban.toml、/etc/duban/units.toml，填写 /etc/duban/secrets.env"
say "  2. sudo duban doctor --network      # 检查配置、通讯录、数据库和通道"
say "  3. echo '密码' | sudo duban user add 用户名 --unit 市司法局 --role coordinator --password-stdin"
say "  4. sudo systemctl enable --now duban duban-web"
say "  5. journalctl -u duban -u duban-web -f   # 查看运行日志"
