"""Forensic tests on official count series (``organwatch stats``). See docs/stats.md."""
