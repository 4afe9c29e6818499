"""What every `guideqa` command shares: error handling at the edge, common options, progress."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from guideqa.ingest.errors import GuideQAError

F = TypeVar("F", bound=Callable[..., Any])
index_option = click.option(
    "--index",
    "index_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Index directory (default: $GUIDEQA_INDEX_DIR or .guideqa/index).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def friendly_errors(func: F) -> F:
    """Turn GuideQA errors into one clear line on stderr; never a stack trace."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except GuideQAError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except Exception as exc:  # the edge: anything unexpected becomes one line too
            if os.environ.get("GUIDEQA_DEBUG"):
                raise
            click.echo(
                f"internal error: {type(exc).__name__}: {exc} "
                "(set GUIDEQA_DEBUG=1 for the traceback)",
                err=True,
            )
            sys.exit(3)

    return wrapper  # type: ignore[return-value]


def progress_bar(label: str) -> Callable[[int, int], None]:
    from tqdm import tqdm

    bar: dict[str, tqdm] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(
                total=total,
                desc=label,
                unit="chunk",
                file=sys.stderr,
                disable=not sys.stderr.isatty(),
            )
        bar["bar"].n = done
        bar["bar"].refresh()
        if done >= total:
            bar["bar"].close()

    return update
