"""Reading pages as a browser would: strict HTML5 parsing (html5lib, the WHATWG algorithm) that
fails on any parse error or repeated id, and the text of what a person sees."""

from __future__ import annotations

from collections import Counter
from xml.etree.ElementTree import Element

import html5lib


def parse_valid(page: str | bytes, where: str = "page") -> Element:
    """The page's tree; an AssertionError naming each parse error (line, column, code) and each
    id used twice, so one test run lists everything wrong with the page."""
    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    tree = parser.parse(page)
    problems = [f"line {line}, col {col}: {code} {data or ''}" for (line, col), code, data in parser.errors]
    if not (page.decode() if isinstance(page, bytes) else page).lstrip().lower().startswith("<!doctype html>"):
        problems.append("no <!DOCTYPE html>")
    ids = Counter(el.get("id") for el in tree.iter() if el.get("id"))
    problems += [f'id="{name}" used {n} times' for name, n in ids.items() if n > 1]
    for label in tree.iter("label"):
        target = label.get("for")
        if target and target not in ids:
            problems.append(f'<label for="{target}"> names no element')
    assert not problems, f"{where} is not valid HTML:\n  " + "\n  ".join(problems)
    return tree


def text_of(element: Element | None) -> str:
    """The element's text with spaces collapsed; a space between elements, so table cells
    read apart ("2025-09-03 3 0", not "2025-09-0330")."""
    if element is None:
        return ""
    return " ".join(" ".join(element.itertext()).split())


def by_id(tree: Element, element_id: str) -> Element:
    found = tree.find(f".//*[@id='{element_id}']")
    assert found is not None, f"no element #{element_id}"
    return found


def admin_column(tree: Element, field: str) -> list[str]:
    """One column of an admin change list, top to bottom (cells carry class field-<name>)."""
    return [
        text_of(cell)
        for row in tree.iterfind(".//table[@id='result_list']/tbody/tr")
        for cell in row
        if f"field-{field}" in (cell.get("class") or "").split()
    ]
