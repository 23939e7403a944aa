"""The synthetic Danish register generator (``paleval synth``)."""

from paleval.synth.config import PRESETS, Preset, SynthConfig
from paleval.synth.generate import generate, synthetic_pnr

__all__ = ["PRESETS", "Preset", "SynthConfig", "generate", "synthetic_pnr"]
