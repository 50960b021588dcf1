"""Where the messenger channels may send: a URL read as the HTTP client will connect, host listed.

The same rules as the WeCom robot (`wecom.check_robot_url`), for every provider and naming the
provider's own config key: no backslash, blank, control character or userinfo (`…@host`) that two
parsers could read differently; `urlsplit` and urllib3 (what requests connects to) agree on scheme,
host and port; the host is in the channel's `allowed_hosts`; https, or plain http only to a listed
loopback host (the tests' peers). A URL holding `${NAME}` is checked before and after expansion,
and exactly the checked string is sent.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import lru_cache
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from engine.errors import UserError
from engine.notify.deadline import target
from engine.notify.secrets import expand_secret, mask


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_ASCII_BLANK = re.compile(r"[\x00-\x20\x7f]")
"""The ASCII characters `_blank` refuses: controls, blanks and DEL."""


def _blank(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Zs")


def unsafe(url: str, label: str) -> str | None:
    """Why the text of this URL could be read differently by two parsers, or None."""
    if "\\" in url:
        return f"{label}含有反斜杠“\\”，不同程序对其主机的解析不一致，拒绝使用"
    if _ASCII_BLANK.search(url) if url.isascii() else any(map(_blank, url)):
        return f"{label}含有空格、换行或其他控制字符，拒绝使用"
    authority = url.partition("://")[2]
    for end in "/?#":
        authority = authority.partition(end)[0]
    if "@" in authority:
        return f"{label}的主机部分含有“@”（用户信息），可能被发往其他主机，拒绝使用"
    return None


def check_url(url: str, allowed_hosts: list[str], *, label: str, section: str) -> str | None:
    """Why `url` may not be used, or None. `label` names the address in Chinese (e.g.
    "钉钉机器人地址"), `section` the config table whose `allowed_hosts` lists hosts.

    The answer depends on nothing else, and a robot's URL is checked before each message it is
    sent: it is worked out once per URL and list."""
    return _checked(url, tuple(allowed_hosts), label, section)


@lru_cache(maxsize=4096)
def _checked(url: str, allowed_hosts: tuple[str, ...], label: str, section: str) -> str | None:
    why = unsafe(url, label)
    if why:
        return why
    try:
        parts = urlsplit(url)
        split = ((parts.scheme or "").lower(), (parts.hostname or "").lower(), parts.port)
        connects = target(url)
        auth = parse_url(url).auth
    except (ValueError, LocationParseError):
        return f"{label}无法解析（主机或端口无效）"
    if parts.username is not None or auth is not None:
        return f"{label}的主机部分含有“@”（用户信息），可能被发往其他主机，拒绝使用"
    scheme, host, port = connects
    host = host.strip("[]")
    if split != (scheme, host, port):
        return f"{label}的解析结果不一致（{split[1] or '（空）'} 与 {host or '（空）'}），拒绝使用"
    if host not in {h.lower() for h in allowed_hosts}:
        allowed = "、".join(allowed_hosts) or "（无）"
        shown = host or "（空）"
        return f"{label}的主机 {shown} 不在 {section}.allowed_hosts 中（允许：{allowed}）"
    if scheme != "https" and not (scheme == "http" and _is_loopback(host)):
        return f"{label}应使用 https，而不是 {scheme or '（空）'}"
    return None


def check_api_base(value: str, allowed_hosts: list[str], section: str) -> str | None:
    """Why an `api_base` (scheme and host, no path) may not be used, or None."""
    why = check_url(value, allowed_hosts, label="接口地址", section=section)
    if why:
        return why
    parts = urlsplit(value)
    if parts.path.strip("/") or parts.query or parts.fragment:
        return "接口地址只应包含协议和主机（例如 https://qyapi.weixin.qq.com），不含路径"
    return None


def checked_url(
    template: str, allowed_hosts: list[str], *, label: str, section: str, where: str
) -> str:
    """`template` with `${NAME}` expanded, checked before and after; raises UserError (masked)."""
    before = unsafe(template, label)
    if before:
        raise UserError(before)
    url = expand_secret(template, where=where)
    why = check_url(url, allowed_hosts, label=label, section=section)
    if why:
        if url != template:
            why = f"{why}（展开环境变量后）"
        raise UserError(mask(why))
    return url
