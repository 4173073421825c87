"""`Pipeline`: run a chain of stages over many inputs, in a process pool, resumably."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.clip import Clip, Severity
from pipeline.errors import ConfigurationError
from pipeline.executors import Executor
from pipeline.journal import FileStamp, Journal, content_hash
from pipeline.profiles import Profile, load_profile
from pipeline.results import (
    LONE_SURROGATES,
    RESULTS_NAME,
    Results,
    Summary,
    clip_record,
    write_records,
)
from pipeline.stage import Stage
from pipeline.tempnames import is_temporary_name

__all__ = ["Pipeline", "RunOptions", "single_threaded_blas"]


@dataclass(frozen=True)
class RunOptions:
    """Knobs of the default chain that a user may turn from the CLI or a notebook."""

    target_lufs: float | None = None  # None: the profile's
    ceiling_dbfs: float | None = None
    limiter: bool | None = None  # look-ahead peak limiter to reach the target; None: the profile's
    pad_ms: float | None = None
    vad_aggressiveness: int = 2
    vad: str = "webrtc"  # speech detector: webrtc, energy (fast) or silero (extra)
    quality: str | None = None  # "dnsmos": DNSMOS P.835 scores (extra voiceprep[dnsmos])
    speakers: str | None = "default"  # speaker check: default, neural (extra) or None (off)
    max_input_s: float = 600.0
    allow_truncated: bool = False  # use what decodes of a truncated file, with a warning
    format: str | None = None  # output format name; None: the profile's


@dataclass
class Pipeline:
    """A list of stages and the profile they serve.

    >>> results = Pipeline.for_profile("tencent-vod-voice").run(["take1.wav"])  # doctest: +SKIP
    >>> results.to_pandas()  # doctest: +SKIP
    """

    stages: list[Stage]
    profile: Profile | None = None
    options: RunOptions = field(default_factory=RunOptions)

    @classmethod
    def for_profile(cls, profile: str | os.PathLike[str] | Profile, **options: Any) -> Pipeline:
        """The default chain for a vendor profile: decode, normalize, vad, trim, analyze, validate.

        `run(..., out=DIR)` adds `encode` so that vendor-ready files are written to ``DIR``.
        """
        from stages.analyze import Analyze
        from stages.decode import Decode
        from stages.normalize import Normalize
        from stages.trim import Trim
        from stages.vad import Vad
        from stages.validate import Validate

        prof = profile if isinstance(profile, Profile) else load_profile(profile)
        opts = RunOptions(**options)
        normalize = Normalize(
            sample_rate=prof.sample_rate,
            target_lufs=_pick(opts.target_lufs, prof.loudness.target_lufs),
            ceiling_dbfs=_pick(opts.ceiling_dbfs, prof.loudness.ceiling_dbfs),
            limiter=prof.loudness.limiter if opts.limiter is None else opts.limiter,
            max_limiting_db=prof.loudness.max_limiting_db,
        )
        stages: list[Stage] = [
            Decode(max_duration_s=opts.max_input_s, allow_truncated=opts.allow_truncated),
            normalize,
            Vad(backend=opts.vad, aggressiveness=opts.vad_aggressiveness),
            Trim(  # levels what it keeps again, by normalize's rule
                pad_ms=_pick(opts.pad_ms, prof.trim.pad_ms),
                min_s=prof.trim.min_s,
                max_s=prof.trim.max_s,
                profile=prof.name,
                gain_rule=normalize.gain_rule,
            ),
            Analyze(thresholds=prof.analysis, quality=opts.quality, speakers=opts.speakers),
            Validate(profile=prof, format=opts.format),
        ]
        return cls(stages=stages, profile=prof, options=opts)

    def with_encoder(self, out_dir: str) -> Pipeline:
        """This pipeline with `encode` appended, writing into ``out_dir``."""
        from stages.encode import Encode

        if self.profile is None:
            raise ValueError("a pipeline without a profile cannot choose an output format")
        opts, loudness = self.options, self.profile.loudness
        encoder = Encode(
            out_dir=out_dir,
            profile=self.profile,
            format=opts.format,
            target_lufs=_pick(opts.target_lufs, loudness.target_lufs),
            ceiling_dbfs=_pick(opts.ceiling_dbfs, loudness.ceiling_dbfs),
        )
        return Pipeline([*self.stages, encoder], self.profile, self.options)

    @property
    def config_hash(self) -> str:
        """Changes whenever a stage's configuration does, so a journal never reuses stale work."""
        from pipeline import __version__

        text = __version__ + "|" + "|".join(repr(stage) for stage in self.stages)
        return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()

    def process(self, source: str | os.PathLike[str], name: str = "") -> Clip:
        """Run every stage on one input. A crash inside a stage becomes an error finding."""
        from pipeline.allocator import keep_freed_memory

        keep_freed_memory()  # once per process: reuse freed buffers instead of page-faulting
        clip = Clip(source=os.fspath(source), name=name)
        with single_threaded_blas():
            for stage in self.stages:
                if not _runs_on(stage, clip):  # a failed clip skips all but `runs_after` stages
                    continue
                try:
                    clip = stage(clip)
                except Exception as exc:
                    where = traceback.extract_tb(exc.__traceback__)[-1]
                    clip.report(
                        "internal_error",
                        Severity.ERROR,
                        getattr(stage, "name", type(stage).__name__),
                        f"voiceprep failed on this file ({type(exc).__name__}: {exc} at "
                        f"{os.path.basename(where.filename)}:{where.lineno}); please report "
                        "it with the file attached",
                    )
        clip.samples = None  # the audio is written or no longer needed; keep results small
        return clip

    def record(self, source: str | os.PathLike[str], name: str = "") -> dict[str, Any]:
        """Process one input and return its result record."""
        return clip_record(self.process(source, name), self.profile.name if self.profile else None)

    def run(
        self,
        inputs: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
        *,
        out: str | os.PathLike[str] | None = None,
        workers: int | None = None,
        progress: bool | None = None,
        on_result: Callable[[dict[str, Any]], None] | None = None,
        executor: Any = None,
    ) -> Results:
        """Process every input; with ``out``, write vendor-ready audio, results.jsonl and a journal.

        ``inputs`` are files, folders, globs or fsspec URLs (``s3://bucket/session/*.wav``), as
        strings or ``pathlib.Path`` objects, one or many.
        ``workers`` defaults to all cores. A run into an ``out`` folder that already holds a
        journal skips inputs that finished there before. ``out`` may be a URL: the audio is
        uploaded there, and the journal and results.jsonl are kept in a local folder named
        after it (see `state_dir`), with results.jsonl uploaded beside the audio at the end.

        ``executor`` is where the work runs: ``"local"`` (default, a process pool of
        ``workers``), ``"dask"`` (a new Dask ``LocalCluster`` of ``workers``), a
        ``distributed.Client`` of a running cluster, or a `pipeline.executors.Executor`.
        """
        from pipeline.executors import resolve_executor
        from pipeline.inputs import expand_inputs

        # Paths or strings (a notebook passes pathlib.Path), one or many.
        if isinstance(inputs, (str, os.PathLike)):
            paths = [os.fspath(inputs)]
        else:
            paths = [os.fspath(p) for p in inputs]
        out = os.fspath(out) if out is not None else None
        remote = out is not None and "://" in out and not out.startswith("file://")
        local_out = out.removeprefix("file://") if out is not None and not remote else None
        sources = expand_inputs(paths, skip_folder=local_out)  # never our own outputs
        if local_out is not None:
            _refuse_inputs_inside(local_out, sources)
        pool, owned = resolve_executor(executor, workers=workers)
        try:
            if out is None:
                summary, records = Summary(), []
                names = self._plan_names(sources)
                for record in self._stream(sources, names, pool, progress, journal=False):
                    del record["_journal"]
                    summary.add(record)
                    records.append(record)
                    if on_result:
                        on_result(record)
                return Results(records=records, summary=summary)
            return self.with_encoder(out)._run_into(out, sources, pool, progress, on_result)
        finally:
            if owned:
                pool.close()

    def _run_into(
        self,
        out: str,
        sources: list[str],
        pool: Executor,
        progress: bool | None,
        on_result: Callable[[dict[str, Any]], None] | None,
    ) -> Results:
        remote_out = out if "://" in out and not out.startswith("file://") else None
        out = state_dir(out) if remote_out else out.removeprefix("file://")
        journal = Journal(out)
        _remove_stale_temporaries(out)
        config = self.config_hash
        summary = Summary()
        todo: list[str] = []
        done: list[str] = []  # sources only: a resumed batch's records are streamed, not held
        for source in sources:
            (done if journal.finished(source, config) is not None else todo).append(source)
        # Names other inputs' outputs hold in this folder stay theirs (a second session with a
        # take of the same name gets a tagged name instead of overwriting the first's).
        names = self._plan_names(sources, taken=journal.outputs_of_others(set(sources)))

        others = 0

        def earlier_results() -> Iterator[dict[str, Any]]:
            """Earlier runs' other inputs first, then this run's finished ones."""
            nonlocal others
            for other in journal.other_results(set(sources)):
                others += 1
                yield other
            for source in done:
                record = journal.finished(source, config)  # cheap now: its stamp is fresh
                if record is None:  # changed since the first look
                    todo.append(source)
                    continue
                record["source"] = source  # as this run spells it (./in/x.wav or in/x.wav)
                summary.add(record)
                if on_result:
                    on_result(record)
                yield record

        results_path = os.path.join(out, RESULTS_NAME)
        # Every output in the folder keeps its line; unfinished or superseded work is dropped.
        write_records(results_path, earlier_results())
        try:
            with open(results_path, "a", encoding="utf-8", errors=LONE_SURROGATES) as sink:
                for record in self._stream(todo, names, pool, progress, journal=True):
                    meta = record.pop("_journal")
                    if meta is not None and not _may_pass_next_time(record):
                        stamp = FileStamp(*meta["stamp"])
                        journal.record_done(record["source"], config, meta["hash"], stamp, record)
                    sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                    sink.flush()
                    summary.add(record)
                    if on_result:
                        on_result(record)
        finally:
            journal.close()
            if remote_out:
                from pipeline.remote import upload

                upload(results_path, remote_out.rstrip("/") + "/" + RESULTS_NAME)
        return Results(path=results_path, summary=summary, skip=others)

    def _plan_names(self, sources: list[str], taken: set[str] | None = None) -> dict[str, str]:
        """A unique, profile-safe output stem for every input, decided before any work starts.

        Inputs whose stems clash (``take.wav`` in two folders, ``a.wav`` and ``a.mp3``), or
        whose output file name is in ``taken`` (casefolded names other inputs' outputs hold),
        get a tag from a hash of their path.
        """
        if self.profile is None:
            return {}
        from pipeline.formats import output_format
        from stages.encode import safe_stem, tagged_stem

        extension = output_format(self.options.format or self.profile.output.name).extension
        taken = taken or set()
        stems = {source: safe_stem(source, self.profile) for source in sources}
        counts: dict[str, int] = {}
        for stem in stems.values():
            counts[stem.casefold()] = counts.get(stem.casefold(), 0) + 1
        for source, stem in stems.items():
            if counts[stem.casefold()] > 1 or (stem + extension).casefold() in taken:
                # The tag follows the file, not how it was spelled this time.
                where = source if "://" in source else os.path.abspath(source)
                stems[source] = tagged_stem(stem, where, self.profile)
        return stems

    def _stream(
        self,
        sources: list[str],
        names: dict[str, str],
        pool: Executor,
        progress: bool | None,
        *,
        journal: bool,
    ) -> Iterator[dict[str, Any]]:
        """Records in completion order, each source once (a retried task may finish twice).

        With ``journal``, each record carries what the journal needs (content hash, stamp);
        without, the input is not read a second time just to hash it.
        """
        bar = _progress_bar(len(sources), progress)
        seen: set[str] = set()
        items = [(source, names.get(source, ""), journal) for source in sources]
        try:
            for record in pool.imap_unordered(_work_item, items, state=self, on_error=_lost):
                if record["source"] in seen:
                    continue
                seen.add(record["source"])
                if record["profile"] is None and self.profile is not None:
                    record["profile"] = self.profile.name  # a lost task's record
                yield record
                bar.update(1)
        finally:
            bar.close()


@functools.cache
def _blas_controller() -> Any:
    """threadpoolctl's view of the BLAS libraries loaded so far (numpy's, once imported)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def single_threaded_blas() -> contextlib.AbstractContextManager[Any]:
    """Run BLAS on one thread inside the block (restored after it).

    The pool already runs one clip per core. A matrix product inside a stage (the MFCC
    filterbank, for one) would otherwise start OpenBLAS's own threads, one per core, in every
    worker: on 2 cores with 2 workers that is 4 spinning threads, and the product costs 8 ms
    of CPU where one thread needs 1.4 ms. Entering the limit costs ~50 µs.
    """
    return _blas_controller().limit(limits=1, user_api="blas")


def _work_item(pipeline: Pipeline, item: tuple[str, str, bool]) -> dict[str, Any]:
    source, name, journal = item
    return _work(pipeline, source, name, journal=journal)


def _lost(item: tuple[str, str, bool], exc: BaseException) -> dict[str, Any]:
    """The record of an input whose task failed outside the stages (its worker kept dying)."""
    clip = Clip(source=item[0], name=item[1])
    clip.report(
        "worker_lost",
        Severity.ERROR,
        "run",
        f"the worker processing this file failed ({type(exc).__name__}: {exc}); if it keeps "
        "happening the file may crash the decoder — check it, then run again (finished files "
        "are not redone)",
    )
    record = clip_record(clip, None)
    record["_journal"] = None  # not journalled: the next run tries it again
    return record


# Failures of the run, not verdicts on the input: the next run tries these files again.
RETRIED_CODES = frozenset({"missing_input", "encode_failed", "internal_error", "worker_lost"})


def _may_pass_next_time(record: dict[str, Any]) -> bool:
    """Whether ``record`` failed for a reason outside the input (unreadable, disk, crash)."""
    return any(f["code"] in RETRIED_CODES and f["severity"] == "error" for f in record["findings"])


def state_dir(out_url: str) -> str:
    """The local folder that holds the journal and results.jsonl of a run into ``out_url``."""
    root = os.environ.get("VOICEPREP_STATE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "voiceprep", "runs"
    )
    return os.path.join(root, hashlib.blake2b(out_url.encode(), digest_size=8).hexdigest())


def _work(pipeline: Pipeline, source: str, name: str, *, journal: bool) -> dict[str, Any]:
    if not journal:
        record = pipeline.record(source, name)
        record["_journal"] = None
        return record
    stamp = FileStamp.of(source)
    digest = content_hash(source)  # before processing: what the result was made from
    record = pipeline.record(source, name)
    stamp_after = FileStamp.of(source)
    record["_journal"] = {
        "hash": digest,
        # A file changed while we read it is stamped so that the next run redoes it.
        "stamp": [stamp.size, stamp.mtime_ns] if stamp == stamp_after else [-1, -1],
    }
    return record


def _refuse_inputs_inside(out: str, sources: list[str]) -> None:
    """Refuse a run whose output folder holds one of its inputs: outputs could replace them.

    Outputs are written straight into ``out``, so only inputs directly in it are at risk
    (``run in --out .`` is fine). Folders are compared as files (links, and a filesystem that
    ignores case, name one folder several ways).
    """
    if not os.path.isdir(out):
        return  # made by this run: nothing is in it yet
    same: dict[str, bool] = {}
    for source in sources:
        if "://" in source:
            continue
        folder = os.path.dirname(os.path.abspath(source))
        if folder not in same:
            try:
                same[folder] = os.path.samefile(folder, out)
            except OSError:
                same[folder] = False
        if same[folder]:
            raise ConfigurationError(
                f"the output folder {out} holds the input {source}; outputs could replace "
                "recordings there, so write them to another folder (for example "
                f"--out {os.path.join(out, 'out')})"
            )


def _remove_stale_temporaries(out: str) -> None:
    """Temporary files of an earlier, killed run (outputs appear only by atomic rename)."""
    for entry in os.scandir(out):
        if entry.is_file() and is_temporary_name(entry.name):
            os.unlink(entry.path)


def _progress_bar(total: int, enabled: bool | None) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="clip", dynamic_ncols=True)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _pick(value: float | None, default: float) -> float:
    return default if value is None else value


def _runs_on(stage: Any, clip: Clip) -> bool:
    """Whether ``stage`` would still work on ``clip`` (plain callables never run after errors)."""
    runs_on = getattr(stage, "runs_on", None)
    return bool(runs_on(clip)) if runs_on is not None else not clip.failed
