"""The one script helper: CJK ranges, passage language."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from organwatch.textscript import cjk_mask, is_cjk, script_counts, text_language


def test_ranges():
    assert is_cjk("供") and is_cjk("㐀") and is_cjk("\uf900")
    assert not is_cjk("a") and not is_cjk("の") and not is_cjk("한") and not is_cjk("，")


@given(st.text(max_size=50))
def test_vectorised_mask_agrees_with_is_cjk(text):
    cps = np.array([ord(c) for c in text], dtype=np.int64)
    assert list(cjk_mask(cps)) == [is_cjk(c) for c in text]


def test_language_by_script():
    assert text_language("供者脑死亡后行气管插管 (brain death, intubation)") == "zh"
    assert text_language("The donor was intubated after brain death; 供者") == "en"
    assert text_language("ドナーの脳死") == "ja"
    assert text_language("기증자 뇌사") == "ko"
    assert text_language("донор") == "ru"
    assert text_language("123 ,.;") is None
    assert script_counts("ab供") == (1, 0, 0, 0, 2)
