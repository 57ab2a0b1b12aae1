"""Compliance engine: transplant-tourism insurance laws applied to X12 837, FHIR R4 and CSV claims.

Modules: ``registry`` (legislation queries on the embedded ``laws`` dataset), ``rules`` (versioned
jurisdiction parameters and engine configuration, data files in ``data/``), ``codes`` (code lists),
``countries`` (country normalisation), ``readers`` (claim and member readers), ``engine`` (decision procedure),
``worklist`` (transplant-tourism worklist), ``cli`` (``organwatch laws`` / ``organwatch claims``) and
``report_section`` (the compliance section of ``organwatch report``). Nothing is read or written on import.
"""
