"""Biotech restrictions (``organwatch biotech``): restricted foreign-adversary biotech entities, the
genetic-sequencer laws that apply to them, and screening of equipment, software and vendor inventories.

Modules: :mod:`~organwatch.biotech.registry` (entities, listings, products, as-of), :mod:`~organwatch.biotech.laws`
(law rules from ``data/laws.toml``), :mod:`~organwatch.biotech.normalise` and :mod:`~organwatch.biotech.matching`
(names), :mod:`~organwatch.biotech.inventory` (CSV/XLSX readers), :mod:`~organwatch.biotech.decide` (the
verdict table), :mod:`~organwatch.biotech.cli` and :mod:`~organwatch.biotech.report_section`. docs/biotech.md.
"""
