"""Builder for synthetic X12 837P / 837I interchanges used by the claims tests (no real PHI), and a check that
pyx12's own validator accepts what it builds.

Each claim is a dict: claim_id, member_id, lines [{code, date, n4 (optional 2420C country), revenue, pointers}],
dx [(qualifier, code)], pcs [(qualifier, code, date)], facility (None | dict(state=, country=)),
billing (dict(state=, country=)). Produces structurally valid 005010X222A1 / X223A2 files.
"""

from __future__ import annotations


def _n4(city: str, loc: dict) -> str:
    if loc.get("country"):
        return f"N4*{city}**{loc.get('postal', '100000')}*{loc['country']}~"
    return f"N4*{city}*{loc.get('state', 'TX')}*{loc.get('postal', '752010001')}~"


def build_837(claims: list[dict], form: str = "P", billing: dict | None = None, version: str | None = None) -> str:
    billing = billing or {"state": "TX"}
    vr = version or ("005010X222A1" if form == "P" else "005010X223A2")
    segs = [
        "ST*837*0001*" + vr + "~",
        "BHT*0019*00*0123*20240101*1200*CH~",
        "NM1*41*2*SYNTHETIC SUBMITTER*****46*S123~",
        "PER*IC*CONTACT*TE*5555550100~",
        "NM1*40*2*SYNTHETIC PAYER*****46*P456~",
        "HL*1**20*1~",
        "NM1*85*2*SYNTHETIC CLINIC*****XX*1234567893~",
        "N3*1 TEST ROAD~",
        _n4("TESTCITY", billing),
        "REF*EI*123456789~",
    ]
    hl = 1
    for c in claims:
        hl += 1
        segs += [
            f"HL*{hl}*1*22*0~",
            "SBR*P*18*******CI~",
            f"NM1*IL*1*DOE*JANE****MI*{c.get('member_id', 'M000')}~",
            "NM1*PR*2*SYNTHETIC PAYER*****PI*P456~",
        ]
        if form == "P":
            segs.append(f"CLM*{c['claim_id']}*100***11:B:1*Y*A*Y*Y~")
        else:
            segs.append(f"CLM*{c['claim_id']}*100***11:A:1**A*Y*Y~")
            d0 = c["lines"][0]["date"].replace("-", "")
            segs.append(f"DTP*434*RD8*{d0}-{d0}~")
            segs.append("CL1*1*7*01~")
        dx = c.get("dx") or [("ABK", "R69")]
        if dx:
            segs.append("HI*" + "*".join(f"{q}:{code}" for q, code in dx) + "~")
        for q, code, d in c.get("pcs", []):
            segs.append(f"HI*{q}:{code}:D8:{d.replace('-', '')}~")
        fac = c.get("facility")
        if fac is not None:
            segs += ["NM1*77*2*SYNTHETIC FACILITY*****XX*1234567893~", "N3*2 TEST ROAD~", _n4("FACCITY", fac)]
        for i, ln in enumerate(c["lines"], 1):
            segs.append(f"LX*{i}~")
            ptr = ":".join(str(p) for p in ln.get("pointers", [1] if dx else []))
            if form == "P":
                segs.append(f"SV1*HC:{ln['code']}*100*UN*1***{ptr}~" if ptr else f"SV1*HC:{ln['code']}*100*UN*1~")
            else:
                rev = ln.get("revenue", "0360")
                segs.append(f"SV2*{rev}*HC:{ln['code']}*100*UN*1~" if ln.get("code") else f"SV2*{rev}**100*UN*1~")
            segs.append(f"DTP*472*D8*{ln['date'].replace('-', '')}~")
            if ln.get("n4") is not None and form == "P":
                segs += ["NM1*77*2*LINE FACILITY*****XX*1234567893~", "N3*3 TEST ROAD~", _n4("LINECITY", ln["n4"])]
    segs.append(f"SE*{len(segs) + 1}*0001~")
    head = ("ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *240101*1200*^*00501*000000001*0*T*:~"
            f"GS*HC*SUBMITTER*RECEIVER*20240101*1200*1*X*{vr}~")
    return head + "\n" + "\n".join(segs) + "\nGE*1*1~\nIEA*1*000000001~\n"


def test_built_interchanges_pass_pyx12_validation(tmp_path):
    import pyx12.params
    import pyx12.x12n_document

    p = build_837([{"claim_id": "V1", "member_id": "SYN", "facility": {"country": "CN"}, "dx": [("ABK", "N186")],
                    "lines": [{"code": "50360", "date": "2024-01-10"}]}])
    i = build_837([{"claim_id": "V2", "member_id": "SYN", "dx": [("ABK", "K7469")], "pcs": [("BBR", "0FY00Z0", "2024-06-01")],
                    "facility": {"state": "UT"}, "lines": [{"date": "2024-06-01", "revenue": "0360"}]}], form="I")
    for name, text in (("p.837", p), ("i.837", i)):
        f = tmp_path / name
        f.write_text(text)
        with open(f) as fh:
            ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), fh, fd_997=None, fd_html=None)
        assert ok, name
    bad = tmp_path / "bad.837"
    bad.write_text(p.replace("N4*TESTCITY*TX*752010001~", "N4*TESTCITY*TX*75~"))
    with open(bad) as fh:
        assert not pyx12.x12n_document.x12n_document(pyx12.params.params(), fh, fd_997=None, fd_html=None)
