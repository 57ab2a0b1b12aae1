"""The offline HTML evidence report: sections fed by findings (see :mod:`organwatch.report.sections`)."""
