"""TLS principals: a client certificate's subject as an RFC 2253 string, and mapping rules in
the style of Kafka's `ssl.principal.mapping.rules`.

Rules are a comma-separated list, tried in order; the first that matches decides:

- `DEFAULT` matches every subject and keeps it whole;
- `RULE:pattern/replacement/` matches when the regular expression `pattern` matches the WHOLE
  subject, and yields `replacement` with `$1`, `$2`, ... standing for the pattern's groups
  (`\\` escapes the next character; `\\/` puts a slash in pattern or replacement);
- a trailing `L` or `U` (`RULE:pattern/replacement/L`) lower- or upper-cases the result.

A subject that no rule matches is refused, as Kafka does: the connection is not served.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chargeback.gateway.identity._errors import PrincipalMappingError

DEFAULT_RULES = "DEFAULT"

# RFC 2253 section 2.3 short names; other attribute types keep OpenSSL's long name.
_SHORT_NAMES = {
    "commonName": "CN",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "streetAddress": "STREET",
    "domainComponent": "DC",
    "userId": "UID",
}


@dataclass(frozen=True, slots=True)
class MappingRule:
    """One rule: `pattern` is None for DEFAULT; `case` is "", "L" or "U"."""

    pattern: re.Pattern[str] | None
    replacement: str
    case: str

    def apply(self, subject: str) -> str | None:
        """Return the mapped principal, or None if this rule does not match `subject`."""
        if self.pattern is None:
            return subject
        match = self.pattern.fullmatch(subject)
        if match is None:
            return None
        mapped = _expand(self.replacement, match)
        if self.case == "L":
            return mapped.lower()
        return mapped.upper() if self.case == "U" else mapped


def _expand(replacement: str, match: re.Match[str]) -> str:
    """Expand `$n` group references and `\\x` escapes, as Java's Matcher.replaceAll does."""
    out: list[str] = []
    index = 0
    while index < len(replacement):
        char = replacement[index]
        if char == "\\" and index + 1 < len(replacement):
            out.append(replacement[index + 1])
            index += 2
        elif char == "$" and replacement[index + 1 : index + 2].isdigit():
            digits = re.match(r"\d+", replacement[index + 1 :])
            assert digits is not None
            out.append(match.group(int(digits.group())) or "")
            index += 1 + len(digits.group())
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _read_until_slash(text: str, start: int, rule_text: str) -> tuple[str, int]:
    """Read up to the next unescaped `/`; return the text (escapes kept) and the index after it."""
    index = start
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == "/":
            return text[start:index], index + 1
        index += 1
    raise PrincipalMappingError(f"principal mapping rule {rule_text!r} lacks a closing '/'")


def _parse_rule(text: str, start: int) -> tuple[MappingRule, int]:
    """Parse one rule at `text[start:]`; return it and the index where it ends."""
    if text.startswith("DEFAULT", start):
        return MappingRule(None, "", ""), start + len("DEFAULT")
    if not text.startswith("RULE:", start):
        raise PrincipalMappingError(
            f"principal mapping rule {text[start:]!r} is neither DEFAULT "
            "nor RULE:pattern/replacement/"
        )
    pattern_text, index = _read_until_slash(text, start + len("RULE:"), text[start:])
    replacement, index = _read_until_slash(text, index, text[start:])
    case = text[index] if text[index : index + 1] in ("L", "U") else ""
    try:
        pattern = re.compile(pattern_text)
    except re.error as error:
        raise PrincipalMappingError(
            f"principal mapping rule pattern {pattern_text!r} is not a valid regex: {error}"
        ) from error
    return MappingRule(pattern, replacement, case), index + len(case)


def parse_mapping_rules(text: str) -> tuple[MappingRule, ...]:
    """Parse a comma-separated rule list (see module docstring).

    Raises:
        PrincipalMappingError: a malformed rule, named in the message.

    >>> rules = parse_mapping_rules("RULE:^CN=([^,]+),.*$/$1/L, DEFAULT")
    >>> map_principal("CN=Alice,O=Acme", rules)
    'alice'
    """
    rules: list[MappingRule] = []
    index = _skip_spaces(text, 0)
    while index < len(text):
        rule, index = _parse_rule(text, index)
        rules.append(rule)
        index = _skip_spaces(text, index)
        if index < len(text) and text[index] != ",":
            raise PrincipalMappingError(
                f"principal mapping rules: expected ',' at {text[index:]!r}"
            )
        index = _skip_spaces(text, index + 1)
    if not rules:
        raise PrincipalMappingError("principal mapping rules are empty (use DEFAULT)")
    return tuple(rules)


def _skip_spaces(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def map_principal(subject: str, rules: Sequence[MappingRule]) -> str:
    """Map a certificate subject with the first matching rule.

    Raises:
        PrincipalMappingError: no rule matches, or the result is empty.
    """
    for rule in rules:
        mapped = rule.apply(subject)
        if mapped is not None:
            if not mapped:
                raise PrincipalMappingError(f"principal mapping of {subject!r} gives an empty name")
            return mapped
    raise PrincipalMappingError(f"no principal mapping rule matches subject {subject!r}")


def _escape_value(value: str) -> str:
    """Escape an attribute value as RFC 2253 section 2.4 asks.

    >>> _escape_value('#a,b ')
    '\\\\#a\\\\,b\\\\ '
    """
    escaped = "".join("\\" + c if c in ',+"\\<>;' else c for c in value)
    if escaped.startswith(("#", " ")):
        escaped = "\\" + escaped
    if escaped.endswith(" ") and not escaped.endswith("\\ "):
        escaped = escaped[:-1] + "\\ "
    return escaped


def subject_from_peer_certificate(subject: Sequence[Sequence[tuple[str, str]]]) -> str:
    """Format the `subject` of `ssl.SSLSocket.getpeercert()` as an RFC 2253 string.

    RFC 2253 lists the most specific name first, the reverse of the certificate's order (what
    Java's X500Principal.getName() gives Kafka's rules).

    >>> subject_from_peer_certificate(((("countryName", "US"),), (("commonName", "alice"),)))
    'CN=alice,C=US'
    """
    return ",".join(
        "+".join(f"{_SHORT_NAMES.get(kind, kind)}={_escape_value(value)}" for kind, value in rdn)
        for rdn in reversed(subject)
    )
