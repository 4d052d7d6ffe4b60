"""Write a development ``.env`` (DEBUG on, a fresh SECRET_KEY) unless one exists.

Run by ``make install`` as a plain script (``python config/devenv.py .env``), before the
settings can be imported: they read that file, and refuse to start without a SECRET_KEY
when DEBUG is off. An existing file is never touched, so a developer's own settings (or a
production ``.env``) survive every ``make run``. Standard library only.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

DEV_ENV = """\
# Written by `make install` for development only (config/devenv.py); never deploy it.
# The settings read it at start-up (README, "Configuration"); edit freely, it is kept.
DEBUG=true
SECRET_KEY={secret_key}
"""


def write_dev_env(path: Path) -> bool:
    """Create ``path`` (mode 600) with DEBUG on and a new random SECRET_KEY; return False,
    writing nothing, when it already exists."""
    try:
        # O_EXCL: an existing file (even one created a moment ago) is never overwritten.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        # URL-safe characters only: no '#', '$' or quotes for the .env parser to interpret.
        f.write(DEV_ENV.format(secret_key=secrets.token_urlsafe(50)))
    os.chmod(path, 0o600)  # the umask may have taken bits off, never added them
    return True


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else ".env")
    if write_dev_env(path):
        print(f"==> wrote {path} for development (DEBUG=true, a new SECRET_KEY, mode 600)")
    else:
        print(f"==> {path} exists, left as it is")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
