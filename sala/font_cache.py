"""The folder where fonts made from packaged ones are kept: the certificate weights
(``certificates/pdf/fonts.py``) and the Khmer web font (``sala/fonts.py``).

Making them costs seconds, reading them milliseconds, so every process of this machine's user
shares one folder in the temporary directory, named after fontTools' version and the source
files (path, size, time): an upgraded package gets new files. The temporary directory is
everyone's, so the folder must be this user's own and writable by nobody else: one made
before by another local user could hold a font every visitor or certificate would get. Such
a folder is left alone, and this process makes its fonts in a private folder of its own.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from functools import cache
from pathlib import Path

import fontTools


@cache
def font_cache_folder(*sources: Path) -> Path:
    """The folder (made if missing) of fonts made from ``sources``."""
    identity = [
        fontTools.version,
        *(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sources),
    ]
    digest = hashlib.sha256("|".join(identity).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"sala-fonts-{os.getuid()}-{digest}"
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        if not _own_private_folder(folder):
            return Path(tempfile.mkdtemp(prefix=f"sala-fonts-{digest}-"))
    return folder


def _own_private_folder(folder: Path) -> bool:
    info = folder.lstat()  # a symbolic link is not a folder of ours
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )
