"""`warta outlets` options: one home for every default (the CLI, profile_files and compare_files read
them from OutletOptions), plus the few names every outlet module shares."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from warta.errors import InputError

ALL = "ALL"  # the row that pools every outlet
CONFIDENCE = 0.95
ALPHA = 1.0 - CONFIDENCE
STANCE_SUBSETS = ("all", "own_voice", "quoted")
USES = ("labels", "probs")
ADJUST_METHODS = ("none", "acc", "pacc", "em", "cc-probs")
PERIODS = ("month", "week", "quarter")  # --by values that ask for coverage over time


@dataclass(frozen=True)
class OutletOptions:
    """How outlets are profiled. Field defaults are the defaults of every entry point."""

    by: str = "outlet"  # record field that names the group
    use: str = "labels"  # labels: hard labels; probs: expected shares from 'probs'
    min_sentences: int = 10  # smaller groups are listed and flagged, not compared
    n_boot: int = 2000  # bootstrap resamples
    seed: int = 0  # seed of every bootstrap
    adjust: str = "none"  # quantification correction (needs run); by measurement none
    run: str | Path | None = None  # run folder: held-out errors, methods section
    evidence: int = 3  # top-K supporting sentences per outlet and label
    dedupe_syndicated: bool = False  # count a sentence printed by several outlets once
    pairs: tuple[tuple[str, str], ...] = ()  # outlet pairs tested against each other (--pairs A,B)
    keep_duplicates: bool = False  # count duplicated articles within an outlet every time (default: once)
    period: str | None = None  # month, week or quarter: profiles per period too (coverage over time)
    manifest: str | Path | None = None  # manifest CSV dating articles by article_id (for records without a date)

    def check(self) -> OutletOptions:
        """Raise InputError naming the option when a value cannot work; returns self."""
        if self.use not in USES:
            raise InputError(f"--use {self.use}: expected one of {', '.join(USES)}")
        if not self.by:
            raise InputError("--by: empty field name")
        if self.min_sentences < 0:
            raise InputError(f"--min-sentences {self.min_sentences}: must be >= 0")
        if self.n_boot < 100:
            raise InputError(f"--n-boot {self.n_boot}: use at least 100 resamples")
        if self.adjust not in ADJUST_METHODS:
            raise InputError(f"--adjust {self.adjust}: expected one of {', '.join(ADJUST_METHODS)}")
        if self.adjust != "none" and self.run is None:
            raise InputError(f"--adjust {self.adjust} needs --run RUN (the run whose held-out errors correct the shares)")
        if self.period is not None and self.period not in PERIODS:
            raise InputError(f"--by {self.period}: a period is one of {', '.join(PERIODS)}")
        if self.manifest is not None and self.period is None:
            raise InputError("--manifest dates articles for --by month|week|quarter; give one of those too")
        if self.evidence < 0:
            raise InputError(f"--evidence {self.evidence}: must be >= 0")
        return self

    def with_(self, **changes: Any) -> OutletOptions:
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULTS = OutletOptions()
