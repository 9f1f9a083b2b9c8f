"""Files written and read defensively: never through a link warta did not make, never unbounded.

- `atomic_writer` / `atomic_write`: the final file appears by rename from a
  fresh temporary file created exclusively (O_EXCL, random name) in the same
  folder. A symlink or hard link planted at the final name is replaced, its
  target never written; a crash leaves the old file or the new one, never half.
- `open_private_file`: a long-lived file at a fixed name (`warta label`'s
  FILE.partial) opened without following links; a link or non-regular file
  found there is refused (resume) or removed (fresh start), never written.
- `read_capped` / `capped_lines`: reads that stop at a size limit, so
  /dev/zero or a 50 GB file named `.txt` cannot exhaust memory.
- `check_output_path`: an --out that cannot be created fails at once, in one line.
- `claim_output` / `claim_output_folder`: the one overwrite rule of every command
  that writes an output (see `claim_output`).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

from warta.errors import InputError

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class OutputError(InputError):
    """An output path cannot be created or written (exit 2, one line naming it)."""


def describe(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_output_path(path: str | Path, what: str = "--out") -> Path:
    """Refuse an output path that can never be written, before any work: empty, a folder, under a file."""
    if str(path) in ("", "."):
        raise OutputError(f"{what}: empty path; give a file name")
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; {what} needs a file name")
    ensure_folder(path.parent)
    # A file can be created there (read-only file system, permissions, /proc): found now, not after the work.
    fd, probe = temporary_file(path)
    os.close(fd)
    probe.unlink(missing_ok=True)
    return path


# --- the overwrite rule ----------------------------------------------------------------


def is_warta_folder(folder: Path) -> bool:
    """A run folder (config.yaml + data.json, or model/model.json) or a model folder (model.json)."""
    if (folder / "model.json").is_file() or (folder / "model" / "model.json").is_file():
        return True
    return (folder / "config.yaml").is_file() and (folder / "data.json").is_file()


def enclosing_warta_folder(path: Path) -> Path | None:
    """The run or model folder that `path` lies inside (not `path` itself), or None."""
    for folder in Path(os.path.abspath(path)).parents:
        if is_warta_folder(folder):
            return folder
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        if os.path.samefile(a, b):  # links and hard links to one file
            return True
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(folder))
    except ValueError:
        return False
    return True


def claim_output(
    path: str | Path,
    *,
    force: bool,
    inputs: Iterable[str | Path | None] = (),
    what: str = "--out",
) -> Path:
    """The one overwrite rule, checked before any work; returns the path.

    - an output that is one of the command's inputs (a file, or a file inside an
      input folder) is refused, even with --force: writing it would destroy what
      the command reads (and a file written into a walked input folder becomes an
      input of the next run);
    - an output inside a run or model folder is refused, even with --force: those
      files belong to `warta train`, and replacing one breaks every later reader;
    - an existing output needs --force;
    - an output that can never be written (empty, a folder, under a file, a
      read-only place) fails at once.
    """
    path = refuse_protected_output(path, inputs, what)
    if os.path.lexists(path) and not path.is_dir() and not force:
        raise OutputError(f"{path}: already exists (use --force to overwrite)")
    return check_output_path(path, what)


def refuse_protected_output(path: str | Path, inputs: Iterable[str | Path | None] = (), what: str = "--out") -> Path:
    """The part of `claim_output` that --force never lifts: an input, or a file in a run/model folder.

    For commands whose existing-output rule is their own (`warta label --resume`).
    """
    if str(path) in ("", "."):
        raise OutputError(f"{what}: {'empty path' if str(path) == '' else 'the current folder'}; give a file name")
    path = Path(path)
    for source in inputs:
        if source is None or str(source) in ("", "-"):
            continue
        source = Path(source)
        if source.is_dir():
            if _inside(path, source):
                raise OutputError(f"{path}: inside the input folder {source}; {what} must be outside the inputs "
                                  "(refused even with --force)")
        elif _same_file(path, source):
            raise OutputError(f"{path}: is one of this command's inputs; writing it would destroy it "
                              f"(choose another {what}; refused even with --force)")
    owner = enclosing_warta_folder(path)
    if owner is not None:
        raise OutputError(f"{path}: inside the run/model folder {owner}, whose files only `warta train` writes; "
                          f"choose {what} outside it (refused even with --force)")
    return path


def claim_output_folder(
    folder: str | Path,
    names: Iterable[str],
    *,
    force: bool,
    inputs: Iterable[str | Path | None] = (),
    what: str = "--out",
) -> list[Path]:
    """`claim_output` for a command that writes the files `names` into the folder `folder`.

    The folder itself may not be a run or model folder; each planned file follows `claim_output`.
    """
    if str(folder) == "":
        raise OutputError(f"{what}: empty path; give a folder")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: exists and is not a folder")
    if folder.is_dir() and is_warta_folder(folder):
        raise OutputError(f"{folder}: is a run/model folder, whose files only `warta train` writes; "
                          f"choose another {what} (refused even with --force)")
    inputs = list(inputs)
    return [claim_output(folder / name, force=force, inputs=inputs, what=what) for name in names]


def claim_run_folder(
    folder: str | Path,
    *,
    force: bool,
    inputs: Iterable[str | Path | None] = (),
    what: str = "--out",
) -> Path:
    """The overwrite rule for a command whose output is a whole run folder (`warta train --out`).

    A folder inside another run/model folder, or one that holds an input (the seeds, a
    labels file), is refused even with --force; an existing non-empty folder needs --force
    (which replaces only the run files: warta.runfolder.RunFolder.prepare).
    """
    if str(folder) in ("", "."):
        raise OutputError(f"{what}: give the run folder a name (not the current folder)")
    folder = Path(folder)
    owner = enclosing_warta_folder(folder)
    if owner is not None:
        raise OutputError(f"{folder}: inside the run/model folder {owner}; choose {what} outside it "
                          "(refused even with --force)")
    for source in inputs:
        if source is not None and str(source) not in ("", "-") and _inside(Path(source), folder):
            raise OutputError(f"{folder}: holds this run's input {source}; choose another {what} "
                              "(refused even with --force)")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise OutputError(f"{folder}: folder exists and is not empty (use --force to overwrite its run files)")
    return folder


def ensure_folder(folder: str | Path) -> Path:
    """Create `folder` (and parents); OutputError names it when that is impossible."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{folder}: exists and is not a folder") from None
    except NotADirectoryError:
        raise OutputError(f"{folder}: cannot create folder (a parent is a file, not a folder)") from None
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create folder ({describe(exc)})") from None
    if not folder.is_dir():
        raise OutputError(f"{folder}: exists and is not a folder")
    return folder


def temporary_file(path: Path) -> tuple[int, Path]:
    """(fd, name) of a new, exclusively created file beside `path` (mkstemp: O_EXCL, random name)."""
    ensure_folder(path.parent)
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{path}: cannot create a file in {path.parent} ({describe(exc)})") from None
    return fd, Path(name)


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_writer(path: str | Path, mode: str = "w", encoding: str | None = "utf-8", fsync: bool = True) -> Iterator[IO]:
    """A handle on a fresh temporary file that replaces `path` on success; removed on failure."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        raise OutputError(f"{path}: is a folder, not a file")
    fd, tmp = temporary_file(path)
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would surprise whoever reads the output
        with open(fd, mode, encoding=None if "b" in mode else encoding, newline=None if "b" in mode else "") as handle:
            yield handle
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.replace(tmp, path)  # replaces a link at `path` itself, never its target
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write ({describe(exc)})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, data: str | bytes, fsync: bool = True) -> Path:
    """Write `data` to `path` by exclusive temporary file and rename."""
    binary = isinstance(data, bytes)
    with atomic_writer(path, "wb" if binary else "w", fsync=fsync) as handle:
        handle.write(data)
    return Path(path)


def _is_plain_file(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1


def open_private_file(path: Path, fresh: bool) -> int:
    """An O_RDWR fd on `path`, never through a link.

    fresh: whatever is at `path` (a link, a FIFO, a hard-linked file, an old
    partial file) is unlinked and a new file created exclusively; the caller
    must have checked that no live run holds it. Not fresh (resume): the
    file must be a regular, singly linked file; anything else is refused.
    """
    flags = os.O_RDWR | NOFOLLOW | CLOEXEC
    if fresh:
        try:
            os.unlink(path)  # removes a planted link itself, never its target
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            raise OutputError(f"{path}: is a folder; remove it first") from None
        except OSError as exc:
            if exc.errno in (errno.EISDIR, errno.EPERM) and path.is_dir():
                raise OutputError(f"{path}: is a folder; remove it first") from None
            raise OutputError(f"{path}: cannot replace ({describe(exc)})") from None
        try:
            return os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            raise OutputError(f"{path}: cannot create ({describe(exc)})") from None
    try:
        fd = os.open(path, flags | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(f"{path}: is a symbolic link, not warta's file; refusing to follow it "
                              "(remove it, or use --force to start over)") from None
        raise OutputError(f"{path}: cannot open ({describe(exc)})") from None
    if not _is_plain_file(os.fstat(fd)):
        os.close(fd)
        raise OutputError(f"{path}: not a plain file (a FIFO, device or hard link); refusing to write it "
                          "(remove it, or use --force to start over)")
    os.set_blocking(fd, True)
    return fd


def peek_lock_holder(path: Path) -> int | None:
    """An fd on an existing regular file at `path` (no link followed, no FIFO blocked on), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | os.O_NONBLOCK | CLOEXEC)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def read_small_file(path: Path, limit: int) -> bytes:
    """A small regular file's bytes (a checkpoint, a config), no link followed; OSError-like problems raise."""
    fd = os.open(path, os.O_RDONLY | NOFOLLOW | os.O_NONBLOCK | CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        with open(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes")
    return data


class TooLarge(Exception):
    """Input over a size cap; `read` bytes were consumed."""


def read_capped(handle: BinaryIO, limit: int) -> bytes:
    """All of `handle` if it holds at most `limit` bytes, else TooLarge (after reading limit + 1 bytes only)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = handle.read(min(1 << 20, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise TooLarge()


def capped_lines(handle: BinaryIO, limit: int, skip_limit: int | None = None) -> Iterator[bytes | None]:
    """The lines of `handle` (with their newline); None in place of a line longer than `limit` bytes.

    A too-long line is reported (None) at once, then skipped to its end without
    being kept in memory; if that end is more than `skip_limit` bytes away (a
    stream without newlines, /dev/zero), iteration stops.
    """
    skip_limit = skip_limit if skip_limit is not None else max(limit, 1) * 64
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        if line.endswith(b"\n") or len(line) <= limit:  # at most `limit` bytes before the newline
            yield line
            continue
        yield None
        skipped = len(line)
        while True:
            rest = handle.readline(1 << 20)
            if not rest:
                return
            skipped += len(rest)
            if rest.endswith(b"\n"):
                break
            if skipped > skip_limit:
                return


# --- CSV ---------------------------------------------------------------------------

# OWASP "CSV injection": a cell starting with one of these is a formula to a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_safe(value):
    """A CSV cell that no spreadsheet runs: text starting with = + - @ tab or CR gets a leading
    apostrophe (OWASP); numbers and other values pass unchanged. CSV output only (JSON keeps the text)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
