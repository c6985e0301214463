"""The money rule, as properties: per-line half-up rounding, totals equal to the sum
of their lines, refunds that add up to exactly what was paid."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from plugins.pos import pricing

CENT = Decimal("0.01")
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999.99"), places=2)
rates = st.sampled_from([Decimal(r) for r in ("0", "5", "7.5", "8.25", "19", "20", "21", "25")])
quantities = st.integers(min_value=1, max_value=50).map(Decimal)
line = st.tuples(quantities, prices, rates, st.integers(min_value=0, max_value=100))


@pytest.fixture
def backend() -> str:
    return "sqlite"


def amounts(q: Decimal, p: Decimal, rate: Decimal, pct: int, inclusive: bool) -> pricing.LineAmounts:
    discount = pricing.discount_from_percent(Decimal(pct), q, p)
    return pricing.line_amounts(q, p, discount, rate, prices_include_tax=inclusive)


@settings(max_examples=300, deadline=None)
@given(st.lists(line, min_size=1, max_size=12), st.booleans())
def test_totals_are_the_sum_of_the_lines(lines: list, inclusive: bool) -> None:
    each = [amounts(*ln, inclusive) for ln in lines]
    totals = pricing.sum_lines(each)
    assert totals.total == sum(a.total for a in each)
    assert totals.subtotal == sum(a.net for a in each)
    assert totals.tax == sum(a.tax for a in each)
    assert totals.total == totals.subtotal + totals.tax
    for a, (q, p, rate, _pct) in zip(each, lines):
        assert a.total == a.net + a.tax
        assert a.net.as_tuple().exponent == -2 and a.tax.as_tuple().exponent == -2
        exact = (a.net * rate / 100) if not inclusive else (a.total * rate / (100 + rate))
        assert abs(a.tax - exact) <= CENT  # one rounding per line: within a cent


@given(quantities, prices, rates)
def test_exclusive_rounds_half_up_per_line(q: Decimal, p: Decimal, rate: Decimal) -> None:
    a = pricing.line_amounts(q, p, Decimal(0), rate, prices_include_tax=False)
    assert a.net == q * p
    assert a.tax == (q * p * rate / 100).quantize(CENT, rounding="ROUND_HALF_UP")


def test_half_a_cent_rounds_up() -> None:
    # 0.10 × 25 % = 0.025 → 0.03 (half-up), not 0.02 (banker's)
    assert pricing.line_amounts(Decimal(1), Decimal("0.10"), Decimal(0), Decimal(25),
                                prices_include_tax=False).tax == Decimal("0.03")


@settings(max_examples=200, deadline=None)
@given(line, st.booleans(), st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=10))
def test_returns_in_parts_refund_exactly_the_line(ln: tuple, inclusive: bool, parts: list) -> None:
    whole = amounts(*ln, inclusive)
    sold = ln[0]
    done_q, done = Decimal(0), pricing.LineAmounts(Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    for part in parts:
        q = min(Decimal(part), sold - done_q)
        if q <= 0:
            break
        share = pricing.returned_share(whole, sold, done_q, q, done)
        assert share.total == share.net + share.tax
        assert share.total >= 0
        done_q += q
        done = pricing.LineAmounts(done.net + share.net, done.tax + share.tax, done.total + share.total)
        assert done.total <= whole.total
    if done_q == sold:
        assert done == whole


def test_settle() -> None:
    t = pricing.settle(Decimal("10.00"), [("card", Decimal("4.00")), ("cash", Decimal("10.00"))])
    assert (t.paid, t.change_due) == (Decimal("14.00"), Decimal("4.00"))
    with pytest.raises(ValueError, match="short"):
        pricing.settle(Decimal("10.00"), [("cash", Decimal("9.99"))])
    with pytest.raises(ValueError, match="only cash gives change"):
        pricing.settle(Decimal("10.00"), [("card", Decimal("11.00"))])
    assert pricing.settle(Decimal("-5.00"), []).change_due == Decimal("5.00")
    # owing the customer 67.00: paid out in cash, with any cash handed over, never for a card
    owed = Decimal("-67.00")
    assert pricing.settle(owed, [("cash", Decimal("10.00"))]).change_due == Decimal("77.00")
    with pytest.raises(ValueError, match="only cash gives change"):
        pricing.settle(owed, [("card", Decimal("10.00"))])


def test_returning_cheap_units_one_by_one_never_refunds_more_than_the_line() -> None:
    # 4 units for 0.02 in all: rounding each return on its own would refund 0.01 four times
    whole = pricing.LineAmounts(Decimal("0.02"), Decimal("0.00"), Decimal("0.02"))
    done = pricing.LineAmounts(Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    refunds = []
    for already in range(4):
        share = pricing.returned_share(whole, Decimal(4), Decimal(already), Decimal(1), done)
        refunds.append(share.total)
        done = pricing.LineAmounts(done.net + share.net, done.tax + share.tax, done.total + share.total)
    # cumulative rounding: 0.005 → 0.01, 0.01 → 0.01, 0.015 → 0.02, then exact
    assert refunds == [Decimal("0.01"), Decimal("0.00"), Decimal("0.01"), Decimal("0.00")]
    assert sum(refunds) == Decimal("0.02") and min(refunds) >= 0
