"""Properties of the Unicode-aware title key (Hypothesis)."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from organwatch.review.dedup import normalise_title


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_key_is_idempotent_and_only_letters_and_digits(s):
    k = normalise_title(s)
    assert all(unicodedata.category(c)[0] in "LN" for c in k)
    assert normalise_title(k) == k


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(whitelist_categories=("Lo", "Nd")), min_size=1, max_size=30),
       st.text(alphabet=" \u3000,.;:!?，。；：！？、()（）[]【】-—", max_size=8))
def test_punctuation_and_spacing_never_change_the_key(core, noise):
    assert normalise_title(noise + core + noise) == normalise_title(core)
