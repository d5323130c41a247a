"""Money arithmetic: the cost of bytes and rounding for output. The only place money is computed."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, localcontext
from functools import cache

from chargeback.pricing._prices import MAX_PRICE_DECIMAL_PLACES, GbUnit, PriceSettings

# bytes * price has at most ~20 + 8 significant digits; dividing by 10**9 or 2**30 terminates
# within 30 more digits. 200 digits leave room for sums of many such costs, and the Inexact
# trap turns any rounding we did not ask for into an error instead of a silently wrong bill.
_EXACT_DIGITS = 200
_EXACT = Context(prec=_EXACT_DIGITS, traps=[Inexact])
# One shared context for output rounding: an export rounds ~10**5 cells, and entering a local
# context per cell cost more than the rounding itself.
_HALF_UP = Context(prec=_EXACT_DIGITS, rounding=ROUND_HALF_UP)


def cost_of(byte_count: int, price_per_gb: Decimal, gb_unit: GbUnit) -> Decimal:
    """Return the exact cost of `byte_count` bytes at `price_per_gb` per GB of `gb_unit`.

    >>> cost_of(1_500_000_000, Decimal("0.10"), GbUnit.DECIMAL)
    Decimal('0.15')
    >>> cost_of(2**29, Decimal("0.1"), GbUnit.BINARY)
    Decimal('0.05')
    >>> cost_of(1, Decimal("1"), GbUnit.BINARY)
    Decimal('9.31322574615478515625E-10')
    """
    with localcontext() as context:
        context.prec = _EXACT_DIGITS
        context.traps[Inexact] = True
        return Decimal(byte_count) * price_per_gb / Decimal(gb_unit.bytes_per_gb)


def costs_of_usage(usage: Iterable[tuple[int, int]], prices: PriceSettings) -> list[Decimal]:
    """The exact ingress + egress cost of each (bytes produced, bytes consumed) pair.

    Equal to `cost_of` of each part, added; computed in integers because a report prices
    ~10**5 cells: a price has at most 8 decimal places, so every cost is a whole number of
    10**-17 (decimal GB) or 10**-38 (binary GB, 1/2**30 = 5**30/10**30) currency units.

    >>> prices = PriceSettings(Decimal("0.10"), Decimal("0.05"))
    >>> [f"{cost:f}" for cost in costs_of_usage([(1_500_000_000, 2_000_000_000)], prices)]
    ['0.25000000000000000']
    """
    ingress_units = _price_units(prices.ingress_per_gb)
    egress_units = _price_units(prices.egress_per_gb)
    if prices.gb_unit is GbUnit.DECIMAL:
        factor, exponent = 1, -(MAX_PRICE_DECIMAL_PLACES + 9)
    else:
        factor, exponent = 5**30, -(MAX_PRICE_DECIMAL_PLACES + 30)
    return [
        Decimal((produced * ingress_units + consumed * egress_units) * factor).scaleb(
            exponent, _EXACT
        )
        for produced, consumed in usage
    ]


def _price_units(price_per_gb: Decimal) -> int:
    """The price in units of 10**-8 (exact: PriceSettings allows at most 8 decimal places)."""
    return int(price_per_gb.scaleb(MAX_PRICE_DECIMAL_PLACES, _EXACT))


def sum_money(amounts: Iterable[Decimal]) -> Decimal:
    """The exact sum of `amounts` (costs in binary GB carry more digits than the default 28).

    >>> sum_money([Decimal("9.31322574615478515625E-10")] * 2)
    Decimal('1.862645149230957031250E-9')
    """
    return sums_of_money([amounts])[0]


def sums_of_money(groups: Iterable[Iterable[Decimal]]) -> list[Decimal]:
    """The exact sum of each group, in one decimal context (a report adds ~10**5 of them).

    >>> sums_of_money([[Decimal("0.1"), Decimal("0.2")], []])
    [Decimal('0.3'), Decimal('0')]
    """
    with localcontext() as context:
        context.prec = _EXACT_DIGITS
        context.traps[Inexact] = True
        return [sum(group, Decimal(0)) for group in groups]


def round_half_up(value: Decimal, places: int) -> Decimal:
    """Round `value` to `places` decimal places, halves away from zero (for output only).

    >>> round_half_up(Decimal("0.0000005"), 6), round_half_up(Decimal("2.5"), 0)
    (Decimal('0.000001'), Decimal('3'))
    >>> round_half_up(Decimal("-0.125"), 2)
    Decimal('-0.13')
    """
    return _HALF_UP.quantize(value, _quantum(places))


@cache
def _quantum(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)
