"""One Hugging Face Daily Papers item, checked on its own before it becomes a PaperRecord.

The API's shape (docs: REFERENCE.md): `paper` holds the arXiv id, title, authors, upvotes and
the ai_* and github fields; the item holds its own clean `title`, `thumbnail` and `numComments`.
Optional fields are left out (not null) on days before they existed. A field of the wrong type,
a count out of range or a missing id makes the whole item invalid: it is skipped with the reason,
and the rest of the day is kept. A link we could not store or show (not http(s), over 500
characters) is dropped with a note, and the paper kept.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
)

MAX_URL_LENGTH = 500  # Paper's URL columns
MAX_COUNT = 2**31 - 1  # PostgreSQL integer


def no_nul(value: str) -> str:
    # PostgreSQL text and jsonb cannot hold NUL; no reader wants other control characters either.
    return "".join(ch for ch in value if ch >= " " or ch in "\t\n\r")


def web_url(value: str, info: ValidationInfo) -> str | None:
    """A link we can store and show, else None: an unusable link costs the link, not the paper.
    What was dropped is noted in the validation context, for the day's warnings."""
    value = value.strip()  # the API has sent " https://..."
    problem = ""
    if value and not value.startswith(("https://", "http://")):
        problem = "not an http(s) URL"
    elif len(value) > MAX_URL_LENGTH:
        problem = f"URL longer than {MAX_URL_LENGTH} characters ({len(value):,})"
    if problem:
        if info.context is not None:
            info.context.setdefault("dropped", []).append(f"{info.field_name} dropped: {problem}")
        return None
    return value or None


Text = Annotated[StrictStr, AfterValidator(no_nul)]
Url = Annotated[StrictStr, AfterValidator(web_url)]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]


class Item(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class HFAuthor(Item):
    name: Text = ""
    # hidden: the author hid the paper from their HF profile; they still wrote it, so the name stays.
    hidden: StrictBool = False


class HFPaper(Item):
    id: Text
    title: Text | None = None
    summary: Text | None = None
    authors: list[HFAuthor] = []
    publishedAt: dt.datetime | None = None  # noqa: N815 (the API's names)
    submittedOnDailyAt: dt.datetime | None = None  # noqa: N815
    upvotes: Count | None = None
    ai_summary: Text | None = None
    ai_keywords: list[Text] | None = None
    githubRepo: Url | None = None  # noqa: N815
    githubStars: Count | None = None  # noqa: N815
    projectPage: Url | None = None  # noqa: N815


class HFItem(Item):
    paper: HFPaper
    title: Text | None = None
    summary: Text | None = None
    publishedAt: dt.datetime | None = None  # noqa: N815
    thumbnail: Url | None = None
    numComments: Count | None = None  # noqa: N815


def validate_item(raw: object) -> tuple[HFItem, list[str]]:
    """The item and notes on what was dropped from it, or ValueError with one line saying what is
    wrong with it."""
    if isinstance(raw, str) and raw.startswith("{'"):
        raise ValueError("an item must be a JSON object, not a string (this one holds a Python repr)")
    if not isinstance(raw, dict):
        raise ValueError(f"an item must be a JSON object, not {json_type(raw)}")
    context: dict[str, list[str]] = {}
    try:
        return HFItem.model_validate(raw, context=context), context.get("dropped", [])
    except ValidationError as error:
        raise ValueError(first_problem(error)) from None
    except RecursionError:
        raise ValueError("nested too deeply") from None


def first_problem(error: ValidationError) -> str:
    problems = error.errors(include_url=False)
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"]) or "item"
    message = re.sub(r" or instance of \w+$", "", first["msg"].removeprefix("Value error, "))
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {message}{more}"


def json_type(value: object) -> str:
    if isinstance(value, dict):
        return f"an object ({', '.join(map(str, list(value)[:6]))})" if value else "an empty object"
    names = {str: "a string", list: "a list", int: "a number", float: "a number", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def item_label(raw: object, index: int) -> str:
    """How a warning names an item: its position, and its arXiv id when it has one."""
    paper = raw.get("paper") if isinstance(raw, dict) else None
    paper_id = paper.get("id") if isinstance(paper, dict) else None
    return f"item {index + 1}" + (f" ({paper_id[:40]})" if isinstance(paper_id, str) and paper_id else "")
