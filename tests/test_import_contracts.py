"""The import contracts in pyproject.toml name the day's steps one module at a time, so a new
step module must be added to them; this keeps that from being forgotten."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Top-level digest modules that are not steps of the day: Django's hooks into the app.
NOT_STEPS = {"__init__", "admin", "apps", "urls"}


def contract(name_start: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["name"].startswith(name_start))


def test_every_top_level_digest_module_is_under_the_day_steps_contract():
    steps = contract("the day's steps do not import")
    covered = {m.removeprefix("digest.") for m in steps["source_modules"]}
    modules = {path.stem for path in (ROOT / "digest").glob("*.py")} - NOT_STEPS
    packages = {p.name for p in (ROOT / "digest").iterdir() if (p / "__init__.py").exists()}
    pages_and_tools = {"reader", "staff", "devtools", "management", "migrations"}
    assert modules - covered == set()
    assert packages - pages_and_tools - covered == set()
