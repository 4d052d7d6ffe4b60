"""HiGHS prints its banner ("Running HiGHS ...") from C++ straight to file descriptor 1 when
a process builds its first instance; the minimum-order MILP must not let it through (it
landed in the middle of seed_demo's output). capsys cannot see C writes, so a child process
runs the MILP with its fd 1 captured."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("highspy")

BASE_DIR = Path(__file__).resolve().parents[2]

CODE = """
import highspy
from matching.minimums import solve_with_minimums
from matching.solver import Arc, Demand, Supply
print("before", flush=True)
result = solve_with_minimums(
    [Supply(1, 100), Supply(2, 40), Supply(3, 40)],
    [Demand(10, 70), Demand(11, 70), Demand(12, 100)],
    [Arc(1, 10, 1), Arc(1, 11, 1), Arc(1, 12, 9), Arc(2, 10, 1), Arc(3, 11, 1)],
    {1: 60},
)
print("method", result.method, flush=True)
{after}
"""


def run(after: str = "") -> str:
    result = subprocess.run(  # noqa: S603  -- this interpreter, fixed arguments
        [sys.executable, "-c", CODE.replace("{after}", after)],
        cwd=BASE_DIR,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(BASE_DIR)},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout + result.stderr


def test_the_milp_prints_nothing_but_ours() -> None:
    out = run()
    assert out.splitlines() == ["before", "method milp"]


def test_prints_after_the_first_instance_still_reach_stdout() -> None:
    # fd 1 is given back: what the process writes afterwards (Python or C) is not lost.
    out = run("import os; os.write(1, b'after\\n')")
    assert out.splitlines() == ["before", "method milp", "after"]


def test_a_bare_instance_does_print_the_banner() -> None:
    # The checks above are not vacuous: this HiGHS prints its banner on construction.
    result = subprocess.run(
        [sys.executable, "-c", "import highspy; highspy.Highs()"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Running HiGHS" in result.stdout
