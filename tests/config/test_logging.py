"""One log call prints one line, for Django's own loggers (which Django's default config
gives handlers of their own) as for ParkShare's. Run in a fresh process: pytest replaces
the handlers that the settings' LOGGING installs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

LOGGERS = ("django.request", "django.server", "django.security.csrf", "orders.services", "root")


@pytest.mark.parametrize("debug", ["true", "false"])
def test_one_call_one_line(debug: str) -> None:
    code = (
        "import logging, django; django.setup()\n"
        f"for name in {LOGGERS!r}:\n"
        "    logger = logging.getLogger(None if name == 'root' else name)\n"
        "    logger.warning('marker from %s', name)\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DEBUG": debug,
        "SECRET_KEY": "logging-test-key",
        "LOG_LEVEL": "INFO",
    }
    result = subprocess.run(  # noqa: S603  -- this interpreter, fixed arguments
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = (result.stdout + result.stderr).splitlines()
    for name in LOGGERS:
        printed = [line for line in lines if f"marker from {name}" in line]
        assert len(printed) == 1, (name, printed)
        assert " WARNING " in printed[0]  # through the settings' formatter, not Django's


def test_starting_a_process_logs_nothing() -> None:
    """Every manage.py command starts Django: no greeting of a library (django-axes logs its
    version at INFO) may stand before the command's own output."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DEBUG": "true",
        "SECRET_KEY": "logging-test-key",
        "LOG_LEVEL": "INFO",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout + result.stderr == ""
