"""Advertised transplant waits and prices in archived web pages (`organwatch ads`, docs/ads.md)."""
