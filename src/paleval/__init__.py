"""paleval: registry-based evaluation of palliative care in Denmark."""

__version__ = "0.1.0"
