"""Text as people read it: arXiv's TeX-accented author names in Unicode, and titles and abstracts
with their LaTeX shown readably.

The sources write `Jos\\'e`, `Pawe{\\l}`, `$\\alpha$-divergence`, `\\textbf{...}`, but also "$25"
meaning money. Names are stored converted (so following an author matches across sources);
titles and abstracts are stored as the source wrote them (search keeps the original) and shown
through `readable()`, the one place emails, pages and feeds get their display text from.
pylatexenc does the TeX-to-Unicode work; this module only decides which fragments to hand it.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from pylatexenc import latex2text
from pylatexenc.latexwalker import LatexMacroNode, LatexWalker, LatexWalkerError

# pylatexenc logs a warning for every construct it guesses at; the fallback below covers them.
logging.getLogger("pylatexenc").setLevel(logging.ERROR)

# Pandoc's rule for inline math: an opening $ has a non-space on its right, a closing $ a
# non-space on its left and no digit after it. So "costs $25 and $30 more" holds no math.
INLINE_MATH = re.compile(r"(?<![\\$])\$(?=[^\s$])((?:\\.|[^$\\])+?)(?<=[^\s\\])\$(?!\d)")
# Outside math, only these are TeX: text macros with one braced argument, and escaped specials.
TEXT_MACRO = re.compile(r"\\(?:textbf|textit|emph|texttt|textsc|textrm|textsf|underline|mathrm)\{([^{}\\]*)\}")
ESCAPED = re.compile(r"\\([&%#_$])")
MACRO_BEFORE_SPACE = re.compile(r"(\\[A-Za-z]+) ")
UNREADABLE = re.compile(r"[\\{}]")
GROUPED_SCRIPT = re.compile(r"[\^_]\{")  # x^{n+1}: plain text would lose the grouping
AFFILIATION = re.compile(r"\s*\([^()]*\)")


@lru_cache(maxsize=1)
def converter() -> latex2text.LatexNodes2Text:
    return latex2text.LatexNodes2Text(math_mode="text", strict_latex_spaces=False)


def tex_to_unicode(tex: str) -> str | None:
    """The text pylatexenc makes of `tex`, or None if it holds a macro pylatexenc does not know
    (it would silently drop it) or the result still looks like markup."""
    if GROUPED_SCRIPT.search(tex) or not known_macros_only(tex):
        return None
    try:
        # A macro eats the space after it in TeX ("\approx b" -> "≈b"); keep the space.
        text = converter().latex_to_text(MACRO_BEFORE_SPACE.sub(r"\1{} ", tex))
    except (LatexWalkerError, IndexError, ValueError):
        return None
    return None if UNREADABLE.search(text) else text


def known_macros_only(tex: str) -> bool:
    try:
        nodes, _, _ = LatexWalker(tex, tolerant_parsing=False).get_latex_nodes()
    except (LatexWalkerError, IndexError, ValueError):
        return False
    db = latex2text.get_default_latex_context_db()
    stack = list(nodes or [])
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if isinstance(node, LatexMacroNode) and db.get_macro_spec(node.macroname) is None:
            return False
        stack.extend(getattr(node, "nodelist", None) or [])
        stack.extend(arg for arg in (getattr(getattr(node, "nodeargd", None), "argnlist", None) or []))
    return True


def squash(text: str) -> str:
    """Whitespace normalised: hard-wrapped titles ("...Multimodal\\n  Models") on one line."""
    return " ".join(text.split())


@lru_cache(maxsize=20_000)
def readable(text: str) -> str:
    """A title or abstract as shown to people: simple math in Unicode, text macros unwrapped,
    escaped specials unescaped; anything else left exactly as written, never half-converted."""
    if "\\" not in text and "$" not in text:
        return squash(text)

    def math(match: re.Match) -> str:
        converted = tex_to_unicode(match.group(0))
        return converted if converted is not None else match.group(0)

    parts = []
    last = 0
    for match in INLINE_MATH.finditer(text):
        parts.append(plain_tex(text[last : match.start()]))
        parts.append(math(match))
        last = match.end()
    parts.append(plain_tex(text[last:]))
    return squash("".join(parts))


def plain_tex(text: str) -> str:
    text = TEXT_MACRO.sub(lambda m: m.group(1), text)
    return ESCAPED.sub(lambda m: m.group(1), text)


def person_name(raw: str) -> str:
    """An author as people write them: TeX accents in Unicode, an affiliation in parentheses
    split off ("Mohammed Riadh Berramdane (IFPEN)" -> "Mohammed Riadh Berramdane")."""
    name = squash(AFFILIATION.sub("", raw))
    if "\\" in name or "{" in name:
        converted = tex_to_unicode(name)
        if converted is not None:
            name = squash(converted)
    return name


def split_names(joined: str) -> list[str]:
    """arXiv's comma-joined author list, split on commas and "and" outside parentheses
    (an affiliation may hold commas: "Ann Roe (MIT, CSAIL)")."""
    names, depth, current = [], 0, []
    for char in joined:
        depth += (char == "(") - (char == ")")
        if char == "," and depth <= 0:
            names.append("".join(current))
            current = []
        else:
            current.append(char)
    names.append("".join(current))
    split = [part for name in names for part in re.split(r"\s+and\s+(?![^(]*\))", name)]
    return [cleaned for cleaned in map(person_name, split) if cleaned]
