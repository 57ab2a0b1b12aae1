"""organwatch screen: bilingual literature screener for dead-donor-rule and ethics-reporting red flags.

Pipeline: readers (one module per format) -> offset-preserving normalisation (:mod:`.normalise`) -> one
multi-pattern scan per chunk of documents (:mod:`.scanner`, hyperscan or RE2, identical hits; near-only
cues only around anchor hits, :mod:`.nearscan`) over the literals a rule pack (:mod:`.rulepack`, TOML data
in ``rules/``) expands to -> event-sequence logic per passage (:mod:`.logic`) and ethics-reporting checks
per document (:mod:`.ethics`) -> screen document records (:mod:`.records`). Nothing is written or
compiled on import.
"""
