"""Hostile input gets exit 2 with its file, line and cause, quickly, and nothing written
(issue 33's causes, one regression test each)."""

from __future__ import annotations

import re
import time

import pytest

LAUGHS = "version: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{k}: &{k} [{', '.join([f'*{p}'] * 10)}]\n" for p, k in zip("abcdefg", "bcdefgh"))
CASES = {
    "billion laughs": (LAUGHS, r"8: aliases expand to more than 2,000,000 values: write the values out, or use "
                               r"\.npy files"),
    "an alias inside itself": ("version: 1\npopulations: &a\n  x: *a\n",
                               r"\d+: an alias refers to a list or mapping that contains it"),
    "deep nesting": ("version: 1\nx: " + "[" * 500 + "]" * 500 + "\n",
                     r"2: lists and mappings nested deeper than 64 levels"),
    "deep through aliases": ("version: 1\na0: &a0 [1]\n" + "".join(f"a{k}: &a{k} [*a{k - 1}]\n" for k in range(1, 70)),
                             r"\d+: lists and mappings nested deeper than 64 levels"),
    "an integer key": ("version: 1\ndt: 0.1 ms\npopulations:\n  a: {model: lif, size: 1, params: {tau_mem: 1 ms}}\n"
                       "projections:\n  5: {pre: a, post: a, connector: one_to_one}\n",
                       r"6: mapping key 5 must be a string \(quote it: '5'\)"),
    "a boolean key": ("version: 1\ndt: 0.1 ms\npopulations:\n  yes: {model: lif, size: 1}\n",
                      r"4: mapping key True must be a string \(quote it: 'yes'\)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["validate", "simulate"])
def test_hostile_yaml_is_refused_before_it_is_built(case, command, run_nmc, tmp_path):
    text, message = CASES[case]
    path = tmp_path / "net.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    args = (command, path) + (("-o", out) if command == "simulate" else ())
    t = time.perf_counter()
    code, stdout, err = run_nmc(*args)
    assert time.perf_counter() - t < 5
    assert code == 2 and stdout == "" and "Traceback" not in err
    assert re.fullmatch(rf"error: {re.escape(str(path))}:{message}\n", err), err
    assert not out.exists()


def test_target_files_are_read_with_the_same_bounds(run_nmc, tmp_path):
    target = tmp_path / "evil.yaml"
    target.write_text(LAUGHS)
    code, _, err = run_nmc("check", tmp_path / "none.yaml", "--target", target)
    assert code == 2 and re.fullmatch(rf"error: {re.escape(str(target))}:8: aliases expand to more than 2,000,000 "
                                      r"values: write the values out, or use \.npy files\n", err), err
    code, _, err = run_nmc("targets", "--derive", "fpga-lif", "--set", "core.neurons=&a [*a]", "-o", tmp_path / "t.yaml")
    assert code == 2 and "an alias refers to a list or mapping that contains it" in err
    assert not (tmp_path / "t.yaml").exists()


def _bad_arrays(folder):
    """Files that are not what an entrance expects: (name, maker, the reason in the message)."""
    import os

    import numpy as np

    (folder / "empty.npy").write_bytes(b"")
    (folder / "badzip.npz").write_bytes(b"PK\x03\x04junk")
    np.savez(folder / "archive.npz", a=np.zeros(3))
    np.save(folder / "plain.npy", np.zeros((3, 25, 64)))
    os.mkfifo(folder / "fifo")
    return {"empty.npy": r"not a readable \.npy or \.npz file \(EOFError: No data left in file\)",
            "badzip.npz": r"not a readable \.npy or \.npz file \(BadZipFile: File is not a zip file\)",
            "archive.npz": r"an \.npz archive, where one \.npy array is expected",
            "plain.npy": r"one \.npy array, where an \.npz archive is expected",
            "fifo": r"not a regular file \(a folder, FIFO or device\)"}


def test_array_files_are_read_only_when_they_are_what_is_expected(run_nmc, tmp_path):
    """--input (a .npy), --data (an .npz), an IR checkpoint (an .npz) and a network file's .npy
    values: a FIFO would block, an empty file or a bad zip gave exit 1 or 130."""
    from conftest import EXAMPLES

    reasons = _bad_arrays(tmp_path)
    nir = EXAMPLES / "digits" / "digits_snntorch.nir"
    out = tmp_path / "out"
    for name, reason in reasons.items():
        f = tmp_path / name
        for args, expected in (
                (("simulate", nir, "--from", "snntorch", "--input", f"input={f}"), reason if name != "plain.npy" else None),
                (("simulate", nir, "--from", "snntorch", "--data", f), reason if name != "archive.npz" else
                 r"need an \.npz with an array x \(it has a\)")):
            if expected is None:
                continue
            t = time.perf_counter()
            code, _, err = run_nmc(*args, "-o", out)
            assert time.perf_counter() - t < 10
            line = [x for x in err.splitlines() if x.startswith("error: ")]
            assert code == 2 and line and re.search(expected + "$", line[0]), (args, err)
            assert not out.exists()


def test_a_network_file_names_its_bad_npy_value(run_nmc, tmp_path):
    reasons = _bad_arrays(tmp_path)
    for name in ("fifo", "archive.npz", "empty.npy"):
        net = tmp_path / f"net_{name}.yaml"
        net.write_text(f"version: 1\ndt: 0.1 ms\npopulations:\n  a: {{model: lif, size: 3, params: {{tau_mem: "
                       f"{{file: {name}}}}}}}\n")
        code, _, err = run_nmc("validate", net)
        assert code == 2 and re.fullmatch(rf"error: {re.escape(str(net))}:4: population 'a': tau_mem: file '{re.escape(name)}' \(in "
                                          rf"{re.escape(str(tmp_path))}\): {reasons[name]}\n", err), err


def test_an_ir_checkpoint_that_is_not_one_is_refused(run_nmc, tmp_path):
    import os

    _bad_arrays(tmp_path)
    os.mkfifo(tmp_path / "pipe.npz")
    (tmp_path / "plain.npy").rename(tmp_path / "plain.npz")
    for name, reason in (("pipe.npz", "not a regular file"), ("plain.npz", "one .npy array, where an .npz archive"),
                         ("badzip.npz", "File is not a zip file")):
        t = time.perf_counter()
        code, _, err = run_nmc("info", tmp_path / name)
        assert time.perf_counter() - t < 10
        assert code == 2 and err.startswith(f"error: {tmp_path / name}: not a readable nmcompiler IR (") and reason in err


def test_an_ir_checkpoint_against_its_schema_names_the_field(run_nmc, tmp_path):
    """The metadata of an IR file is checked against its JSON Schema (built from the IR's
    dataclasses) before anything is built: each fault is named by its field path."""
    import json

    from conftest import EXAMPLES
    from nmcompiler import load_network
    from nmcompiler.ir import save_network

    folder = tmp_path / "net"
    save_network(load_network(EXAMPLES / "synfire.yaml"), folder)
    good = json.loads((folder / "network.json").read_text())
    pop = next(i for i, n in enumerate(good["nodes"]) if n["kind"] == "population")
    cases = [
        (("nodes", pop, "model", "kind"), "bogus", rf"nodes\.{pop}\.model\.kind: 'bogus' is not one of \["),
        (("nodes", pop, "size"), "12", rf"nodes\.{pop}\.size: '12' is not of type 'integer'"),
        (("nodes", pop, "model", "v_threshold"), {"array": "elsewhere"},
         rf"nodes\.{pop}\.model\.v_threshold: names array 'elsewhere', which the file does not hold"),
        (("nodes", pop, "colour"), "red", rf"nodes\.{pop}: Additional properties are not allowed \('colour'"),
        (("projections", 0, "meta"), {"dict": {"deep": [[[[1]]]]}}, r"projections\.0\.meta\.dict\.deep: "),
    ]
    for path, value, words in cases:
        doc = json.loads(json.dumps(good))
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        (folder / "network.json").write_text(json.dumps(doc))
        (folder / "nmc-manifest.json").unlink(missing_ok=True)  # an edited set: read as a plain folder
        code, _, err = run_nmc("info", folder)
        assert code == 2 and re.match(rf"error: {re.escape(str(folder))}: not a valid nmcompiler IR: {words}", err), err
    del good["nodes"][pop]["model"]["v_min"]  # a file written before v_min existed: no bound
    (folder / "network.json").write_text(json.dumps(good))
    code, out, err = run_nmc("info", folder)
    assert code == 0, err


def test_names_never_lead_files_out_of_the_output_folder(run_nmc, tmp_path):
    """A network named ``../escaped`` and a population named ``../../victim/pwned`` (an IR
    checkpoint can hold any name) only name files inside ``-o``."""
    import numpy as np

    from nmcompiler.ir import LIF, Connectivity, Network, Population, Projection, SpikeSource, save_network

    net = Network("../escaped", dt=1e-3)
    net.add(SpikeSource(name="in", size=2, ids=[0, 1], times=[0.0, 1e-3]))
    net.add(Population(name="../../victim/pwned", size=20, model=LIF(tau_mem=np.linspace(0.01, 0.02, 20)),
                       initial={"v": np.linspace(0, 0.5, 20)}))
    net.connect(Projection(name="p", pre="in", post="../../victim/pwned",
                           connectivity=Connectivity.from_coo(2, 20, [0, 1], [0, 1], 1.0, 1)))
    src = tmp_path / "work" / "net.npz"
    src.parent.mkdir()
    save_network(net, src)
    before = set(tmp_path.rglob("*"))
    out = tmp_path / "work" / "out"
    code, _, err = run_nmc("compile", src, "--target", "loihi-like", "-o", out)
    assert code == 0, err
    assert {p.name for p in out.iterdir()} >= {"_escaped.nmc", "_escaped.map.json"}
    code, _, err = run_nmc("import", src, "-o", out / "net.yaml")
    assert code == 0, err
    made = set(tmp_path.rglob("*")) - before
    assert made and all(out in p.parents for p in made if p != out), sorted(made)
    assert (out / "net.data" / "_.._victim_pwned.initial.v.npy").exists()


NET = "version: 1\ndt: 0.1 ms\npopulations:\n  a: {model: lif, size: 3, params: {tau_mem: 10 ms}}\n"
VALUES = {
    "a size beyond int32": (NET.replace("size: 3", "size: 100000000000000000000000"),
                            r"4: population 'a': size 100000000000000000000000 is beyond 2147483647 \(2\^31 - 1\) "
                            r"neurons or channels"),
    "an index beyond int64": (NET + "projections:\n  p: {pre: a, post: a, connector: {kind: list, "
                                    "pre: [0, 99999999999999999999999], post: [0, 1]}}\n",
                              r"6: projection 'p': connector: 'pre' must be a list of neuron indices \(integers below "
                              r"2\^63\)"),
    "a complex matrix": (NET + "projections:\n  p: {pre: a, post: a, connector: {kind: dense, file: w.npy}}\n",
                         r"6: projection 'p': connector: file 'w.npy' holds a complex128 array, expected real numbers"),
    "p = 1e-18": (NET + "projections:\n  p: {pre: a, post: a, connector: {kind: fixed_probability, p: 1.0e-18}}\n",
                  None),  # overflowed int64 in the index draw (exit 1), 1e-30 ran out of memory
    "p = 1e-30": (NET + "projections:\n  p: {pre: a, post: a, connector: {kind: fixed_probability, p: 1.0e-30}}\n",
                  None),
}


@pytest.mark.parametrize("case", sorted(VALUES))
def test_values_that_overflowed_are_refused_or_read(case, run_nmc, tmp_path):
    import numpy as np

    np.save(tmp_path / "w.npy", np.ones((3, 3)) + 1j)
    text, message = VALUES[case]
    path = tmp_path / "net.yaml"
    path.write_text(text)
    t = time.perf_counter()
    code, _, err = run_nmc("validate", path)
    assert time.perf_counter() - t < 5
    if message is None:
        assert code == 0, err
    else:
        assert code == 2 and re.fullmatch(rf"error: {re.escape(str(path))}:{message}\n", err), err


@pytest.mark.parametrize("change, message", [
    ({"dt": "0"}, r"dt: '0' is not a finite positive time step"),
    ({"dt": "nan"}, r"dt: 'nan' is not a finite positive time step"),
    ({"synapse_storage": "bogus"}, r"synapse_storage: 'bogus' is not one of \['sparse', 'word32', 'crossbar', 'convolution', 'cam'\]"),
    ({"neurons": 10**30}, r"neurons: 10{30} is greater than the maximum of 1099511627776"),
    ({"populations": "x"}, r"populations: 'x' is not of type 'array'"),
])
def test_a_re_signed_image_with_a_bad_meta_is_refused_by_field(change, message, run_nmc, tmp_path):
    """The checksums are valid (the image was encoded again): the meta itself is checked."""
    import dataclasses

    from conftest import EXAMPLES
    from nmcompiler.image import decode, encode

    code, _, err = run_nmc("compile", EXAMPLES / "synfire.yaml", "--target", "loihi-like", "-o", tmp_path / "c")
    assert code == 0, err
    contents = decode((tmp_path / "c" / "synfire.nmc").read_bytes())
    bad = tmp_path / "bad.nmc"
    bad.write_bytes(encode(dataclasses.replace(contents, meta=contents.meta | change)))
    for args in (("inspect", bad), ("simulate", bad, "-o", tmp_path / "sim")):
        code, _, err = run_nmc(*args)
        assert code == 2 and re.fullmatch(rf"error: {re.escape(str(bad))}: meta section: {message}\n", err), err
    assert not (tmp_path / "sim").exists()


def test_a_bad_output_path_is_refused_before_any_work(run_nmc, tmp_path):
    from conftest import EXAMPLES

    (tmp_path / "a_file").write_text("")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "x")
    net = EXAMPLES / "synfire.yaml"
    for out, message in ((tmp_path / "a_file", "it is a file, not a folder"),
                         (tmp_path / "a_file" / "sub", f"{tmp_path / 'a_file'} is a file, so nothing can be made under it"),
                         (tmp_path / "dangling", f"a symbolic link to {tmp_path / 'nowhere' / 'x'}, which does not exist")):
        for args in (("simulate", net), ("compile", net, "--target", "loihi-like"),
                     ("compare", net, "--target", "loihi-like")):
            code, _, err = run_nmc(*args, "-o", out)
            assert code == 2 and err == f"error: output folder {out}: {message}\n", (args, err)
    code, _, err = run_nmc("import", net, "-o", tmp_path)
    assert code == 2 and err == f"error: output file {tmp_path}: it is a folder, not a file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "dangling"]


def test_runs_beyond_what_spike_times_or_memory_hold_are_refused_up_front(run_nmc, tmp_path):
    """``duration: 1e12`` ran 50 s into 4.8 GB; a recording beyond the memory is named with its size."""
    net = tmp_path / "net.yaml"
    body = "dt: 0.1 ms\npopulations:\n  a: {model: lif, size: 3, params: {tau_mem: 10 ms}}\nprobes:\n  - {target: a, variable: v}\n"
    net.write_text("version: 1\nduration: 1e12 s\n" + body)
    t = time.perf_counter()
    code, _, err = run_nmc("simulate", net, "-o", tmp_path / "o")
    assert code == 2 and err == (f"error: {net}:2: duration 1e12 s is 1e+16 steps of 0.1 ms, beyond the 2147483647 "
                                 "(2^31 - 1) a simulation holds\n"), err
    net.write_text("version: 1\nduration: 100 s\n" + body)
    code, _, err = run_nmc("--max-memory", "1M", "simulate", net, "-o", tmp_path / "o")
    assert code == 2 and err == ("error: probe 'a.v': recording 3 values over 1000000 steps needs 22.9 MB, more than "
                                 "the 1 MB available (nmc --max-memory): record fewer neurons or a shorter duration\n"), err
    code, _, err = run_nmc("simulate", net, "--duration", "1e9 s", "-o", tmp_path / "o")
    assert code == 2 and "steps are beyond the 2147483647 (2^31 - 1) that spike times hold" in err
    code, _, err = run_nmc("--max-memory", "lots", "simulate", net, "-o", tmp_path / "o")
    assert code == 2 and err == "error: --max-memory 'lots': give bytes, e.g. 8G or 512M\n"
    assert time.perf_counter() - t < 10 and not (tmp_path / "o").exists()
    import os

    assert "NMC_MAX_MEMORY" not in os.environ  # --max-memory holds for its command only


def test_a_delay_that_needs_an_endless_relay_chain_is_refused(run_nmc, tmp_path):
    """``delay: 1000 s`` on an all-to-all network compiled for over a minute (161,290 relays a chain)."""
    net = tmp_path / "net.yaml"
    net.write_text("version: 1\ndt: 0.1 ms\npopulations:\n  a: {model: lif, size: 10, params: {tau_mem: 10 ms}}\n"
                   "projections:\n  p: {pre: a, post: a, connector: all_to_all, delay: 1000 s}\n")
    t = time.perf_counter()
    code, _, err = run_nmc("compile", net, "--target", "loihi-like", "-o", tmp_path / "o")
    assert time.perf_counter() - t < 10 and not (tmp_path / "o").exists()
    assert code == 2 and err == ("error: projection 'p' has delays up to 10000000 ticks, loihi-like allows 62: needs a "
                                 "relay chain of 161290 neuron(s), beyond the 1024 a chain may have: shorten the delay, "
                                 "or choose a target with a longer delay range\n"), err


def test_a_network_file_reads_arrays_from_its_own_folder_only(run_nmc, tmp_path):
    import numpy as np

    np.save(tmp_path / "w.npy", np.ones((3, 3)))
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "sub").mkdir()
    np.save(tmp_path / "net" / "sub" / "w.npy", np.ones((3, 3)))
    (tmp_path / "net" / "link.npy").symlink_to(tmp_path / "w.npy")
    body = ("version: 1\ndt: 0.1 ms\npopulations:\n  a: {model: lif, size: 3, params: {tau_mem: 10 ms}}\n"
            "projections:\n  p: {pre: a, post: a, connector: {kind: dense, file: FILE}}\n")
    net = tmp_path / "net" / "n.yaml"
    for ref, inside in (("../w.npy", False), (str(tmp_path / "w.npy"), False), ("link.npy", False),
                        ("sub/w.npy", True)):
        net.write_text(body.replace("FILE", ref))
        code, _, err = run_nmc("validate", net)
        if inside:
            assert code == 0, err
            continue
        assert code == 2 and err == (f"error: {net}:6: projection 'p': connector: file '{ref}' lies outside the network "
                                     f"file's folder {net.parent} (nmc --allow-outside-paths reads it)\n"), err
        code, _, err = run_nmc("--allow-outside-paths", "validate", net)
        assert code == 0, err


def test_sizes_and_connectors_beyond_the_memory_budget_are_refused_by_line(run_nmc, tmp_path):
    """``fixed_probability p: 0.5`` on 1e6 x 1e6 ran 59 s into 7.6 GB; ``size: 1e9`` was "out of memory"."""
    net = tmp_path / "net.yaml"
    net.write_text("version: 1\ndt: 0.1 ms\npopulations:\n  a: {model: lif, size: 1000000, params: {tau_mem: 10 ms}}\n"
                   "projections:\n  p: {pre: a, post: a, connector: {kind: fixed_probability, p: 0.5}}\n")
    t = time.perf_counter()
    code, _, err = run_nmc("--max-memory", "10G", "validate", net)
    assert code == 2 and err == (f"error: {net}:6: projection 'p': connector: about 5e+11 synapses: needs 18.2 TB, more "
                                 "than the 10 GB available (nmc --max-memory)\n"), err
    net.write_text("version: 1\ndt: 0.1 ms\npopulations:\n  a: {model: lif, size: 1000000000, params: {tau_mem: 10 ms}}\n")
    code, _, err = run_nmc("--max-memory", "10G", "validate", net)
    assert code == 2 and err == (f"error: {net}:4: population 'a': size 1000000000: needs 186 GB, more than the 10 GB "
                                 "available (nmc --max-memory)\n"), err
    assert time.perf_counter() - t < 5


def _kill_runs(args, outdir, runs: int, seed: int) -> dict:
    """Run ``nmc args -o outdir`` ``runs`` times, each killed (SIGKILL) at a random moment of a
    whole run's length; after each, the folder holds a whole set (old or new) or none."""
    import random
    import subprocess
    import sys

    from nmcompiler.fileio import MANIFEST, check_set

    command = [sys.executable, "-m", "nmcompiler", *map(str, args), "-o", str(outdir)]
    t = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)  # a whole set to start from
    length = time.perf_counter() - t
    rng = random.Random(seed)
    seen = {"whole": 0, "none": 0}
    for _ in range(runs):
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.1) * length)
        proc.kill()
        proc.wait()
        why = check_set(outdir)
        if why == "":
            seen["whole"] += 1
        else:
            assert not (outdir / MANIFEST).exists() or "differs" not in why, why  # never a manifest over a mix
            seen["none"] += 1
    subprocess.run(command, check=True, capture_output=True)  # and the next run cleans up
    assert check_set(outdir) == "" and not list(outdir.glob(".*.tmp"))
    return seen


@pytest.mark.parametrize("command", [("compile", "cuba.yaml", "--target", "loihi-like"), ("simulate", "cuba.yaml")])
def test_a_killed_run_leaves_a_whole_set_or_none(command, tmp_path):
    """``make fuzz`` runs 50 kills per command (``NMC_KILL_RUNS``), ``make test`` 5."""
    import os

    from conftest import EXAMPLES
    from fuzz_mutators import report

    runs = int(os.environ.get("NMC_KILL_RUNS", "5"))
    seen = _kill_runs((command[0], EXAMPLES / command[1], *command[2:]), tmp_path / "out", runs=runs, seed=len(command))
    report(f"kill -9 during nmc {command[0]}", {"runs": runs, "whole set after": seen["whole"], "no set after": seen["none"]})
    assert sum(seen.values()) == runs


def test_a_set_interrupted_part_way_is_no_valid_set_and_the_next_run_makes_it_whole(tmp_path, monkeypatch):
    """The moment a kill rarely hits (the writes take milliseconds): a crash after the first file."""
    import nmcompiler.fileio as fileio

    old = fileio.OutputSet(tmp_path)
    old.add("a.bin", b"old a")
    old.add("b.bin", b"old b")
    old.commit()
    assert fileio.check_set(tmp_path) == ""
    real, written = fileio.write_bytes, []

    def crash_after_one(path, data):
        if written:
            (path.parent / f".{path.name}.x1.tmp").write_bytes(data[:2])  # what a kill leaves behind
            raise KeyboardInterrupt
        written.append(path)
        real(path, data)

    monkeypatch.setattr(fileio, "write_bytes", crash_after_one)
    new = fileio.OutputSet(tmp_path)
    new.add("a.bin", b"new a")
    new.add("b.bin", b"new b")
    with pytest.raises(KeyboardInterrupt):
        new.commit()
    assert (tmp_path / "a.bin").read_bytes() == b"new a" and (tmp_path / "b.bin").read_bytes() == b"old b"
    assert fileio.check_set(tmp_path) == "no valid nmc-manifest.json"  # a mix is no set
    monkeypatch.setattr(fileio, "write_bytes", real)
    new.commit()
    assert fileio.check_set(tmp_path) == "" and not list(tmp_path.glob(".*.tmp"))
    (tmp_path / "b.bin").write_bytes(b"edited")
    assert fileio.check_set(tmp_path) == "b.bin differs from the manifest"


def test_import_and_verify_write_whole_sets(run_nmc, tmp_path, monkeypatch):
    """nmc import's YAML names the set of arrays it was written with: a YAML whose arrays are
    another set (a run killed between the arrays and the YAML, or an edited array) is refused by
    line, never read as a different network; a saved IR folder and verify.json are whole sets."""
    import json

    import numpy as np

    import nmcompiler.frontends.yaml_writer as writer
    from conftest import EXAMPLES
    from nmcompiler import load_network
    from nmcompiler.fileio import MANIFEST, check_set

    out = tmp_path / "imp" / "net.yaml"
    code, _, err = run_nmc("import", str(EXAMPLES / "digits" / "digits.nir"), "--dt", "1ms", "-o", str(out))
    assert code == 0, err
    assert check_set(out.parent / "net.data") == ""
    assert run_nmc("info", str(out))[0] == 0

    def killed_before_the_yaml(path, data):  # the arrays of the new network are written, its YAML is not
        raise KeyboardInterrupt

    monkeypatch.setattr(writer, "write_bytes", killed_before_the_yaml)
    with pytest.raises(KeyboardInterrupt):
        writer.save_yaml_network(load_network(EXAMPLES / "mlp.yaml"), out)
    monkeypatch.undo()
    code, _, err = run_nmc("info", str(out))
    assert code == 2 and re.fullmatch(
        r"error: .*net\.yaml:6: arrays: 'net\.data' is not the set of arrays this file was written with \(.*\): "
        r"write the network again \(nmc import\), or delete the 'arrays' entry to read the arrays as they are\n", err), err
    ir = tmp_path / "ir"
    assert run_nmc("import", str(EXAMPLES / "mlp.yaml"), "-o", str(ir))[0] == 0
    assert check_set(ir) == "" and run_nmc("info", str(ir))[0] == 0
    (ir / "arrays.npz").write_bytes((ir / "arrays.npz").read_bytes()[:-10])
    code, _, err = run_nmc("info", str(ir))
    assert code == 2 and re.fullmatch(r"error: .*ir: not a whole saved IR \(arrays\.npz differs from the manifest\): "
                                      r"a run killed while writing it, or files changed; save the network again\n", err)
    ver = tmp_path / "ver"
    code, _, err = run_nmc("verify", str(EXAMPLES / "single_lif.yaml"), "--target", "fpga-lif", "--levels", "float,int",
                           "--steps", "1000", "-o", str(ver))
    assert code == 0, err
    assert check_set(ver) == "" and sorted(p.name for p in ver.iterdir()) == [MANIFEST, "verify.json"]
    assert np.isfinite(json.loads((ver / "verify.json").read_text())["steps"])
