"""What the answer layer needs from an index: the index layer's `PassageSource` protocol, under
the name qa uses. Both backends implement it; tests use fakes."""

from __future__ import annotations

from guideqa.index.source import PassageSource as EvidenceSource

__all__ = ["EvidenceSource"]
