"""``nmc report``: one self-contained page of what compile, compare, verify and estimate wrote
(issue 29): every section present with its data, no external URL or script, the same bytes from
the same outputs, clear refusals; and the page as a real browser (headless Chromium) draws it,
every section non-blank."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from conftest import EXAMPLES

from nmcompiler.report.html_sections import SECTIONS

DIGITS = EXAMPLES / "digits" / "digits.yaml"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """The digits network through compile, compare (20 labelled samples), estimate, verify and a
    two-point sweep."""
    from nmcompiler.cli.main import main

    root = tmp_path_factory.mktemp("report")
    data = np.load(EXAMPLES / "digits" / "digits_test.npz")
    np.savez(root / "d.npz", x=data["x"][:20], y=data["y"][:20])
    for name in ("digits.yaml", "w_in_hidden.npy", "w_hidden_out.npy"):
        shutil.copy(EXAMPLES / "digits" / name, root / name)
    (root / "sweep.yaml").write_text("version: 1\nnetwork: digits.yaml\ntarget: loihi-like\ndata: d.npz\nsteps: 30\n"
                                     "samples: 10\naxes: {target.format.weight_bits: [3, 8]}\n")
    spikes = (np.random.default_rng(0).random((40, 64)) < 0.3).astype(np.uint8)
    np.save(root / "pixels.npy", spikes)
    for args in (["compile", DIGITS, "--target", "loihi-like", "-o", root / "c"],
                 ["compare", DIGITS, "--target", "loihi-like", "--data", root / "d.npz", "--steps", "30", "-o", root / "cmp"],
                 ["estimate", root / "c" / "digits.nmc", "--data", root / "d.npz", "--steps", "30", "-o", root / "est"],
                 ["verify", DIGITS, "--target", "loihi-like", "--levels", "float,int", "--steps", "40",
                  "--input", f"pixels={root / 'pixels.npy'}", "-o", root / "v"],
                 ["sweep", root / "sweep.yaml", "--workers", "0", "-o", root / "sw"]):
        with pytest.raises(SystemExit) as exc:
            main([str(a) for a in args])
        assert exc.value.code == 0, args
    return root


def test_every_section_is_present_with_its_data(outputs, run_nmc):
    code, text, err = run_nmc("report", outputs, "-o", outputs / "r.html")
    assert code == 0, err
    page = (outputs / "r.html").read_text()
    assert "not run" not in text
    for sid, title, _ in SECTIONS:
        body = re.search(rf'<section id="{sid}"><h2>{re.escape(title)}</h2>(.*?)</section>', page, re.S)
        assert body, sid
        assert 'class="missing"' not in body.group(1), sid
    est = json.loads((outputs / "est" / "estimate.json").read_text())
    cmp = json.loads((outputs / "cmp" / "compare.json").read_text())
    assert f"{cmp['hw_accuracy']:.4g}" in page and "loihi-like" in page
    from nmcompiler.units import format_si

    assert format_si(est["energy"]["per_inference_j"], "J") in page
    # utilization, messages per core, confusion, energy by kind, Pareto fronts, passes (one core: no link,
    # no per-core energy)
    assert page.count("<img ") == 6
    assert 'alt="Pareto fronts: accuracy against cores and energy"' in page


def test_a_multi_core_compile_shows_its_link_loads(tmp_path, run_nmc):
    code, _, err = run_nmc("compile", EXAMPLES / "synfire.yaml", "--target", "loihi-like", "-o", tmp_path / "c")
    assert code == 0, err
    code, text, err = run_nmc("report", tmp_path / "c")
    assert code == 0, err
    page = (tmp_path / "c" / "report.html").read_text()
    links = re.search(r'<section id="links">(.*?)</section>', page, re.S).group(1)
    assert 'alt="link-load heatmap"' in links and "busiest link" in links
    assert "3 (3)" in page  # cores used (lower bound)
    assert "not run: Accuracy, Energy and latency, Verification" in text


def test_the_page_is_self_contained_and_deterministic(outputs, run_nmc):
    assert run_nmc("report", outputs, "-o", outputs / "a.html")[0] == 0
    assert run_nmc("report", outputs, "-o", outputs / "b.html")[0] == 0
    page = (outputs / "a.html").read_bytes()
    assert page == (outputs / "b.html").read_bytes()
    text = page.decode()
    assert not re.search(r"(?i)(https?:|ftp:|file:|src=\"//|href=\"//|url\()", text)
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert all(src.startswith("data:image/png;base64,") for src in re.findall(r'src="([^"]*)"', text))


def test_missing_outputs_are_named_and_bad_folders_refused(outputs, tmp_path, run_nmc):
    code, text, err = run_nmc("report", outputs / "est", "-o", tmp_path / "e.html")
    assert code == 0, err
    page = (tmp_path / "e.html").read_text()
    assert "No compiled network" in page and "nmc compile NET --target T" in page and "not run:" in text
    code, _, err = run_nmc("report", tmp_path / "nothing")
    assert code == 2 and "not a folder" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run_nmc("report", tmp_path / "empty")
    assert code == 2 and "no output of nmc compile" in err
    code, _, err = run_nmc("report", outputs, outputs / "cmp", "-o", tmp_path / "x.html")
    assert code == 0, err  # one folder reached twice is read once
    twice = tmp_path / "twice"
    shutil.copytree(outputs / "cmp", twice / "one")
    shutil.copytree(outputs / "cmp", twice / "two")
    code, _, err = run_nmc("report", twice)
    assert code == 2 and "compare.json is in 2 folders" in err and not (twice / "report.html").exists()
    (twice / "two" / "compare.json").write_text("{broken")
    code, _, err = run_nmc("report", twice / "two")
    assert code == 2 and "compare.json: not JSON" in err and "Traceback" not in err


_BOXES = """<script>
window.addEventListener('load', () => {
  const boxes = [...document.querySelectorAll('section')].map(s => {
    const parts = [...s.children].slice(1).map(c => c.getBoundingClientRect());  // below the heading
    const top = Math.min(...parts.map(r => r.top)), bottom = Math.max(...parts.map(r => r.bottom));
    const r = s.getBoundingClientRect();
    return [s.id, Math.round(r.left), Math.round(top + window.scrollY), Math.round(r.width), Math.round(bottom - top)];
  });
  const pre = document.createElement('pre'); pre.id = 'boxes';
  pre.textContent = JSON.stringify({height: document.documentElement.scrollHeight, boxes});
  document.body.appendChild(pre);
});
</script></body>"""


def _chromium():
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.mark.skipif(_chromium() is None, reason="no Chromium here (Debian: apt install chromium)")
def test_chromium_draws_every_section(outputs, run_nmc, tmp_path):
    """Headless Chromium lays the page out (the box of each section's content below its heading,
    read back from its DOM through a copy with a measuring script) and screenshots it: every
    section's content is drawn, not blank."""
    from PIL import Image

    assert run_nmc("report", outputs, "-o", tmp_path / "report.html")[0] == 0
    measured = tmp_path / "measured.html"
    measured.write_text((tmp_path / "report.html").read_text().replace("</body>", _BOXES))
    flags = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--force-device-scale-factor=1", "--window-size=1200,900"]
    dom = subprocess.run([*flags, "--dump-dom", measured.as_uri()], capture_output=True, text=True, timeout=120).stdout
    layout = json.loads(re.search(r'<pre id="boxes">(.*?)</pre>', dom, re.S).group(1).replace("&quot;", '"'))
    assert [b[0] for b in layout["boxes"]] == [sid for sid, _, _ in SECTIONS]
    shot = tmp_path / "shot.png"
    size = f"--window-size=1200,{layout['height']}"
    subprocess.run([*flags[:-1], size, f"--screenshot={shot}", (tmp_path / "report.html").as_uri()],
                   capture_output=True, timeout=120, check=True)
    image = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert image.shape[1] == 1200
    for sid, x, y, w, h in layout["boxes"]:
        assert w > 400 and h > 10, sid
        crop = image[y + 2:y + h - 2, x + 2:x + w - 2]
        ink = np.count_nonzero(crop < 128) / crop.size  # dark pixels: text, table rules, plots
        assert crop.std() > 10 and ink > 0.005, (sid, crop.std(), ink)
    assert np.count_nonzero(image[:, -20:] < 128) == 0  # the page's margin: what a blank measures as


def test_a_default_page_that_cannot_be_written_is_exit_2(outputs, tmp_path, run_nmc):
    folder = tmp_path / "est"
    shutil.copytree(outputs / "est", folder)
    (folder / "report.html").mkdir()  # in the way of the page
    code, _, err = run_nmc("report", folder)
    assert code == 2 and "it is a folder, not a file" in err and "Traceback" not in err
