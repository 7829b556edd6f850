"""The run log, ``out_dir/log.jsonl``: one JSON object per line, appended as training goes."""
from __future__ import annotations

import json
from os import PathLike
from pathlib import Path

from ptal.data.atomic import atomic_file

LOG_NAME = "log.jsonl"


def read_run_log(path: str | PathLike) -> list[dict]:
    """The records of a run log. A partial last line (a crash while appending) is skipped; a malformed
    line anywhere else is a ValueError."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number == len(lines):
                break
            raise ValueError(f"{path}, line {number}: not JSON: {error}") from error
    return records


def restart_run_log(source: str | PathLike, destination: str | PathLike, iteration: int) -> None:
    """Write to ``destination`` (atomically) the records of the log at ``source`` up to ``iteration``
    included: what an uninterrupted run had logged when it reached the checkpoint being resumed.
    ``source`` and ``destination`` may be the same file."""
    records = [record for record in read_run_log(source) if record["iteration"] <= iteration]
    text = "".join(json.dumps(record, allow_nan=False) + "\n" for record in records)
    with atomic_file(destination) as file:
        file.write(text.encode("utf-8"))
