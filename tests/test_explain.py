"""How explanations join words into lists a person reads."""

from __future__ import annotations

import pytest

from matcher.explain import join


@pytest.mark.parametrize(
    ("words", "last", "expected"),
    [
        (["low mood"], "and", "low mood"),
        (["low mood", "grief"], "and", "low mood and grief"),
        (["OCD", "grief", "low mood"], "and", "OCD, grief and low mood"),
        (["worry and anxiety", "low mood"], "and", "worry and anxiety, and low mood"),
        (
            ["grief", "worry and anxiety", "low mood"],
            "and",
            "grief, worry and anxiety, and low mood",
        ),
        (["drinking or drug use", "grief"], "or", "drinking or drug use, or grief"),
        (
            ["OCD", "drinking or drug use", "grief"],
            "either",
            "either OCD, drinking or drug use, or grief",
        ),
        (["OCD", "grief"], "either", "either OCD or grief"),
        (["low mood", "a total of 16 or more"], "and", "low mood and a total of 16 or more"),
        (["OCD", "worry and anxiety"], "either", "either OCD or worry and anxiety"),
    ],
)
def test_a_list_whose_phrases_contain_and_or_or_takes_a_comma_before_the_last(
    words: list[str], last: str, expected: str
) -> None:
    assert join(words, last) == expected
