"""Readable parametrize ids that name the same test in every collection."""


def plain_id(text: str) -> str:
    r"""`text` as an explicit pytest id: printable ASCII, backslashes dropped, other characters
    as "?".

    pytest escapes backslashes and non-printable characters of explicit ids, and pytest 9
    escapes them once more when a module already imported is collected again in the same
    process; mutmut's fork server does exactly that, so the ids it recorded ("\\frac") were
    "not found" in the second collection ("\\\\frac"), pytest exited 4 and every such mutant
    was reported as a time-out.

    >>> plain_id("\\frac{1}{2}|0.5\n")
    'frac{1}{2}|0.5?'
    """
    return "".join("" if c == "\\" else c if " " <= c <= "~" else "?" for c in text)
