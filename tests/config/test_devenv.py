"""The development .env that ``make install`` writes (config/devenv.py): DEBUG on, a fresh
SECRET_KEY, mode 600, never over an existing file; and the settings accept it."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from config.devenv import write_dev_env

BASE_DIR = Path(__file__).resolve().parents[2]


def run_script(path: Path) -> subprocess.CompletedProcess[str]:
    # As the Makefile runs it: a plain script, before anything of the project is importable.
    return subprocess.run(  # noqa: S603  -- this interpreter, fixed arguments
        [sys.executable, "config/devenv.py", str(path)],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )


def read_env(path: Path) -> dict[str, str]:
    """What django-environ (as config/settings/base.py calls it) reads from ``path``, in a
    clean process so that nothing of this one's environment leaks in."""
    code = (
        "import environ, sys; environ.Env.read_env(sys.argv[1]); env = environ.Env(); "
        "print(env.bool('DEBUG')); print(env.str('SECRET_KEY'))"
    )
    out = subprocess.run(  # noqa: S603  -- this interpreter, fixed arguments
        [sys.executable, "-c", code, str(path)],
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return {"DEBUG": out[0], "SECRET_KEY": out[1]}


def test_writes_debug_and_a_fresh_key_readable_only_by_its_owner(tmp_path: Path) -> None:
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    assert "wrote" in run_script(first).stdout
    assert write_dev_env(second) is True
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert stat.S_IMODE(second.stat().st_mode) == 0o600
    a, b = read_env(first), read_env(second)
    assert a["DEBUG"] == b["DEBUG"] == "True"
    assert len(a["SECRET_KEY"]) >= 50
    assert a["SECRET_KEY"] != b["SECRET_KEY"]  # generated, not a constant in the code


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("DEBUG=false\nSECRET_KEY=mine\n")
    path.chmod(0o644)
    assert "left as it is" in run_script(path).stdout
    assert write_dev_env(path) is False
    assert path.read_text() == "DEBUG=false\nSECRET_KEY=mine\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_manage_py_runs_in_a_new_shell_with_only_the_dev_env(tmp_path: Path) -> None:
    """README's commands (e.g. ``manage.py ledger_check``) need no DEBUG exported by hand:
    the settings start with nothing in the environment but what the written file holds."""
    path = tmp_path / ".env"
    write_dev_env(path)
    code = (
        "import environ, sys, os; environ.Env.read_env(sys.argv[1]); "
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings.base'; "
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DEBUG, settings.SECRET_KEY == os.environ['SECRET_KEY'])"
    )
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "")}
    out = subprocess.run(  # noqa: S603  -- this interpreter, fixed arguments
        [sys.executable, "-c", code, str(path)],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split() == ["True", "True"]


def test_dot_env_is_ignored_by_git() -> None:
    assert ".env" in (BASE_DIR / ".gitignore").read_text().splitlines()
