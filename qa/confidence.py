"""The answer's score: a calibrated probability that the chosen answer is right, from more than its best span."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

LEAD_CAP = 10.0  # logits: an answer with no rival leads by this much


@dataclass(frozen=True)
class Evidence:
    """What the articles show for one answer, beyond the reader's margin for its best span.

    Chosen by leave-one-domain-out log loss on held-out training questions (`training.confidence`),
    out of these and three more (articles agreeing, their extra margin, whether the question's
    kind was checked), which added nothing on a domain left out.
    """

    margin: float  # the best span's margin over the null answer (what the span calibration maps)
    lead: float  # its margin over the best different answer (not a longer or shorter reading of it)
    about: float  # share of the question's keywords in the words shown around the answer
    rank: float  # retrieval rank of the best passage giving it (0 = first)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Confidence:
    """Logistic model of P(right) over `Evidence`, fitted end to end on held-out questions; `threshold` decides abstention."""

    weights: dict[str, float]
    intercept: float
    threshold: float

    def __call__(self, evidence: Evidence) -> float:
        z = self.intercept + sum(self.weights[k] * v for k, v in evidence.as_dict().items())
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0

    @classmethod
    def load(cls, folder: Path) -> Confidence | None:
        """The model in the reader's calibration.json (`answer`), or None when it has none (the span score is used)."""
        path = folder / "calibration.json"
        if not path.exists():
            return None
        block = json.loads(path.read_text()).get("answer")
        if not block:
            return None
        return cls({k: float(block["weights"][k]) for k in Evidence.__dataclass_fields__}, float(block["intercept"]), float(block["threshold"]))
