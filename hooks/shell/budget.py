"""A request's time budget, from which every admin timeout is taken."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Budget:
    seconds: float
    started: float = field(default_factory=time.monotonic)
    floor: float = 0.2

    def remaining(self) -> float:
        """Seconds left, never below ``floor`` so a last call can still fail fast."""
        return max(self.floor, self.seconds - (time.monotonic() - self.started))

    @property
    def spent(self) -> bool:
        return time.monotonic() - self.started >= self.seconds
