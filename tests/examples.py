"""How many random examples a property test tries: all of them in a whole run, fewer in the quick one."""

from __future__ import annotations

from hypothesis import settings

# The quick run (python3 dev.py test --quick) loads this profile: a fifth of the examples.
QUICK_PROFILE = "quick"
settings.register_profile(QUICK_PROFILE, max_examples=20)
HYPOTHESIS_DEFAULT = 100  # max_examples of Hypothesis' own default profile


def examples(whole_run: int) -> int:
    """`whole_run` examples under the default profile, scaled by the loaded one (a fifth when quick)."""
    return max(10, whole_run * settings.default.max_examples // HYPOTHESIS_DEFAULT)
