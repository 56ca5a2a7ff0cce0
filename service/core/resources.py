"""Where the files that ship with the service are: templates/, mailbox_rules.yaml, demo/.

In a checkout (and an editable install) they are the repository's own; in a wheel, setup.py
copies them into `service/_bundled`, read with importlib.resources. The rules a company edits
are still found through MINUTESD_RULES.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
SHIPPED = ("templates", "mailbox_rules.yaml", "demo")


def shipped(name: str) -> Path:
    """The path of one shipped file or folder, from the checkout or from the installed wheel."""
    if name not in SHIPPED:
        raise KeyError(name)
    local = CHECKOUT / name
    if local.exists() and (CHECKOUT / "pyproject.toml").exists():
        return local
    return Path(str(resources.files("service") / "_bundled" / name))
