"""The README's code runs and its YAML loads: documentation stays true to the code."""

import re

from conftest import ROOT
from nmcompiler import load_network


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_readme_python_runs(capsys, monkeypatch, tmp_path):
    first, api = _blocks((ROOT / "README.md").read_text(), "python")
    exec(compile(first, "README.md", "exec"), {})
    assert capsys.readouterr().out.strip() == "[221]"  # third input (step 220) arrives in 221
    monkeypatch.chdir(ROOT)
    scope = {}
    exec(compile(api.replace('"out/digits"', repr(str(tmp_path))), "README.md", "exec"), scope)
    assert scope["acc"].float_accuracy > 0.9 and scope["ladder"].levels[1].spikes > 100
    assert (tmp_path / "digits_snntorch.nmc").read_bytes() == scope["chip"].image


def test_readme_yaml_loads(tmp_path):
    (text,) = _blocks((ROOT / "README.md").read_text(), "yaml")
    path = tmp_path / "readme.yaml"
    path.write_text(text)
    net = load_network(path)
    assert net.stats().neurons == 1


def test_docs_yaml_snippets_parse():
    import yaml

    for block in _blocks((ROOT / "docs" / "network-format.md").read_text(), "yaml"):
        assert isinstance(yaml.safe_load(block), dict)
