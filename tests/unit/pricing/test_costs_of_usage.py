"""costs_of_usage: the report engine's bulk pricing equals the cost formula, exactly."""

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from chargeback.pricing import GbUnit, PriceSettings, costs_of_usage, sum_money, sums_of_money

prices_strategy = st.builds(
    PriceSettings,
    ingress_per_gb=st.decimals(0, 10**6, places=8),
    egress_per_gb=st.decimals(0, 10**6, places=8),
    gb_unit=st.sampled_from(GbUnit),
)
byte_counts = st.integers(0, 2**63 - 1)


@given(prices=prices_strategy, usage=st.lists(st.tuples(byte_counts, byte_counts), max_size=20))
def test_each_pair_costs_produced_times_ingress_price_plus_consumed_times_egress_price(
    prices: PriceSettings, usage: list[tuple[int, int]]
) -> None:
    # Given the formula of spec section 2, in exact fractions
    gb = Fraction(prices.gb_unit.bytes_per_gb)
    expected = [
        produced * Fraction(prices.ingress_per_gb) / gb
        + consumed * Fraction(prices.egress_per_gb) / gb
        for produced, consumed in usage
    ]

    # When
    costs = costs_of_usage(usage, prices)

    # Then
    assert [Fraction(cost) for cost in costs] == expected


@given(amounts=st.lists(st.decimals(0, 10**6, places=38), max_size=30))
def test_sums_of_money_are_exact_beyond_the_default_28_digits(amounts: list[Decimal]) -> None:
    # When
    total = sum_money(amounts)
    totals = sums_of_money([amounts, amounts[:1]])

    # Then
    assert Fraction(total) == sum((Fraction(a) for a in amounts), Fraction(0))
    assert totals == [total, sum_money(amounts[:1])]
