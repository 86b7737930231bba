"""Pages as a browser sees them: the form token a posted form must carry."""

from __future__ import annotations

import re


def form_token(page: str) -> str:
    """The csrf_token of the (first) form on `page`; fails the test if there is none."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, f"the page carries no form token:\n{page}"
    return found.group(1)
