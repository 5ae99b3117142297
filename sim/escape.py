"""Text written by tradesim, escaped once per kind of writer (docs/model.md, "Outputs").

Every writer passes the *text* it writes (titles, names, notes, sources, codes shown as
text) through one of these helpers; numbers are written as numbers and never pass here.

- :func:`toml_string`: a TOML basic string, quotes and backslashes and control characters
  escaped, so any text reads back unchanged with :mod:`tomllib`.
- :func:`toml_comment`: a TOML comment line; control characters (line breaks among them)
  are escaped as in :func:`toml_string`, so the comment stays one line and the file parses.
- :func:`spreadsheet_text`: a text cell that a spreadsheet would otherwise run as a formula
  (a leading ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading apostrophe,
  the convention spreadsheets use for "this is text"; :func:`unspreadsheet_text` undoes it.
- :func:`html_text`: text in HTML (a notebook's display of results, the shared report), ``<``,
  ``>``, ``&`` and quotes escaped; :func:`html_paragraphs` escapes a text of several paragraphs
  (a scenario's ``description``) as ``<p>`` elements.
- :func:`plot_text`: text drawn by matplotlib, with ``$`` escaped so that it is never read
  as mathtext ("US$ 5 bn and US$ 7 bn" stays as written; ``$\\undefined$`` cannot crash).
"""

from __future__ import annotations

import html
import re

__all__ = ["toml_string", "toml_comment", "spreadsheet_text", "unspreadsheet_text", "html_text", "html_paragraphs",
           "plot_text", "FORMULA_PREFIXES"]

#: Leading characters that make a spreadsheet read a cell as a formula (OWASP's list).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string literal, quotes included.

    >>> toml_string('my "demo"\\n')
    '"my \\\\"demo\\\\"\\\\n"'
    """
    out = []
    for ch in str(text):
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_comment(text: str) -> str:
    """``text`` as one TOML comment line, ``# `` included; characters a comment may not hold are escaped.

    >>> toml_comment("two\\nlines")
    '# two\\\\nlines'
    """
    return "# " + "".join(toml_string(ch)[1:-1] if _control(ch) else ch for ch in str(text))


def _control(ch: str) -> bool:
    """A character TOML allows in no comment: a control character other than tab."""
    return (ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F


#: A plain number written as text ("-1", "+2.5e3"): a spreadsheet reads it as that number, never as a formula.
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_text(text: str) -> str:
    """``text`` safe for a CSV or Excel text cell: a leading formula character gets an apostrophe before it.

    A plain number written as text (``"-1"``) is left as it is: it cannot be a formula.
    """
    text = str(text)
    if PLAIN_NUMBER.fullmatch(text):
        return text
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def unspreadsheet_text(text: str) -> str:
    """The inverse of :func:`spreadsheet_text` (for readers of files tradesim wrote)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES) else text


def html_text(text: str) -> str:
    """``text`` for HTML: ``&``, ``<``, ``>`` and quotes escaped."""
    return html.escape(str(text))


def html_paragraphs(text: str) -> str:
    """``text`` as HTML paragraphs, each escaped by :func:`html_text`: blank lines separate paragraphs, and the
    line breaks inside one (a TOML file's wrapping) become spaces; ``""`` for a text with no words.

    >>> html_paragraphs("a <b>\\nc\\n\\nd & e")
    '<p>a &lt;b&gt; c</p>\\n<p>d &amp; e</p>'
    """
    paragraphs = (" ".join(part.split()) for part in re.split(r"\n\s*\n", str(text)))
    return "\n".join(f"<p>{html_text(p)}</p>" for p in paragraphs if p)


def plot_text(text: str) -> str:
    """``text`` for a matplotlib title, label or legend: dollar signs escaped so mathtext never parses it."""
    return str(text).replace("$", r"\$")
