"""The contact directory: which channels reach a unit, from `[units."…"]` in the config.

With no config at all every unit is reached through the `file` channel and none counts as lacking
a contact. With a config, a unit without email or WeCom is `missing`: its notices still go to the
`file` channel (nothing is dropped) and the coordinator is told.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import Settings, UnitContact

FILE = "file"
EMAIL = "email"
WECOM = "wecom"


@dataclass(frozen=True)
class Reach:
    unit: str
    channels: tuple[str, ...]
    missing: bool
    """True when the config names no contact for this unit (it falls back to `file`)."""


def canonical_unit(name: str, settings: Settings) -> str:
    """The unit's directory name, resolving the config's aliases."""
    if name in settings.units:
        return name
    for unit, contact in settings.units.items():
        if name in contact.aliases:
            return unit
    return name


def contact_of(name: str, settings: Settings) -> UnitContact | None:
    return settings.units.get(canonical_unit(name, settings))


def reach(name: str, settings: Settings) -> Reach:
    """The channels a notice to this unit goes out on, one notice per channel."""
    unit = canonical_unit(name, settings)
    if not settings.configured:
        return Reach(unit, (FILE,), missing=False)
    contact = settings.units.get(unit)
    channels: list[str] = []
    if contact:
        if contact.email and settings.channels.email:
            channels.append(EMAIL)
        if contact.wecom:
            channels.append(WECOM)
        if contact.file:
            channels.append(FILE)
    if not channels:
        return Reach(unit, (FILE,), missing=True)
    return Reach(unit, tuple(channels), missing=False)
