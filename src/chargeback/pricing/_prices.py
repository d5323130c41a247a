"""Price settings (spec section 2) and their validation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from enum import StrEnum

from chargeback.pricing._currencies import CURRENCY_CODES
from chargeback.pricing._errors import PricingError

MAX_PRICE_DECIMAL_PLACES = 8
# The highest price per GB. Real transfer prices are cents per GB; a million is ten million
# times that, and still a thousand times a dollar per GB in the currencies with the smallest
# units (about 25,000 VND or 16,000 IDR to the dollar). A bound keeps every cost, sum and
# rounding of a report within exact decimal arithmetic: "1e400" made reports fail.
MAX_PRICE_PER_GB = Decimal(1_000_000)
_EIGHT_PLACES = Decimal(1).scaleb(-MAX_PRICE_DECIMAL_PLACES)
# What a person types as a price: the digits 0-9 with an optional point. No sign, spaces,
# exponent or separators, and no digits of other scripts (Decimal reads "٠.١" as 0.1).
_PLAIN_DECIMAL = re.compile(r"([0-9]+(\.[0-9]*)?|\.[0-9]+)")


class GbUnit(StrEnum):
    """What one GB means when prices are applied."""

    DECIMAL = "decimal"  # 1,000,000,000 bytes (default)
    BINARY = "binary"  # 1,073,741,824 bytes (GiB)

    @property
    def bytes_per_gb(self) -> int:
        """How many bytes one GB of this unit holds.

        >>> GbUnit.DECIMAL.bytes_per_gb, GbUnit.BINARY.bytes_per_gb
        (1000000000, 1073741824)
        """
        return 10**9 if self is GbUnit.DECIMAL else 2**30


@dataclass(frozen=True, slots=True)
class PriceSettings:
    """The prices in force: per produced GB, per consumed GB, currency, GB unit.

    Prices are kept in plain form (`canonical_price`): `Decimal("-0")` becomes 0 and
    `Decimal("1E+2")` becomes 100.

    Raises:
        PricingError: a price is negative, not finite, above MAX_PRICE_PER_GB or has more than
            8 decimal places, the currency is not a known ISO 4217 code, or the GB unit is not
            a `GbUnit`.
    """

    ingress_per_gb: Decimal = Decimal("0")
    egress_per_gb: Decimal = Decimal("0")
    currency: str = "USD"
    gb_unit: GbUnit = GbUnit.DECIMAL

    def __post_init__(self) -> None:
        check_price(self.ingress_per_gb, "ingress price per GB")
        check_price(self.egress_per_gb, "egress price per GB")
        # A frozen dataclass: set the plain forms the way its own __init__ does.
        object.__setattr__(self, "ingress_per_gb", canonical_price(self.ingress_per_gb))
        object.__setattr__(self, "egress_per_gb", canonical_price(self.egress_per_gb))
        if self.currency not in CURRENCY_CODES:
            raise PricingError(f"currency {self.currency!r} is not a supported ISO 4217 code")
        if not isinstance(self.gb_unit, GbUnit):
            raise PricingError(f"GB unit {self.gb_unit!r} is neither 'decimal' nor 'binary'")


def check_price(price: Decimal, field: str) -> None:
    """Refuse a price that is not a finite Decimal from 0 to MAX_PRICE_PER_GB with at most
    8 decimal places.

    Raises:
        PricingError: names `field` and the value.

    >>> check_price(Decimal("0.12345678"), "ingress price per GB")
    >>> check_price(Decimal("-1"), "ingress price per GB")
    Traceback (most recent call last):
    ...
    chargeback.pricing._errors.PricingError: ingress price per GB -1 is negative
    >>> check_price(Decimal("1E+400"), "ingress price per GB")
    Traceback (most recent call last):
    ...
    chargeback.pricing._errors.PricingError: ingress price per GB 1E+400 is more than 1000000
    """
    if not isinstance(price, Decimal) or not price.is_finite():
        raise PricingError(f"{field} {price!r} is not a finite decimal number")
    if price < 0:
        raise PricingError(f"{field} {price} is negative")
    exponent = price.as_tuple().exponent
    assert isinstance(exponent, int)  # finite Decimals have an int exponent
    if exponent < -MAX_PRICE_DECIMAL_PLACES and _has_more_places(price):
        raise PricingError(
            f"{field} {price} has more than {MAX_PRICE_DECIMAL_PLACES} decimal places"
        )
    if price > MAX_PRICE_PER_GB:
        raise PricingError(f"{field} {price} is more than {MAX_PRICE_PER_GB}")


def canonical_price(price: Decimal) -> Decimal:
    """A checked price in plain form: no exponent above 0, at most 8 places, never -0.

    Equal in value; only the form changes, so that prices print and store as plain decimals.

    >>> [str(canonical_price(Decimal(text))) for text in ("-0", "1E+2", "0.10", "0E-30")]
    ['0', '100', '0.10', '0E-8']
    """
    exponent = price.as_tuple().exponent
    assert isinstance(exponent, int)  # check_price let only finite Decimals through
    if exponent > 0:
        price = price.quantize(Decimal(1))
    elif exponent < -MAX_PRICE_DECIMAL_PLACES:
        price = price.quantize(_EIGHT_PLACES)  # only zeros go: check_price saw to that
    return abs(price)  # not negative, so abs() only turns -0 into 0


def _has_more_places(price: Decimal) -> bool:
    # Trailing zeros ("0.120000000") are not precision; enough digits for any price's quantize.
    with localcontext() as context:
        context.prec = len(price.as_tuple().digits) + MAX_PRICE_DECIMAL_PLACES + 2
        return price != price.quantize(Decimal(1).scaleb(-MAX_PRICE_DECIMAL_PLACES))


def parse_price(text: str, field: str) -> Decimal:
    """Parse a price typed by a user in plain decimal notation ("0.12", "5", ".5", "7.").

    Only the digits 0-9 and one optional point: no sign, surrounding spaces, exponent
    ("1e-3"), separators or digits of other scripts, so that what is stored is exactly what
    was typed and shown. Money is written out in full everywhere it is shown, and "1e400" hid
    a number no report could price. The result is checked like any price.

    Raises:
        PricingError: the text is not a number, is negative, is not plain decimal notation, or
            the number is not a valid price.

    >>> parse_price("0.09", "egress price per GB")
    Decimal('0.09')
    >>> parse_price("ten", "egress price per GB")
    Traceback (most recent call last):
    ...
    chargeback.pricing._errors.PricingError: egress price per GB 'ten' is not a number
    >>> parse_price(" 0.09", "egress price per GB")
    Traceback (most recent call last):
    ...
    chargeback.pricing._errors.PricingError: egress price per GB ' 0.09' is not a plain decimal number: write it out in the digits 0-9 with an optional '.', e.g. 0.001 (no sign, spaces, exponent or separators)
    """  # noqa: E501
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise PricingError(f"{field} {text!r} is not a number") from None
    if not price.is_finite():
        raise PricingError(f"{field} {text!r} is not a finite number")
    if price < 0 and _PLAIN_DECIMAL.fullmatch(text.removeprefix("-")):
        raise PricingError(f"{field} {price} is negative")
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise PricingError(
            f"{field} {text!r} is not a plain decimal number: write it out in the digits 0-9"
            " with an optional '.', e.g. 0.001 (no sign, spaces, exponent or separators)"
        )
    check_price(price, field)
    return canonical_price(price)


def parse_currency(text: str) -> str:
    """Parse an ISO 4217 currency code, case-insensitively.

    Raises:
        PricingError: the code is unknown.

    >>> parse_currency("eur")
    'EUR'
    """
    code = text.strip().upper()
    if code not in CURRENCY_CODES:
        known = ", ".join(sorted(CURRENCY_CODES))
        raise PricingError(f"currency {text!r} is not a supported ISO 4217 code (known: {known})")
    return code


def parse_gb_unit(text: str) -> GbUnit:
    """Parse a GB unit: "decimal" (10**9 bytes) or "binary" (2**30 bytes).

    Raises:
        PricingError: anything else.

    >>> parse_gb_unit("Binary")
    <GbUnit.BINARY: 'binary'>
    """
    try:
        return GbUnit(text.strip().lower())
    except ValueError:
        raise PricingError(f"GB size {text!r} is neither 'decimal' nor 'binary'") from None


def parse_prices(
    *,
    ingress_per_gb: str | None = None,
    egress_per_gb: str | None = None,
    currency: str | None = None,
    gb_unit: str | None = None,
    base: PriceSettings | None = None,
) -> PriceSettings:
    """Return `base` (default: the defaults) with the given fields parsed and replaced.

    A field left as None keeps its value from `base`, so `pricing set --currency EUR` changes
    only the currency.

    Raises:
        PricingError: a given field is invalid (the message names it).

    >>> parse_prices(ingress_per_gb="0.1", currency="gbp")
    PriceSettings(ingress_per_gb=Decimal('0.1'), egress_per_gb=Decimal('0'), currency='GBP', gb_unit=<GbUnit.DECIMAL: 'decimal'>)
    """  # noqa: E501
    old = base if base is not None else PriceSettings()
    return PriceSettings(
        ingress_per_gb=old.ingress_per_gb
        if ingress_per_gb is None
        else parse_price(ingress_per_gb, "ingress price per GB"),
        egress_per_gb=old.egress_per_gb
        if egress_per_gb is None
        else parse_price(egress_per_gb, "egress price per GB"),
        currency=old.currency if currency is None else parse_currency(currency),
        gb_unit=old.gb_unit if gb_unit is None else parse_gb_unit(gb_unit),
    )
