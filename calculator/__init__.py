"""Scoring core: PNI, units, Child-Pugh, the published model and a patient's risk profile.

Pure Python: no numpy, Flask or I/O, so it loads instantly at the bedside.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__: str = version("hcc-prognosis")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

from calculator.errors import InputError  # noqa: E402
from calculator.profile import RiskProfile, score  # noqa: E402

__all__ = ["InputError", "RiskProfile", "score", "__version__"]
