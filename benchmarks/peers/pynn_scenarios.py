"""PyNN's own system-test scenarios (``test/system/scenarios`` of the PyNN source distribution)
run against ``nmcompiler.pynn``: every scenario that PyNN runs on NEST, called with our backend
as its ``sim``. Each outcome is "passed", "skipped" (the scenario skipped itself, e.g. a
missing optional package), "unsupported" (our backend refused a construct by name: a documented
limit, docs/pynn.md) or "failed" (anything else: a bug to fix).

    python benchmarks/peers/pynn_scenarios.py [PYNN_SOURCE_DIR] [--json OUT]

PYNN_SOURCE_DIR defaults to .venv/pynn-src/pyNN-<version> (``make venv`` unpacks it there).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import logging
import os
import sys
import tempfile
import traceback
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Outcome:
    scenario: str  # file::function
    status: str  # passed | skipped | unsupported | failed
    message: str


def default_source() -> Path | None:
    found = sorted((ROOT / ".venv" / "pynn-src").glob("*/test/system/scenarios"))
    return found[-1].parents[2] if found else None


def _scenarios(source: Path):
    """(name, function) of every scenario that PyNN parametrises with NEST."""
    folder = source / "test" / "system" / "scenarios"
    package = "pynn_system_scenarios"
    spec = importlib.util.spec_from_file_location(package, folder / "__init__.py", submodule_search_locations=[str(folder)])
    sys.modules[package] = importlib.util.module_from_spec(spec)
    for path in sorted(folder.glob("test_*.py")):
        name = f"{package}.{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # a scenario file that needs a package we lack
            yield f"{path.name}", None, exc
            continue
        for attr in sorted(vars(module)):
            fn = getattr(module, attr)
            marks = getattr(fn, "pytestmark", [])
            sims = [str(p.id if hasattr(p, "id") else p) for m in marks if m.name == "parametrize" for p in m.args[1]]
            if attr.startswith("test") and callable(fn) and any("nest" in s for s in sims):
                yield f"{path.name}::{attr}", fn, None


def run_scenarios(source: Path) -> list[Outcome]:
    import matplotlib

    matplotlib.use("Agg")
    import pytest

    import nmcompiler.pynn as sim
    from nmcompiler.pynn.errors import Unsupported

    logging.disable(logging.INFO)  # scenarios may switch PyNN's debug log on
    cwd = os.getcwd()
    scenarios = list(_scenarios(source))
    with tempfile.TemporaryDirectory() as scratch:  # some scenarios write files (Results/...) where they run
        os.chdir(scratch)
        try:
            return [_run_one(sim, Unsupported, pytest, name, fn, error) for name, fn, error in scenarios]
        finally:
            os.chdir(cwd)
            logging.disable(logging.NOTSET)


def _run_one(sim, Unsupported, pytest, name, fn, error) -> Outcome:
    if fn is None:
        return Outcome(name, "skipped", f"cannot import: {error}")
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(sim)
        return Outcome(name, "passed", "")
    except pytest.skip.Exception as exc:
        return Outcome(name, "skipped", str(exc))
    except Unsupported as exc:
        return Outcome(name, "unsupported", str(exc))
    except (Exception, pytest.fail.Exception) as exc:  # noqa: BLE001 - a failure is the result
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return Outcome(name, "failed", f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"[:400])
    finally:
        with contextlib.suppress(Exception):
            sim.end()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=default_source())
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.source is None:
        print("no PyNN source distribution: run `make venv`, or pass its directory", file=sys.stderr)
        return 2
    outcomes = run_scenarios(args.source)
    for o in outcomes:
        print(f"{o.status:12s} {o.scenario}  {o.message[:160]}")
    counts = {s: sum(o.status == s for o in outcomes) for s in ("passed", "skipped", "unsupported", "failed")}
    print(json.dumps(counts))
    if args.json:
        args.json.write_text(json.dumps({"counts": counts, "outcomes": [asdict(o) for o in outcomes]}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
