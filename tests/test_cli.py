"""Tests for the CLI dispatcher: help, version, error reporting."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from medvlseg import cli
from medvlseg.errors import InputError


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    assert "COMMAND" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert "medvlseg 0.1.0" in capsys.readouterr().out


def test_user_error_is_one_line_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_build() -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(prog="medvlseg")
        sub = parser.add_subparsers(dest="command", required=True)
        p = sub.add_parser("boom", parents=[cli._common_parser()])

        def run(args: argparse.Namespace) -> int:
            raise InputError("case_1.nii.gz", "cannot read image")

        p.set_defaults(func=run)
        return parser

    monkeypatch.setattr(cli, "build_parser", fake_build)
    assert cli.main(["boom"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["medvlseg boom: error: case_1.nii.gz: cannot read image"]
    with pytest.raises(InputError):
        cli.main(["boom", "--debug"])


def test_console_script_help_is_fast_and_light() -> None:
    code = "import sys, medvlseg.cli as c; c.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, encoding="utf-8", errors="replace", check=True)
    assert out.stdout.strip() == "False", "building the CLI parser must not import torch"


def test_non_utf8_terminal_does_not_crash_on_units() -> None:
    code = "import medvlseg.cli as c; c._tolerant_streams(); print('12 mm\u00b2 \u2192 ok')"
    env = {**__import__("os").environ, "PYTHONIOENCODING": "ascii", "PYTHONUTF8": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True)
    assert out.stdout.strip() == rb"12 mm\xb2 \u2192 ok"
