"""The README documents every setting and every CLI command (datasette's rule)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from omicsoracle.cli import app
from omicsoracle.config import Settings

REPO = Path(__file__).resolve().parents[1]

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    prefix = Settings.model_config.get("env_prefix", "")
    missing = [
        f"{prefix}{name}".upper()
        for name in Settings.model_fields
        if f"`{prefix}{name}`".upper() not in README.upper()
    ]
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_documented_setting_exists() -> None:
    documented = set(re.findall(r"`OMICSORACLE_([A-Z_]+)`", README))
    assert documented <= {name.upper() for name in Settings.model_fields}


def test_every_cli_command_is_documented() -> None:
    root = get_command(app)
    names: list[str] = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        if subcommands:
            names.extend(f"{name} {sub}" for sub in subcommands)
        else:
            names.append(name)
    missing = [n for n in names if f"omicsoracle {n}" not in README]
    assert not missing, f"CLI commands missing from README.md: {missing}"


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "make run" in first_block
    assert "make test" in first_block
