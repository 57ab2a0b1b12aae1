"""organwatch review: the multi-reviewer decision ledger for screener hits (see docs/review.md).

Modules: ``schema`` (project file, migrations), ``importer`` (screen results -> hits), ``dedup`` (Unicode-aware
keys), ``ledger`` (append-only decisions), ``queries`` (queue, facets, progress), ``agreement`` (kappa),
``security`` (tokens, sessions, CSRF), ``render`` (highlight segments), ``app`` (Starlette UI), ``cli``,
``report_section`` (the report's review section). Settings and labels: ``review.toml``.
"""
