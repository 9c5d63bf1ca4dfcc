from __future__ import annotations

from typing import get_args

from activities.answer import CATEGORY_LABELS_SV
from systems.tables import ColumnCategory


def test_every_data_category_has_a_swedish_name_for_the_answer() -> None:
    assert set(CATEGORY_LABELS_SV) == set(get_args(ColumnCategory))
