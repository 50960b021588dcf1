"""Whether this machine has a font for Chinese text, for the PDFs whose fonts are not embedded.

A PDF may name its fonts without carrying them (STSong-Light, SimSun…): the reader then lays the
text out with a font of the machine's own. PDFium, with no Chinese font to hand, loses some of
such a page's characters without a word (a title's last character, on its own line of a cell,
was dropped). `engine.importers.pdf` says so in a note when a page's Chinese text is in such a
font and this returns False.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts")
"""Where PDFium looks for fonts on Linux (when fontconfig's fc-list cannot be asked)."""
_CJK_FILE = re.compile(
    r"cjk|wqy|uming|ukai|sim(sun|hei|kai|fang)|fangsong|droidsansfallback|sourcehan|"
    r"(noto)?(sans|serif)(sc|tc|hk|cn)|msyh|stsong|stheiti|pingfang",
    re.IGNORECASE,
)


@cache
def chinese_font_installed() -> bool:
    """True when fontconfig (or, without fc-list, a font folder) knows a font covering Chinese."""
    fc_list = shutil.which("fc-list")
    if fc_list:
        try:
            found = subprocess.run(
                [fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=20
            )
        except (OSError, subprocess.SubprocessError):
            pass
        else:
            if found.returncode == 0:
                return bool(found.stdout.strip())
    for folder in FONT_DIRS:
        root = Path(os.path.expanduser(folder))
        if root.is_dir() and any(_CJK_FILE.search(p.name) for p in root.rglob("*.[ot]t[fc]")):
            return True
    return False
