"""What a colour means, said once for the terminal and the page alike.

A verdict or status maps to a tone (good, bad, warn, info, muted); the tone maps to a
rich style in the terminal and to a CSS class (report/html.py's style sheet) on the page.
Before this module the terminal drew CONDITIONAL yellow and OUTDATED magenta while the
page drew both blue, so a reader moving between them met two colour codes.
"""

from __future__ import annotations

__all__ = ["COMPARE_TONES", "STATUS_TONES", "TONE_STYLES", "VERDICT_TONES", "style_of"]

#: claim verdicts (results/records.py CLAIM_VERDICTS): HOLDS as wanted, CONDITIONAL and
#: OUTDATED are findings, not failures; ERROR (the judge broke) is never a pass
VERDICT_TONES = {"HOLDS": "good", "CONDITIONAL": "info", "OUTDATED": "info", "FAILS": "bad",
                 "SKIPPED": "muted", "ERROR": "bad"}
#: acceptance statuses and verdicts (acceptance/rules.py)
STATUS_TONES = {"PASS": "good", "FAIL": "bad", "NOISY": "warn", "SKIPPED": "muted",
                "MISSING": "bad", "INCONCLUSIVE": "warn", "ACCEPTED": "good",
                "REJECTED": "bad"}
#: compare verdicts (results/compare.py): B against A, so faster is good
COMPARE_TONES = {"FASTER": "good", "SLOWER": "bad", "NOISY": "warn", "SAME": "muted"}
#: the terminal's style per tone, the same hues as html.py's classes
TONE_STYLES = {"good": "green", "bad": "bold red", "warn": "yellow", "info": "blue",
               "muted": "dim", "": ""}


def style_of(word: str, tones: dict[str, str]) -> str:
    """The rich style for a verdict or status word (``""``: none)."""
    return TONE_STYLES[tones.get(word, "")]
