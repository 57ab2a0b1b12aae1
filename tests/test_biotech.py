"""Biotech engine units: law rules and their dates, the registry's as-of semantics, name normalisation,
matching (zh/en names, legal forms, acronyms with and without context, negative controls) and every verdict."""

from __future__ import annotations

import datetime as dt

import pytest

from organwatch import datasets
from organwatch.biotech import laws as L
from organwatch.biotech.decide import VERDICTS, screen_asset
from organwatch.biotech.inventory import Asset, country_code, state_code
from organwatch.biotech.matching import default_matcher
from organwatch.biotech.normalise import make_name, strip_legal_forms, tokens
from organwatch.biotech.registry import load_registry, parse_date

D = dt.date.fromisoformat


def screen(day: str, jurisdiction: str = "US-TX", **cells: str) -> dict:
    cells.setdefault("asset_type", "sequencer")
    cells.setdefault("facility_type", "hospital")
    asset = Asset(file="t.csv", row=2, asset_id="t1", **cells)
    return screen_asset(default_matcher(), asset, [jurisdiction], D(day))[0]


def verdict(day: str, jurisdiction: str = "US-TX", **cells: str) -> str:
    return str(screen(day, jurisdiction, **cells)["verdict"])


BGI_GENOMICS = {"manufacturer": "BGI Genomics Co., Ltd."}  # listed on the 1260H list since 2022-10-05


# -- law rules ------------------------------------------------------------------------------------------------
def test_every_law_cites_a_registry_row_with_the_sequencer_flag():
    laws = datasets.load("laws").frame.set_index("id")
    for code, law in L.load_laws().items():
        assert law.law_id in laws.index, code
        row = laws.loc[law.law_id]
        assert bool(row["covers_genetic_sequencer"]), law.law_id
        assert law.source_urls and all(u.startswith("http") for u in law.source_urls)
        assert law.adversary.source_urls


def test_law_facts_as_summarised():
    laws = L.load_laws()
    assert laws["ID"].effective == D("2024-07-01") and "merely_assembled" in laws["ID"].exemptions
    assert laws["ID"].adversary.hong_kong == "not_stated" and "SY" in laws["ID"].adversary.countries
    assert laws["TX"].effective == D("2025-09-01") and laws["TX"].adversary.key == "cfr_791_4"
    assert laws["TX"].adversary.covers("HK") is True and "company" in laws["TX"].facilities
    assert laws["TN"].replacement_days == 180 and laws["TN"].effective is None and not laws["TN"].effective_verified
    assert laws["TN"].replace_by == D("2026-01-01") + dt.timedelta(days=180)
    assert laws["FL"].assets == frozenset({"software"}) and laws["FL"].facilities == frozenset({"state_lab"})
    assert not laws["FL"].status_verified and not laws["FL"].subsidiary_clause
    assert laws["AZ"].status == "vetoed" and laws["MT"].status == "passed_lower_chamber"
    assert laws["US"].lists_used == frozenset({"dod_1260h"})


@pytest.mark.parametrize(("code", "day", "expected"), [
    ("ID", "2024-06-30", "not_yet"), ("ID", "2024-07-01", "in_force"),
    ("TX", "2025-08-31", "not_yet"), ("TX", "2025-09-01", "in_force"),
    ("TN", "2025-03-27", "not_yet"), ("TN", "2025-03-28", "unknown_date"), ("TN", "2025-12-31", "unknown_date"),
    ("TN", "2026-01-01", "in_force"),
    ("LA", "2030-01-01", "unknown_date"),
    ("FL", "2025-06-30", "not_yet"), ("FL", "2025-07-01", "in_force"),
    ("MT", "2030-01-01", "not_law"), ("AZ", "2030-01-01", "not_law"),
    ("US", "2025-12-17", "not_yet"), ("US", "2025-12-18", "in_force"),
])
def test_in_force_boundaries(code, day, expected):
    assert L.in_force(L.load_laws()[code], D(day)) == expected


@pytest.mark.parametrize(("jurisdiction", "day", "expected"), [
    ("US-ID", "2024-06-30", "not_restricted"), ("US-ID", "2024-07-01", "restricted"),
    ("US-TX", "2025-08-31", "not_restricted"), ("US-TX", "2025-09-01", "restricted"),
    ("US-TN", "2025-03-27", "not_restricted"), ("US-TN", "2025-03-28", "needs_review"),
    ("US-TN", "2026-01-01", "restricted"),
    ("US-LA", "2026-01-01", "needs_review"),
    ("US-MT", "2026-01-01", "not_restricted"), ("US-AZ", "2026-01-01", "not_restricted"),
    ("US-CA", "2026-01-01", "not_restricted"),
])
def test_each_law_on_its_boundary_days(jurisdiction, day, expected):
    assert verdict(day, jurisdiction, **BGI_GENOMICS) == expected


def test_tennessee_replacement_period_is_reported():
    inside = screen("2026-01-01", "US-TN", **BGI_GENOMICS)
    assert "within_replacement_period" in inside["reasons"] and inside["law"]["replace_by"] == "2026-06-30"
    after = screen("2026-06-30", "US-TN", **BGI_GENOMICS)
    assert after["verdict"] == "restricted" and "within_replacement_period" not in after["reasons"]


def test_florida_covers_only_department_of_health_lab_software():
    assert verdict("2025-06-30", "US-FL", software="ZLIMS", asset_type="software", facility_type="state lab") \
        == "not_restricted"
    lab = screen("2025-07-01", "US-FL", software="ZLIMS", asset_type="software", facility_type="state lab")
    assert lab["verdict"] == "needs_review" and "law_status_unverified" in lab["reasons"]
    assert verdict("2025-07-01", "US-FL", software="ZLIMS", asset_type="software", facility_type="hospital") \
        == "not_restricted"


def test_idaho_and_texas_coverage_of_facilities_and_assets():
    assert verdict("2025-01-01", "US-ID", facility_type="company", **BGI_GENOMICS) == "not_restricted"
    assert verdict("2026-01-01", "US-TX", facility_type="company", **BGI_GENOMICS) == "restricted"
    # a sample-prep robot is a "genome sequencer" platform in Texas, not a sequencer in Idaho
    assert verdict("2026-01-01", "US-TX", model="MGISP-960", asset_type="") == "restricted"
    assert verdict("2026-01-01", "US-ID", model="MGISP-960", asset_type="") == "needs_review"
    assert verdict("2026-01-01", "US-TX", asset_type="printer", **BGI_GENOMICS) == "not_restricted"


def test_federal_biosecure_needs_a_1260h_listing_and_a_federal_buyer():
    assert verdict("2025-12-17", "US", facility_type="federal agency", **BGI_GENOMICS) == "not_restricted"
    assert verdict("2025-12-18", "US", facility_type="federal agency", **BGI_GENOMICS) == "restricted"
    assert verdict("2025-12-18", "US", facility_type="hospital", **BGI_GENOMICS) == "not_restricted"
    # on the Entity List only: not a biotechnology company of concern through the 1260H list
    out = screen("2026-01-01", "US", facility_type="federal agency", manufacturer="BGI Research")
    assert out["verdict"] == "not_restricted" and "not_on_a_list_the_law_uses" in out["reasons"]
    old = screen("2026-01-01", "US", facility_type="federal agency", **BGI_GENOMICS)
    assert old["verdict"] == "restricted"
    bought = Asset(file="t", row=2, asset_id="x", manufacturer="BGI Genomics", asset_type="sequencer",
                   facility_type="federal agency", purchase_date=D("2025-01-01"))
    assert screen_asset(default_matcher(), bought, ["US"], D("2026-01-01"))[0]["verdict"] == "needs_review"


# -- registry and as-of ---------------------------------------------------------------------------------------
def test_month_precision_dates_are_the_first_of_the_month():
    assert parse_date("2025-12") == D("2025-12-01") and parse_date("") is None


def test_as_of_examples_from_the_data_readme():
    reg = load_registry()
    mgi = reg.entities["mgi-tech"]
    assert {x.status for x in mgi.active(D("2024-06-30"))} == {"watch", "named_in_bill_only"}
    assert mgi.status_on(D("2024-06-30")) == "watch"
    assert reg.entities["complete-genomics"].status_on(D("2026-01-01")) == "watch"
    assert all(reg.entities["wuxi-biologics"].status_on(D(d)) != "listed"
               for d in ("2024-06-01", "2025-12-31", "2026-12-31"))


def test_bills_end_on_the_last_day_of_the_118th_congress():
    bgi_group = load_registry().entities["bgi-group"]
    assert bgi_group.status_on(D("2025-01-02")) == "named_in_bill_only"
    assert bgi_group.status_on(D("2025-01-03")) is None  # ended; not yet listed
    assert bgi_group.status_on(D("2025-01-07")) == "listed"
    assert verdict("2025-01-02", manufacturer="BGI Group") == "named_in_bill_only"
    assert verdict("2025-01-03", manufacturer="BGI Group") == "not_restricted"


def test_parent_listing_is_reported_but_not_inherited():
    out = screen("2026-01-01", manufacturer="Complete Genomics, Inc.")
    assert out["verdict"] == "watch" and "parent_listed" in out["reasons"]
    assert out["parents"] == ["mgi-tech", "bgi-group"] and out["questions"]
    assert verdict("2026-06-08", manufacturer="Complete Genomics, Inc.") == "restricted"


def test_opensanctions_import_adds_attributed_listings_with_end_dates():
    from pathlib import Path

    from organwatch.biotech.registry import opensanctions_config

    OPENSANCTIONS_ATTRIBUTION = opensanctions_config()["attribution"]
    errors: list = []
    reg = load_registry((Path(__file__).parent / "data" / "biotech" / "entities.ftm.json",), errors)
    # 5 lines: 2 companies, 1 line that is not JSON, 1 company without a name, 1 address (not a vendor)
    assert len(errors) == 2 and {e.line for e in errors} == {3, 4}
    new = reg.entities["os:NK-example1"]
    assert new.status_on(D("2026-02-16")) == "listed" and new.status_on(D("2026-02-17")) is None  # withdrawn
    assert new.attribution == OPENSANCTIONS_ATTRIBUTION and reg.attribution == OPENSANCTIONS_ATTRIBUTION
    mgi = reg.entities["mgi-tech"]  # same name as an embedded entity: its listing joins that entity
    assert any(x.origin == "opensanctions" for x in mgi.listings) and mgi.attribution
    assert "os:NK-example2" not in reg.entities and len(reg.entities) == 23
    assert not any(x.origin == "opensanctions" for x in load_registry().entities["mgi-tech"].listings)


# -- normalisation and matching -------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "expected"), [
    ("MGI Tech Co., Ltd.", "mgi tech"), ("MGI Tech Co.,Ltd", "mgi tech"), ("BGI Genomics Co Ltd", "bgi genomics"),
    ("Novogene Company Limited", "novogene"), ("Complete Genomics, Inc.", "complete genomics"),
    ("BGI Americas Corporation", "bgi americas"), ("Example Holdings GmbH", "example"), ("Foo Corp.", "foo"),
    ("深圳华大基因股份有限公司", "深圳华大基因"), ("北京六合華大基因科技有限公司", "北京六合华大基因科技"),
    ("Limited", "limited"), ("Co-op Inc", "co op"),
])
def test_legal_forms_are_stripped_only_at_the_end(raw, expected):
    assert " ".join(strip_legal_forms(tokens(raw))) == expected


def test_fullwidth_and_traditional_forms_fold():
    assert make_name("ＭＧＩ　Ｔｅｃｈ").compact == "mgitech"
    assert make_name("華大智造").compact == make_name("华大智造").compact


@pytest.mark.parametrize(("name", "entity"), [
    ("MGI Tech Co., Ltd.", "mgi-tech"), ("MGITech", "mgi-tech"), ("Shenzhen MGI Tech Co Ltd", "mgi-tech"),
    ("深圳华大智造科技股份有限公司", "mgi-tech"), ("華大智造", "mgi-tech"), ("武汉华大智造科技有限公司", "mgi-tech"),
    ("BGI Genomics Co., Ltd.", "bgi-genomics"), ("深圳華大基因股份有限公司", "bgi-genomics"), ("华大基因", "bgi-genomics"),
    ("SZSE:300676", "bgi-genomics"), ("Beijing Genomics Institute", "bgi-group"),
    ("新疆丝路华大基因科技有限公司", "xinjiang-silk-road-bgi"), ("Complete Genomics Inc", "complete-genomics"),
    ("Complete Genomic", "complete-genomics"), ("BGI Tech Solutions (Hong Kong) Co., Limited", "bgi-tech-solutions-hk"),
    ("藥明康德", "wuxi-apptec"), ("药明康德", "wuxi-apptec"), ("WuXi AppTec", "wuxi-apptec"),
    ("金斯瑞生物科技股份有限公司", "genscript"), ("Novogene Co., Ltd.", "novogene"), ("Innomics Inc", "innomics"),
])
def test_names_match_their_entity(name, entity):
    m = default_matcher().match_name(name)
    assert m.decision == "accept" and m.entities == [entity], (name, m)


@pytest.mark.parametrize("name", [
    "Illumina, Inc.", "Thermo Fisher Scientific", "Oxford Nanopore Technologies plc", "PacBio",
    "Pacific Biosciences of California", "Element Biosciences", "Ultima Genomics", "Singular Genomics",
    "OriGene Technologies", "QIAGEN GmbH", "Roche Diagnostics", "Agilent Technologies", "10x Genomics",
    "Genomics England", "GeneDx", "Life Technologies", "Genomics Institute", "Shenzhen Institute",
])
def test_negative_controls_do_not_match(name):
    assert default_matcher().match_name(name).decision == "none", name


def test_lookalikes_go_to_review_not_to_a_match():
    for name in ("Novogen Ltd", "Novogen Limited", "Origene"):
        assert default_matcher().match_name(name).decision in ("review", "none"), name


@pytest.mark.parametrize(("cells", "expected"), [
    ({"manufacturer": "BGI", "asset_type": "sequencer"}, "restricted"),
    ({"manufacturer": "MGI", "model": "DNBSEQ-T7"}, "restricted"),
    ({"manufacturer": "MGI Americas", "asset_type": "", "model": "genome sequencer"}, "restricted"),
    ({"manufacturer": "MGI", "asset_type": ""}, "needs_review"),
    ({"manufacturer": "BGI", "asset_type": ""}, "needs_review"),
    ({"manufacturer": "MGI", "model": "JETvarnish 3D", "asset_type": "printer"}, "not_restricted"),
    ({"manufacturer": "MGI Pharma", "asset_type": ""}, "not_restricted"),
    ({"manufacturer": "BGI Building Services", "asset_type": ""}, "not_restricted"),
    ({"manufacturer": "MGI Digital Technology", "asset_type": "sequencer"}, "not_restricted"),
])
def test_acronyms_only_with_genomics_context(cells, expected):
    assert verdict("2026-01-01", **cells) == expected


@pytest.mark.parametrize(("cells", "expected"), [
    ({"manufacturer": "Illumina", "model": "NovaSeq 6000"}, "not_restricted"),
    ({"manufacturer": "Thermo Fisher Scientific", "model": "Ion GeneStudio S5"}, "not_restricted"),
    ({"manufacturer": "Oxford Nanopore Technologies", "model": "PromethION 24"}, "not_restricted"),
    ({"manufacturer": "PacBio", "model": "Revio"}, "not_restricted"),
    ({"manufacturer": "Illumina", "model": "MiSeq", "country_of_origin": "China"}, "needs_review"),
    ({"manufacturer": "Illumina", "model": "MiSeq", "country_of_origin": "Singapore"}, "not_restricted"),
])
def test_negative_controls_are_never_restricted(cells, expected):
    assert verdict("2026-07-01", **cells) == expected


def test_products_identify_a_maker_from_the_model_alone():
    out = screen("2026-01-01", model="DNBSEQ-G400RS", asset_type="")
    assert out["verdict"] == "restricted" and out["entity_id"] == "mgi-tech"
    assert out["match"]["method"] == "product" and out["asset_kind"] == "sequencer"
    assert verdict("2026-07-01", software="SAW", asset_type="software") == "not_restricted"  # SAW needs STOmics
    assert verdict("2026-07-01", software="SAW for Stereo-seq", asset_type="software") == "restricted"


def test_product_names_with_unicode_dashes_and_fullwidth_forms():
    m = default_matcher()
    for text in ("DNBSEQ\u2010G400", "ＤＮＢＳＥＱ－Ｇ４００", "dnbseq g400", "MGISEQ\u20132000"):
        assert [h.product.entity_id for h in m.match_products(text)] == ["mgi-tech"], text
    assert m.match_products("NovaSeq 6000 T7 SAW") == []


def test_reagents_are_asked_about_not_restricted():
    out = screen("2026-01-01", model="MGIEasy RNA Library Prep Set", asset_type="")
    assert out["verdict"] == "needs_review" and out["asset_kind"] == "reagent"


def test_maker_and_product_family_disagreeing_statuses_go_to_review():
    out = screen("2026-01-01", manufacturer="Complete Genomics", model="DNBSEQ-G400")
    assert out["verdict"] == "needs_review" and "maker_and_product_family_disagree" in out["reasons"]


# -- every verdict, and what each hit cites -------------------------------------------------------------------
def test_every_verdict_is_produced():
    got = {
        verdict("2026-01-01", **BGI_GENOMICS),
        verdict("2024-06-30", manufacturer="MGI Tech"),
        verdict("2024-06-30", manufacturer="BGI Group"),
        verdict("2026-01-01", manufacturer="Illumina"),
        verdict("2026-01-01", manufacturer="Novogen"),
    }
    assert got == set(VERDICTS)


def test_watch_and_bill_only_entities_are_never_restricted():
    reg = load_registry()
    days = [D(d) for d in ("2024-03-29", "2024-06-30", "2025-01-02", "2025-06-01", "2025-12-31", "2026-06-07",
                           "2026-06-08", "2027-01-01")]
    for e in reg.entities.values():
        for day in days:
            if e.status_on(day) in ("watch", "named_in_bill_only", None):
                for j in ("US-TX", "US-ID", "US-TN", "US"):
                    out = screen(day.isoformat(), j, manufacturer=e.name_en, facility_type="federal agency"
                                 if j == "US" else "hospital")
                    assert out["verdict"] != "restricted", (e.id, day, j)


def test_every_hit_cites_a_source_url_and_a_date():
    for cells in (BGI_GENOMICS, {"manufacturer": "WuXi AppTec"}, {"model": "DNBSEQ-T7"}):
        for day in ("2024-06-30", "2026-01-01", "2026-07-01"):
            out = screen(day, **cells)
            if out["verdict"] in ("restricted", "watch", "named_in_bill_only"):
                assert out["lists"], out
                assert all(x["source"].startswith("http") and x["date"] for x in out["lists"])
                assert out["law"]["source"].startswith("http") and out["law"]["id"]


def test_country_and_state_cells():
    assert country_code("People's Republic of China") == "CN" and country_code("香港") == "HK"
    assert country_code("Atlantis") is None and country_code("Russia") == "RU"
    assert state_code("Texas") == "US-TX" and state_code("US-TN") == "US-TN" and state_code("tx") == "US-TX"
    assert state_code("federal") == "US" and state_code("Narnia") is None


@pytest.mark.parametrize(("cell", "kind"), [
    ("Sequencer", "sequencer"), ("NGS Sequencing System", "sequencer"), ("Sequencing reagent kit", "reagent"),
    ("Library prep kit", "reagent"), ("Sequencing software", "software"), ("Liquid handler", "sample_prep"),
    ("Cloud storage", "data_storage"), ("Sequencing service", "service"), ("Laser printer", "other"),
    ("测序仪", "sequencer"), ("Centrifuge", None),
])
def test_asset_type_cells(cell, kind):
    from organwatch.biotech.inventory import asset_kind

    assert asset_kind(cell) == kind


@pytest.mark.parametrize(("cell", "kind"), [
    ("Hospital", "medical_facility"), ("University Hospital", "medical_facility"),
    ("State Public Health Laboratory", "state_lab"), ("Department of Health Laboratory", "state_lab"),
    ("Research Institute", "research_facility"), ("University", "research_facility"), ("Biotech company", "company"),
    ("Federal agency", "federal_agency"), ("Warehouse", None),
])
def test_facility_type_cells(cell, kind):
    from organwatch.biotech.inventory import facility_kind

    assert facility_kind(cell) == kind


def test_unlisted_maker_from_an_adversary_country_outside_the_laws_scope():
    assert verdict("2026-01-01", "US-FL", manufacturer="Example Instruments", country_of_origin="China",
                   facility_type="hospital") == "not_restricted"
    out = screen("2025-06-01", manufacturer="WuXi AppTec")  # bills ended, watch letter not yet written
    assert out["verdict"] == "not_restricted" and "entity_not_on_a_list_on_date" in out["reasons"]
    assert out["questions"] == []  # Texas's law is not in force yet: nothing to ask
    out = screen("2025-10-01", manufacturer="WuXi AppTec")
    assert out["verdict"] == "not_restricted" and "domiciled" in out["questions"][0]


def test_hong_kong_origin_asks_when_the_definition_is_silent():
    out = screen("2025-01-01", "US-ID", manufacturer="Example Instruments", country_of_origin="Hong Kong")
    assert out["verdict"] == "needs_review" and "origin_hong_kong_not_stated" in out["reasons"]
    out = screen("2026-01-01", "US-TX", manufacturer="Example Instruments", country_of_origin="Hong Kong")
    assert out["verdict"] == "needs_review" and "origin_in_foreign_adversary" in out["reasons"]


def test_flat_opensanctions_export_attaches_sanction_entities():
    from pathlib import Path

    reg = load_registry((Path(__file__).parent / "data" / "biotech" / "entities_flat.ftm.json",))
    flat = reg.entities["os:NK-flat1"]
    assert [(x.list, x.listed_text, x.delisted) for x in flat.listings] == [("dod_1260h", "2025-01-07", D("2026-02-17"))]
    assert flat.status_on(D("2024-06-01")) is None and flat.status_on(D("2026-02-16")) == "listed"
    assert flat.status_on(D("2026-02-17")) is None  # withdrawn on 2026-02-17
    other = reg.entities["os:NK-flat2"]
    assert [(x.list, x.listed_text) for x in other.listings] == [("opensanctions:us_trade_csl", "2023-05-01")]
    assert other.listings[0].source_urls == ("https://www.opensanctions.org/entities/NK-flat2/",)
