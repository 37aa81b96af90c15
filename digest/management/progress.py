"""Progress of a long run: a bar on a terminal, plain log lines when output goes to a file or
a log collector (cron, CI, docker logs), where a bar would be noise."""

from __future__ import annotations

import logging
import time
from typing import TextIO

from tqdm import tqdm

log = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 10


class Progress:
    def __init__(self, total: int, description: str, stream: TextIO, unit: str = "email") -> None:
        self.total, self.description, self.unit = total, description, unit
        self.done = 0
        self.logged_at = time.monotonic()
        self.bar = tqdm(total=total, desc=description, unit=unit, file=stream) if stream.isatty() else None

    def advance(self, count: int, **figures: int) -> None:
        self.done += count
        if self.bar is not None:
            self.bar.set_postfix(figures, refresh=False)
            self.bar.update(count)
        elif time.monotonic() - self.logged_at >= LOG_EVERY_SECONDS or self.done >= self.total:
            self.logged_at = time.monotonic()
            details = ", ".join(f"{value} {name}" for name, value in figures.items())
            log.info(
                "%s: %d/%d %ss%s", self.description, self.done, self.total, self.unit, f" ({details})" * bool(details)
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
