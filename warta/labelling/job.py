"""A labelling job, the one front door of `warta label`: what to label, with which model, into where, how.

`LabelJob` holds every option of both engines (the one place of their
defaults). `LabelJob.check()` refuses unusable options before any work,
whichever engine runs the job (numbers, device, format, options of the other
engine, a missing manifest); `label(job, hooks)` runs it on the engine it
names (`warta.labelling.label`; warta.labelling.engine: this machine;
warta.labelling.ray_engine: a Ray cluster). What the caller sees while it runs (progress, skipped inputs,
notes, stdin) is a `LabelHooks`; what the run did is a `LabelSummary`
(warta.labelling.items).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, BinaryIO

from warta.errors import InputError, WartaError
from warta.labelling.items import InputOptions, Problem
from warta.labelling.labeller import DEFAULT_BACKEND, check_backend_name
from warta.labelling.output import format_for
from warta.labelling.shards import DEFAULT_SHARD_UNITS
from warta.text.corpus import DEFAULT_MAX_ARTICLE_BYTES

ENGINES = ("local", "ray")
DEVICES = ("auto", "cpu", "cuda")
RAY_FORMATS = ("jsonl", "parquet")
DEFAULT_BUFFER_UNITS = 4096
# Smallest value of each numeric option (None: the engine picks).
_MINIMUM = {"workers": 0, "batch_size": 1, "max_article_bytes": 1, "buffer_sentences": 1, "buffer_units": 1,
            "shard_units": 1, "actors": 1, "num_cpus": 1}


@dataclass(frozen=True)
class LabelJob:
    """Every option of a `warta label` run (see `warta label --help` for each)."""

    model: Any  # a run folder, a model folder, or (local engine) a loaded model
    inputs: Sequence[str | Path]
    out: Path
    format: str | None = None
    outlet: str | None = None
    manifest: Path | None = None
    resume: bool = False
    force: bool = False
    batch_size: int | None = None
    device: str = "auto"
    max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES
    engine: str = "local"
    # --engine local
    backend: str = DEFAULT_BACKEND  # warta.labelling.labeller.BACKENDS
    quantize: bool = False  # an alias of the int8 backend (onnx-int8 where onnxruntime is installed)
    workers: int | None = None
    buffer_sentences: int | None = None
    buffer_units: int = DEFAULT_BUFFER_UNITS
    checkpoint_seconds: float = 1.0
    # --engine ray
    address: str | None = None
    actors: int | None = None
    gpus_per_actor: float = 0.0
    cpus_per_actor: float = 1.0
    shard_units: int = DEFAULT_SHARD_UNITS
    num_cpus: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outlet", self.outlet or None)
        object.__setattr__(self, "manifest", Path(self.manifest) if self.manifest else None)

    @property
    def output_format(self) -> str:
        """jsonl, csv or parquet: given, else from the --out suffix (ray: jsonl unless given)."""
        if self.engine == "ray":
            return self.format or "jsonl"
        return format_for(self.out, self.format)

    @property
    def inference_backend(self) -> str:
        """The encoder backend this job labels with: --backend, or --quantize's int8 one."""
        from warta.labelling.labeller import int8_backend_name

        return int8_backend_name() if self.quantize and self.backend == DEFAULT_BACKEND else self.backend

    def input_options(self, exclude: frozenset[Path] = frozenset()) -> InputOptions:
        return InputOptions(outlet=self.outlet, manifest=self.manifest, exclude=exclude,
                            max_article_bytes=self.max_article_bytes)

    def check(self) -> None:
        """Refuse unusable options, one line each, before any work (and before a model is loaded)."""
        if self.engine not in ENGINES:
            raise WartaError(f"--engine {self.engine}: expected local or ray")
        for name, minimum in _MINIMUM.items():
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
                raise WartaError(f"--{name.replace('_', '-')} {value}: must be a whole number >= {minimum}")
        if self.device not in DEVICES:
            raise WartaError(f"--device {self.device}: expected auto, cpu or cuda")
        check_backend_name(self.backend)
        if self.quantize and not self.backend.endswith("int8") and self.backend != DEFAULT_BACKEND:
            raise WartaError(f"--quantize (an int8 backend) and --backend {self.backend}: give one of them")
        if self.engine == "ray":
            if self.quantize or self.backend != DEFAULT_BACKEND or self.workers is not None:
                raise WartaError("--backend, --quantize and --workers apply to --engine local only")
            if self.output_format not in RAY_FORMATS:
                raise WartaError(f"--format {self.format}: --engine ray writes jsonl or parquet shards")
            if not self.gpus_per_actor >= 0 or not self.cpus_per_actor > 0:
                raise WartaError("--gpus-per-actor must be >= 0 and --cpus-per-actor > 0")
        else:
            self.output_format  # noqa: B018 (an unknown --format raises here)
            ray_only = [f"--{name.replace('_', '-')}" for name in ("address", "actors", "num_cpus")
                        if getattr(self, name) is not None] + (["--gpus-per-actor"] if self.gpus_per_actor else [])
            if ray_only:
                raise WartaError(f"{', '.join(ray_only)}: appl{'ies' if len(ray_only) == 1 else 'y'} to --engine ray only")
        if not self.inputs:
            raise WartaError("no INPUT given (files, folders or - for stdin)" if self.engine == "local"
                             else "no INPUT given (files or folders)")
        if self.manifest is not None and not self.manifest.is_file():
            raise InputError(f"{self.manifest}: manifest not found")


@dataclass
class LabelHooks:
    """What the caller sees while a job runs; every hook is optional."""

    progress: bool = False  # a progress bar on stderr (local engine)
    on_problem: Callable[[Problem], None] | None = None  # a skipped input
    on_note: Callable[[str], None] | None = None  # a note on one input (cleaning, decoding, renamed ids)
    on_shard: Callable[[int, int], None] | None = None  # ray engine: (shards done, shards)
    on_commit: Callable[[int], None] | None = None  # local engine: a checkpoint recorded (units done)
    stdin: BinaryIO | None = None  # what "-" reads (default: this process's stdin)


def job_and_hooks(model: Any, inputs: Sequence[str | Path], out: str | Path, **options: Any) -> tuple[LabelJob, LabelHooks]:
    """Split keyword options between the job and its hooks (the library's keyword form of a job)."""
    hook_names = {f.name for f in fields(LabelHooks)}
    hooks = LabelHooks(**{k: v for k, v in options.items() if k in hook_names})
    job = LabelJob(model, inputs, Path(out), **{k: v for k, v in options.items() if k not in hook_names})
    return job, hooks

