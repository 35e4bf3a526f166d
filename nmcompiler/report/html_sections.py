"""The sections of ``report.html``, each from the outputs of a :class:`ReportBundle`: network
and mapping, populations, core utilization, link load, traffic, accuracy, energy and latency,
verification, design-space sweep, pass timings."""

from __future__ import annotations

import numpy as np

from ..units import format_si
from .bundle import ReportBundle
from .html import Section, figure, missing, note, table
from .report_plots import bars_png, confusion_pair_png, link_load_png, utilization_png

__all__ = ["SECTIONS", "sections"]


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def _num(x, fmt: str = ".4g") -> str:
    return "-" if x is None else format(x, fmt)


def summary(b: ReportBundle) -> tuple[str, bool]:
    c = b.compiled
    if c is None:
        return missing("compiled network (<name>.map.json)", "nmc compile NET --target T"), False
    r = c.report
    image = r.get("image") or {}
    rows = [["network", r["network"]], ["target", r["target"]], ["fits", "yes" if r["fits"] else "no"],
            ["cores used (lower bound)", f"{r['cores_used']} ({r['cores_lower_bound']})"],
            ["neurons", int(c.mapping.core_of.size)], ["partitioner", r["partitioner"]],
            ["placement", (r.get("placement") or {}).get("method", "-")],
            ["image", f"{image.get('file', '-')} ({image.get('bytes', '-')} bytes)"]]
    body = table(["", ""], rows)
    for misfit in r.get("misfits", []):
        body += note(f"does not fit: {misfit}", "missing")
    if r.get("notes"):
        body += "<ul>" + "".join(f"<li>{note(n)}</li>" for n in r["notes"]) + "</ul>"
    return body, True


def populations(b: ReportBundle) -> tuple[str, bool]:
    c, cmp, est, act = b.compiled, b.run("compare.json"), b.run("estimate.json"), b.run("activity.json")
    names = _population_names(b)
    if not names:
        return missing("per-population figures", "nmc compile, nmc compare or nmc estimate"), False
    quant = (cmp or {}).get("quantization") or {}
    pops = (cmp or {}).get("populations") or {}
    energy = ((est or {}).get("energy") or {}).get("per_population_j", {})
    ops = {k: v.get("synaptic_ops") for k, v in ((act or {}).get("populations") or {}).items()}
    rows = []
    for name in names:
        q, p = quant.get(name, {}), pops.get(name, {})
        cores = _cores_of(c, name) if c is not None else None
        if cores is not None and cores[0] == 0:
            continue  # a spike source: the host's, on no core
        rows.append([name, "-" if cores is None else f"{cores[0]} neurons on {cores[1]} cores",
                     p.get("float_spikes", "-"), p.get("hw_spikes", "-"), _pct(p.get("rate_error")),
                     _num(q.get("weight_sqnr_db"), ".1f"), q.get("weights_clipped", "-"), q.get("exponent", "-"),
                     ops.get(name, "-"), format_si(energy[name], "J") if name in energy else "-"])
    body = table(["population", "resources", "float spikes", "hw spikes", "rate error", "weight SQNR (dB)",
                  "weights clipped", "exponent", "synaptic ops", "energy (estimate)"], rows)
    if not quant:
        body += note("Quantization error (SQNR, clipping) comes from nmc compare NET --target T.", "missing")
    return body, True


def _population_names(b: ReportBundle) -> list[str]:
    if b.compiled is not None:
        return list(b.compiled.mapping.offsets)
    for name in ("compare.json", "activity.json"):
        doc = b.run(name)
        if doc and doc.get("populations"):
            return list(doc["populations"])
    return []


def _cores_of(c, name: str) -> tuple[int, int] | None:
    offsets = c.mapping.offsets
    if name not in offsets:
        return None
    starts = sorted(offsets.values())
    first = offsets[name]
    later = [s for s in starts if s > first]
    end = later[0] if later else c.mapping.core_of.size
    cores = c.mapping.core_of[first:end]
    return int(cores.size), int(np.unique(cores[cores >= 0]).size)


def cores(b: ReportBundle) -> tuple[str, bool]:
    c = b.compiled
    if c is None:
        return missing("compiled network", "nmc compile NET --target T"), False
    m = c.mapping
    util = m.usage.utilization(m.target.core)
    rows = [[k.replace("_", " "), _pct(float(v.max(initial=0))), _pct(float(v.mean()) if v.size else 0.0)]
            for k, v in util.items()]
    chips = int(np.unique(m.position[:, 0]).size) if m.position.size else 0
    body = table(["resource", "max", "mean"], rows)
    body += figure(utilization_png(util, m.position, m.target.chip.mesh, f"{m.target.name}: chip 0 of {chips}"),
                   "per-core utilization heatmap")
    return body, True


def links(b: ReportBundle) -> tuple[str, bool]:
    c = b.compiled
    if c is None:
        return missing("compiled network", "nmc compile NET --target T"), False
    loads = c.mapping.routes.links
    if loads is None:
        return note("One core: no spike crosses a link."), True
    r = c.report
    body = table(["", ""], [["busiest link (spikes/s)", _num(r.get("max_link_load"))],
                            ["all links (spikes/s)", _num(r.get("total_link_load"))],
                            ["rates", "measured (--data)" if r.get("rates_measured") else "1 Hz per neuron"]])
    return body + figure(link_load_png(loads.horizontal, loads.vertical, "link load, dimension-order routes"),
                         "link-load heatmap"), True


def traffic(b: ReportBundle) -> tuple[str, bool]:
    c, act = b.compiled, b.run("activity.json")
    if c is None and act is None:
        return missing("traffic figures", "nmc compile or nmc estimate"), False
    body = ""
    if c is not None:
        r = c.report
        body += table(["", "this placement", "index order"],
                      [["inter-core spikes per second", _num(r.get("inter_core_spikes")),
                        _num(r.get("inter_core_spikes_index_order"))],
                       ["average hops", _num(r.get("average_hops"), ".3f"), _num(r.get("average_hops_index_order"), ".3f")]])
    if act is not None and act.get("cores"):
        k = act["cores"]
        body += table(["run (nmc estimate)", "total"],
                      [["synaptic operations", act["synaptic_ops"]], ["spikes", act["spikes"]],
                       ["messages", sum(k["messages"])], ["hops (x + y)", sum(k["hops"])],
                       ["host messages", k["host_messages"]]])
        body += figure(bars_png(k["messages_in"], "messages received per core (the estimated run)", "messages",
                                horizontal=False), "messages per core")
    return body, True


def accuracy(b: ReportBundle) -> tuple[str, bool]:
    cmp = b.run("compare.json")
    if cmp is None:
        return missing("comparison (compare.json)", "nmc compare NET --target T [--data FILE.npz]"), False
    body = table(["population", "size", "float spikes", "hw spikes", "count correlation", "van Rossum"],
                 [[n, p["size"], p["float_spikes"], p["hw_spikes"], _num(p.get("count_correlation"), ".3f"),
                   _num(p.get("van_rossum_mean"), ".2f")] for n, p in cmp["populations"].items()])
    fd = cmp.get("first_divergence")
    body += note("identical spikes in float and on the target" if fd is None else
                 f"first divergence: step {fd['step']}, population '{fd['population']}', neuron {fd['neuron']}")
    if cmp.get("float_accuracy") is None:
        return body + note("No labelled data: accuracy needs nmc compare --data FILE.npz.", "missing"), True
    body += table(["", "float", cmp["target"]], [["accuracy", _num(cmp["float_accuracy"]), _num(cmp["hw_accuracy"])],
                                                 ["samples", cmp["samples"], cmp["samples"]]])
    body += note(f"same class on {_pct(cmp['agreement'])} of samples, same output counts on "
                 f"{_pct(cmp['count_agreement'])}")
    per_class = cmp.get("per_class") or {}
    if per_class:
        body += table(["class", "samples", "float accuracy", "hw accuracy"],
                      [[k, v["samples"], _num(v["float_accuracy"]), _num(v["hw_accuracy"])] for k, v in per_class.items()])
    if cmp.get("confusion"):
        body += figure(confusion_pair_png(cmp["confusion"], {"float": "float", "hw": cmp["target"]}), "confusion matrices")
    return body, True


def energy(b: ReportBundle) -> tuple[str, bool]:
    est = (b.run("estimate.json") or (b.run("compare.json") or {}).get("estimate")
           or (b.compiled.report.get("estimate") if b.compiled is not None else None))
    if est is None:
        return missing("estimate (estimate.json)", "nmc estimate IMAGE --steps N (or --data)"), False
    body = note(f"Estimates under the cost model of {est['target']}: {est['model']['source']}", "estimate")
    e, lat, thr = est["energy"], est["latency"], est["throughput"]
    if e is None:
        body += note("energy: not modelled (the cost model has no energy figures)")
    else:
        body += table(["energy", ""], [["total", format_si(e["total_j"], "J")],
                                       ["per inference", format_si(e["per_inference_j"], "J")],
                                       ["average power", format_si(e["average_power_w"] or 0.0, "W")]])
        body += figure(bars_png({k: v for k, v in e["by_kind_j"].items() if v}, "energy by event kind", "J"),
                       "energy by kind")
        if len(e["per_core_j"]) > 1:
            body += figure(bars_png(e["per_core_j"], "energy per core", "J", horizontal=False), "energy per core")
    rows = [["inferences", est["inferences"]], ["ticks", est["steps"]],
            ["wall time", format_si(lat["wall_time_s"], "s") if lat["wall_time_s"] else "not modelled"],
            ["per inference", format_si(lat["per_inference_s"], "s") if lat["wall_time_s"] else "-"],
            ["decision (ticks, slowest inference)", _num(lat.get("decision_ticks"), "")],
            ["real-time factor", _num(thr.get("real_time_factor"))], ["overruns", lat["overruns"]]]
    if lat.get("cycles_per_tick_mean") is not None:
        rows.append(["cycles per tick (mean / max)", f"{lat['cycles_per_tick_mean']:.1f} / {lat['cycles_per_tick_max']:g}"])
    body += table(["latency and throughput", ""], rows)
    for line in est.get("assumed", []):
        body += note(f"assumed: {line}", "estimate")
    if est.get("not_modelled"):
        body += note("not modelled: " + ", ".join(est["not_modelled"]), "estimate")
    return body, True


def verification(b: ReportBundle) -> tuple[str, bool]:
    v, rtl = b.run("verify.json"), b.run("rtl.json")
    if v is None and rtl is None:
        return missing("verification (verify.json)", "nmc verify NET --target T --levels float,int,rtl"), False
    body = ""
    if v is not None:
        body += table(["level", "spikes", "agreement with the level before", "first divergence"],
                      [[lv["level"], lv["spikes"], _pct(lv.get("agreement")),
                        "-" if not lv.get("first_divergence") else
                        "tick {tick}, {population}[{neuron}]".format(**lv["first_divergence"])] for lv in v["levels"]])
        if v.get("rtl_mismatches") is not None:
            body += note(f"RTL against the bit-accurate simulator: {v['rtl_mismatches']} mismatches")
        if v.get("vacuous"):
            body += note("No spike in any level: this verification shows nothing.", "missing")
    pnr = (rtl or {}).get("pnr")
    if pnr:
        body += note(f"place and route on {pnr.get('device', '-')}: Fmax {pnr.get('fmax_mhz', 0):.1f} MHz")
    return body, True


def sweep(b: ReportBundle) -> tuple[str, bool]:
    from .sweep_plot import pareto_png

    doc = b.run("sweep.json")
    if doc is None:
        return missing("design-space sweep (sweep.json)", "nmc sweep SPEC.yaml -o OUT"), False
    c = doc["counts"]
    refs = ", ".join(f"{v:.4f} (seed {k})" for k, v in doc["float_accuracy"].items() if v is not None)
    body = table(["sweep", ""], [["name", doc["sweep"]], ["axes", ", ".join(doc["axes"])],
                                 ["points", f"{len(doc['rows'])} of a grid of {doc['grid_points']}"],
                                 ["ran / do not fit / failed", f"{c['ok']} / {c['misfit']} / {c['failed']}"],
                                 ["float network accuracy", refs or "-"], ["engine", doc["engine"]]])
    body += figure(pareto_png(doc), "Pareto fronts: accuracy against cores and energy")
    for kind, column in (("cores", "cores"), ("energy", "energy_j")):
        front = [r for r in doc["rows"] if r[f"pareto_{kind}"]]
        if front:
            value = (lambda r: format_si(r[column], "J")) if kind == "energy" else (lambda r: r[column])
            body += table(["point", *doc["axes"], "accuracy", column],
                          [[r["point"], *(r[a] for a in doc["axes"]), f"{r['accuracy']:.4f}", value(r)]
                           for r in sorted(front, key=lambda r: r[column])])
    return body, True


def passes(b: ReportBundle) -> tuple[str, bool]:
    c = b.compiled
    if c is None or not c.report.get("passes"):
        return missing("pass timings", "nmc compile NET --target T"), False
    timings = {k: 1e3 * v for k, v in c.report["passes"].items()}
    body = table(["pass", "ms"], [[k, f"{v:.1f}"] for k, v in timings.items()])
    return body + figure(bars_png(timings, "compile passes", "ms"), "pass timings"), True


SECTIONS = (("summary", "Network and mapping", summary), ("populations", "Populations", populations),
            ("cores", "Core utilization", cores), ("links", "Link load", links), ("traffic", "Traffic", traffic),
            ("accuracy", "Accuracy", accuracy), ("energy", "Energy and latency", energy),
            ("verification", "Verification", verification), ("sweep", "Design-space sweep", sweep),
            ("passes", "Pass timings", passes))


def sections(b: ReportBundle) -> list[Section]:
    out = []
    for sid, title, build in SECTIONS:
        body, present = build(b)
        out.append(Section(id=sid, title=title, body=body, present=present))
    return out
