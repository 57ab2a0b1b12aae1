"""``organwatch volume`` (capacity-based volume model) and ``organwatch hospitals`` (hospital registry)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from organwatch.clikit import emit_jsonl, json_option
from organwatch.errors import UsageError
from organwatch.output import TABLE_FORMATS, infer_format, write_records

TABLE_COLUMNS = ["kind", "hospital_id", "name_en", "name_zh", "province", "beds", "bed_rows", "occupancy",
                 "occupancy_rows", "median", "p2_5", "p5", "p25", "p75", "p95", "p97_5", "scenario", "seed", "draws"]


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def _out() -> Console:
    # markup off: scenario names, hospital names and file names are printed verbatim, never interpreted
    return Console(highlight=False, markup=False)


def _fmt(x) -> str:
    return "–" if x is None else f"{x:,.0f}"


@click.command()
@click.option("--scenario", "scenarios", multiple=True, metavar="FILE|NAME",
              help="Scenario TOML file, or a packaged scenario (default, critic, advocate). Repeat to compare "
                   "scenarios side by side.")
@click.option("--seed", type=int, default=None, help="Random seed, >= 0 (default: the scenario's).")
@click.option("--draws", type=int, default=None,
              help="Monte Carlo draws, 1 to 5,000,000 (default: the scenario's).")
@click.option("--share", metavar="SPEC", default=None,
              help="Share of ward bed-days used by transplant patients, in (0, 1]: a number or e.g. uniform:0.3:1.")
@click.option("--los", "los", metavar="SPEC", default=None,
              help="Length of stay in days: a number or e.g. loguniform:7:60.")
@click.option("--occupancy", metavar="SPEC", default=None,
              help="Bed occupancy as a fraction (1.31 = 131 %): a number or e.g. uniform:0.86:1.311.")
@click.option("--beds", metavar="SPEC", default=None,
              help="Beds (what-if): replaces the published figures of the --hospital given, or models one "
                   "hypothetical hospital when no --hospital is given.")
@click.option("--hospital", "hospitals", multiple=True, metavar="ID",
              help="Model only these registry hospitals (id or name; see `organwatch hospitals`). No imputation.")
@click.option("--no-imputation", is_flag=True, help="Profiled hospitals only (no hospitals imputed).")
@click.option("--exclude-publisher", "exclude_publishers", multiple=True, metavar="TEXT",
              help="Evidence drop: ignore hospital rows whose publisher category contains TEXT (e.g. "
                   "'Falun Gong', 'PRC'). Repeatable.")
@click.option("--no-calibration", is_flag=True, help="Skip the Bayesian calibration of the transplant share.")
@json_option("document", "the full result (or, with --out, write it there)")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write results: the JSON result with --json (or a .json name), else a per-hospital table.")
@click.option("--format", "fmt", type=click.Choice(TABLE_FORMATS), default=None,
              help="Table format for --out (default from the extension, else csv).")
@click.option("--findings", "findings_out", type=click.Path(path_type=Path), default=None,
              help="Also write the findings (organwatch Finding JSON) to this file.")
def volume(scenarios: tuple[str, ...], seed: int | None, draws: int | None, share: str | None, los: str | None,
           occupancy: str | None, beds: str | None, hospitals: tuple[str, ...], no_imputation: bool,
           exclude_publishers: tuple[str, ...], no_calibration: bool, as_json: bool, out: Path | None,
           fmt: str | None, findings_out: Path | None) -> None:
    """Estimate annual transplant volume from hospital capacity: beds x share x occupancy x 365 / length of stay.

    The answer is an estimate of capacity under the scenario's stated assumptions (every input cites a row of
    the embedded data or a named assumption), shown next to official totals and published estimates.

    \b
    Example:
      organwatch volume                                   # default scenario, summary table
      organwatch volume --json --out volume.json          # full result (median, intervals, by_hospital, ...)
      organwatch volume --scenario critic --scenario advocate
      organwatch volume --hospital tianjin-first-central-hospital --beds 500 --occupancy 1.31 --los 30 --share 1
      organwatch volume --scenario my-assumptions.toml --seed 7 --draws 1000000
      organwatch volume --exclude-publisher "Falun Gong" --exclude-publisher advocacy   # evidence drop
    """
    from organwatch.findings import dump_findings
    from organwatch.volume import estimate, registry
    from organwatch.volume import findings as vfind
    from organwatch.volume import scenario as scen

    specs = _overrides(seed, draws, share, los, occupancy, beds)
    for h in hospitals:
        registry.get(h)  # unknown hospital -> one-line error
    ids = [registry.get(h).hospital_id for h in hospitals]
    loaded = [scen.load(s) for s in scenarios] or [scen.load(None)]
    runs = []
    err = _err()
    for s in loaded:
        s = scen.with_overrides(s, draws=draws, seed=seed, share=specs.get("share"),
                                length_of_stay=specs.get("length_of_stay"), occupancy=specs.get("occupancy"),
                                beds=specs.get("beds"), hospitals=ids or None,
                                imputation="none" if no_imputation else None,
                                exclude_publishers=list(exclude_publishers))
        with err.status(f"volume: scenario '{s.name}', {s.draws:,} draws, seed {s.seed}"):
            runs.append(estimate.run(s, with_calibration=not no_calibration))
    r0 = runs[0]
    n_h = len(r0["by_hospital"])
    err.print(f"organwatch volume: {len(runs)} scenario(s); {n_h} hospitals with bed figures read from the registry, "
              f"{r0['imputation']['imputed_hospitals']} imputed, 0 failed")
    for r in runs:
        for note in r["imputation"]["notes"]:
            err.print(f"organwatch volume: note ({r['scenario']['name']}): {note}")
    if findings_out is not None:
        dump_findings([f for f in vfind.findings(runs[0], runs[1:])], findings_out)
    doc_text = estimate.to_json(runs[0]) if len(runs) == 1 else estimate.to_json(
        {"organwatch_version": r0["organwatch_version"], "comparison": estimate.scenario_table(runs), "results": runs})
    if out is not None and (as_json or out.suffix.lower() == ".json"):
        if out.parent and not out.parent.exists():
            raise UsageError(f"{out}: output directory does not exist")
        out.write_text(doc_text, encoding="utf-8")
        err.print(f"organwatch volume: wrote {out}")
    elif as_json:
        sys.stdout.write(doc_text)
    elif out is not None:
        records = _table_records(runs)
        f = infer_format(out, fmt, default="csv")
        write_records(records, out, f, columns=TABLE_COLUMNS)
        err.print(f"organwatch volume: wrote {len(records)} rows to {out}")
    if not as_json:
        _print_summary(runs)


def _overrides(seed: int | None, draws: int | None, share: str | None, los: str | None, occupancy: str | None,
               beds: str | None) -> dict[str, Any]:
    """Command-line overrides, validated here (not with click ranges) so a bad value is one line and exit 2."""
    from organwatch.volume import scenario as scen
    from organwatch.volume.distributions import parse_spec
    from organwatch.volume.scenario import PARAM_BOUNDS

    if seed is not None and not 0 <= seed < 2**63:
        raise UsageError(f"--seed = {seed} is out of range: must be >= 0")
    if draws is not None and not 1 <= draws <= scen.MAX_DRAWS:
        raise UsageError(f"--draws = {draws} is out of range: must be between 1 and {scen.MAX_DRAWS:,}")
    specs = {}
    for name, text in (("share", share), ("length_of_stay", los), ("occupancy", occupancy), ("beds", beds)):
        if text is not None:
            flag = {"length_of_stay": "--los"}.get(name, f"--{name}")
            specs[name] = parse_spec(text, flag, PARAM_BOUNDS[name])
    return specs


def _table_records(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-hospital, imputed and national rows of every run, for --out as a table."""
    quantiles = ("median", "p2_5", "p5", "p25", "p75", "p95", "p97_5")
    records: list[dict[str, Any]] = []
    for r in runs:
        base = {"scenario": r["scenario"]["name"], "seed": r["seed"], "draws": r["draws"]}
        for h in r["by_hospital"]:
            records.append({"kind": "hospital", **{k: h.get(k) for k in TABLE_COLUMNS if k in h}, **base})
        imp = r["imputation"]
        if imp["imputed_hospitals"]:
            records.append({"kind": "imputed", "hospital_id": f"{imp['imputed_hospitals']} imputed hospitals",
                            "bed_rows": [x["record_id"] for x in imp["frame_rows"]],
                            **{k: imp.get(f"imputed_{k}") for k in quantiles}, **base})
        records.append({"kind": "national", "hospital_id": "national total", **{k: r[k] for k in quantiles}, **base})
    return records


def _print_summary(runs: list[dict]) -> None:
    con = _out()
    if len(runs) > 1:
        t = Table(title="Scenarios side by side (national transplants per year; capacity under stated assumptions)")
        for c in ("scenario", "median", "90 % interval", "95 % interval", "share f", "length of stay",
                  "occupancy", "calibrated median"):
            t.add_column(c)
        for r in runs:
            p = r["scenario"]["parameters"]
            t.add_row(r["scenario"]["name"], _fmt(r["median"]), f"{_fmt(r['p5'])}–{_fmt(r['p95'])}",
                      f"{_fmt(r['p2_5'])}–{_fmt(r['p97_5'])}", p["share"]["describe"], p["length_of_stay"]["describe"],
                      p["occupancy"]["describe"], _fmt(r.get("calibration", {}).get("calibrated", {}).get("median")))
        con.print(t)
        return
    r = runs[0]
    sc = r["scenario"]
    con.print(f"Scenario '{sc['name']}' ({sc['source']}), seed {r['seed']}, {r['draws']:,} draws")
    con.print(f"National transplants per year (capacity under these assumptions): median {_fmt(r['median'])}; "
              f"50 % {_fmt(r['p25'])}–{_fmt(r['p75'])}; 90 % {_fmt(r['p5'])}–{_fmt(r['p95'])}; "
              f"95 % {_fmt(r['p2_5'])}–{_fmt(r['p97_5'])}")
    t = Table(title="By hospital (rows of the embedded data)")
    for c in ("hospital", "beds", "bed rows", "occupancy", "median", "90 % interval"):
        t.add_column(c)
    for h in r["by_hospital"]:
        t.add_row(h["hospital_id"], h["beds"], ", ".join(h["bed_rows"]), h["occupancy"], _fmt(h["median"]),
                  f"{_fmt(h['p5'])}–{_fmt(h['p95'])}")
    imp = r["imputation"]
    if imp["imputed_hospitals"]:
        from organwatch.volume.report_section import _dist

        t.add_row(f"{imp['imputed_hospitals']} imputed", f"bootstrap × {_dist(sc['imputation']['bed_scale'])}",
                  ", ".join(x["record_id"] for x in imp["frame_rows"]), "scenario range",
                  _fmt(imp.get("imputed_median")), f"{_fmt(imp.get('imputed_p5'))}–{_fmt(imp.get('imputed_p95'))}")
    con.print(t)
    s = Table(title="Sensitivity (share of variance of log total; Spearman)")
    for c in ("input", "variance share", "Spearman", "median if input in lowest decile", "… highest decile"):
        s.add_column(c)
    for x in r["sensitivity"]:
        if x["varies"]:
            s.add_row(x["parameter"], f"{x['variance_share']:.0%}", f"{x['spearman']:+.2f}",
                      _fmt(x["median_low_decile"]), _fmt(x["median_high_decile"]))
    con.print(s)
    o = Table(title="Official totals (as published) and the share of model draws above them")
    for c in ("year", "official", "row", "model draws above"):
        o.add_column(c)
    for x in r["vs_official"]:
        o.add_row(str(x["year"]), f"{x['qualifier']}{x['value']:,.0f}", x["record_id"], f"{x['p_model_exceeds']:.1%}")
    con.print(o)
    cal = r.get("calibration", {})
    if cal.get("status") == "ok":
        con.print(f"Calibration of the share f on {len(cal['observations'])} hospitals stating beds and volumes: "
                  f"posterior mean {cal['posterior']['mean']:.3g} (prior mean {cal['prior']['mean']:.3g}); without the "
                  f"scenario's prior f ≈ {cal['data_only']['median']:.2g}; prior-data conflict: {cal['conflict']}; "
                  f"national median with that f: {_fmt(cal['calibrated_data_only']['median'])}.")
    d = r["donors"]["deceased_donors_per_year"]
    con.print(f"Implied deceased donors per year (assumption {r['donors']['assumption']}): median {_fmt(d['median'])}, "
              f"90 % {_fmt(d['p5'])}–{_fmt(d['p95'])}.")
    w = r["worked_example"]
    con.print(f"Worked example (rows {', '.join(w['rows'])}): {w['formula']} (published: {w['published']:,.0f}).")


@click.command()
@click.argument("ids", nargs=-1, metavar="[HOSPITAL...]")
@click.option("--province", default=None, help="Only hospitals in this province (or city).")
@click.option("--organ", type=click.Choice(["kidney", "liver", "heart", "lung"]), default=None,
              help="Only hospitals with figures or a licence for this organ.")
@click.option("--licensed", is_flag=True, help="Only hospitals on an embedded licence roster (Beijing, c.2007-08).")
@click.option("--metric", default=None, help="Only hospitals with a figure of this metric (e.g. transplant_beds).")
@click.option("--counts", is_flag=True, help="Licensed / qualified hospital counts by date instead of hospitals.")
@json_option("lines", "one record per hospital (or per licensed-hospital count with --counts)")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the records to a file.")
@click.option("--format", "fmt", type=click.Choice(TABLE_FORMATS), default=None,
              help="jsonl, csv or parquet (default from the extension, else csv).")
def hospitals(ids: tuple[str, ...], province: str | None, organ: str | None, licensed: bool, metric: str | None,
              counts: bool, as_json: bool, out: Path | None, fmt: str | None) -> None:
    """The hospital registry: names (en/zh), location, licences and every published capacity figure with its
    source, publisher and publisher category (conflicting figures side by side).

    \b
    Example:
      organwatch hospitals                              # one line per hospital
      organwatch hospitals --province Beijing --organ liver
      organwatch hospitals tianjin-first-central-hospital --json
      organwatch hospitals --counts                     # licensed-hospital counts by date
      organwatch hospitals --out hospitals.parquet
    """
    from organwatch.volume import registry

    if counts:
        records = registry.licensed_counts()
        columns = list(records[0]) if records else []
    else:
        hs = [registry.get(i) for i in ids] if ids else registry.filter_hospitals(province, organ, licensed, metric)
        if ids:
            hs = [h for h in hs if h in registry.filter_hospitals(province, organ, licensed, metric)]
        records = [h.to_record() for h in hs]
        columns = ["hospital_id", "name_en", "name_zh", "city", "province", "location_basis", "organs",
                   "licensed_organs", "licence_date", "licence_source", "transplant_beds_published",
                   "transplant_beds_rows", "n_figures", "metrics", "figures"]
    err = _err()
    err.print(f"organwatch hospitals: {len(records)} records from the embedded registry, 0 failed")
    if out is not None:
        write_records(records, out, infer_format(out, fmt, default="csv"), columns=columns)
        err.print(f"organwatch hospitals: wrote {len(records)} records to {out}")
        return
    if as_json:
        emit_jsonl(records)
        return
    con = _out()
    if counts:
        t = Table(title="Licensed / qualified transplant hospitals by date (as published; conflicts kept)")
        for c in ("row", "as of", "count", "scope", "source type"):
            t.add_column(c)
        for r in records:
            t.add_row(r["record_id"], r["as_of_date"], f"{r['qualifier']}{r['count']}", r["scope"], r["source_type"])
        con.print(t)
        return
    if ids and len(records) == 1:
        h = records[0]
        con.print(f"{h['name_en']} {h['name_zh']} — {h['city']}, {h['province']} ({h['hospital_id']})")
        if h["licensed_organs"]:
            organs = ", ".join(h["licensed_organs"])
            con.print(f"licensed organs: {organs} ({h['licence_date']}; {h['licence_source']})")
        t = Table(title="Published figures")
        for c in ("row", "metric", "value", "organ", "unit", "date", "publisher category"):
            t.add_column(c)
        for f in h["figures"]:
            v = f["qualifier"] + f["value_as_published"] + (f"–{f['value_max']:g}" if f["value_max"] else "")
            t.add_row(f["record_id"], f["metric"], v, f["organ"], f["unit"], f["reference_date"],
                      f["publisher_category"])
        con.print(t)
        return
    # one line per hospital, never truncated (ids are up to 65 characters, too long for columns at 80): id,
    # province, published transplant beds, number of figures; names, organs and licences: `hospitals ID`, --json
    click.echo(f"{len(records)} hospitals in the registry (id · province · published transplant beds · figures)")
    for r in records:
        beds = ", ".join(f"{v:g}" for v in sorted(set(r["transplant_beds_published"]))) or "–"
        click.echo(f"{r['hospital_id']} · {r['province']} · beds {beds} · {r['n_figures']} figures")
