"""Chart helpers: numbers without scientific notation, readable ticks, labels that fit, gaps in lines."""

from __future__ import annotations

import base64
import re

from organwatch.report import svg


def test_numbers_for_people():
    assert svg.fmt_num(2009) == "2,009" and svg.fmt_year(2009.0) == "2009"
    assert svg.fmt_num(0.00242) == "0.00242"
    assert "e" not in svg.fmt_num(3.1e-6) and "e" not in svg.fmt_num(1.23e9)
    assert svg.fmt_num(1.23e9) == "1,230,000,000"
    assert [svg.fmt_tick(v) for v in (1000, 10_000, 100_000, 1e6, 19999.99999, 250)] == \
        ["1k", "10k", "100k", "1M", "20k", "250"]


def test_labels_are_shortened_to_their_room():
    s = "a very long label that cannot possibly fit in forty pixels"
    short = svg.fit(s, 40, 10)
    assert short.endswith("…") and svg.text_width(short, 10) <= 40
    lines = svg.wrap("one two three four five six seven eight nine ten", 60, 10)
    assert all(svg.text_width(x, 10) <= 60 for x in lines)
    assert svg.humanize("deny_statutory") == "deny statutory" and svg.humanize("Keep me") == "Keep me"


def test_line_breaks_across_missing_years_and_gap_is_marked():
    fig = svg.line_chart([{"name": "official", "x": [2010, 2015, 2016, 2017], "y": [34, 2766, 4080, 5146]}],
                         "Donors", "year", "donors")
    paths = re.findall(r'<path d="([^"]+)"', fig)
    assert len(paths) == 1 and paths[0].count("L") == 2  # 2015–2017 joined, 2010 left alone
    assert "no data" in fig and "2010–2015" in fig
    # model curves ask to be joined
    fig2 = svg.line_chart([{"name": "fit", "x": [2010, 2015], "y": [1, 2], "connect": True, "markers": False}], "t")
    assert len(re.findall(r"<path ", fig2)) == 1


def test_every_figure_has_title_desc_data_table_and_an_offline_download():
    fig = svg.bar_chart(["a", "b"], [1.0, 2.0], "Two bars", value_label="things")
    assert "<title>Two bars</title>" in fig and "<desc>" in fig
    assert '<details class="ow-data"><summary>Data table</summary>' in fig
    m = re.search(r'href="data:image/svg\+xml;base64,([^"]+)"', fig)
    assert m and base64.b64decode(m.group(1)).decode().startswith("<svg ")
    assert 'download="two-bars.svg"' in fig


def test_tables_scroll_and_show_identifiers_as_code():
    t = svg.html_table(["year", "outcome", "count"], [[2009, "deny_statutory", 2009]])
    assert t.startswith('<div class="ow-scroll">')
    assert '<td class="num">2009</td>' in t and '<td class="num">2,009</td>' in t
    assert "<code>deny_statutory</code>" in t
