"""Money on a line: one rounding rule, applied once per line, for every plugin that
charges a customer (the till, the service desk without a till).

**The rule.** Every amount is rounded half-up to cents (``to_money``), once, on
the line:

* prices exclude tax (the default, US style)::

      net   = round(quantity × unit_price − discount)
      tax   = round(net × rate / 100)
      total = net + tax

* prices include tax (core setting ``prices_include_tax``, VAT style)::

      total = round(quantity × unit_price − discount)
      tax   = round(total × rate / (100 + rate))
      net   = total − tax

A sale's subtotal, tax and total are the plain sums of its lines' ``net``, ``tax``
and ``total`` — never recomputed from a sum — so totals always equal the sum of the
lines, and ``total = subtotal + tax`` on every line and every sale.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from core.db import to_money

HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LineAmounts:
    """One line: before tax, the tax, and what the customer pays (``net + tax = total``)."""
    net: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class Totals:
    """Lines summed: ``subtotal`` (the nets), ``tax`` and ``total``."""
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def line_amounts(quantity: Decimal, unit_price: Decimal, discount: Decimal, tax_rate: Decimal,
                 *, prices_include_tax: bool) -> LineAmounts:
    """A line's net, tax and total by the rule above."""
    gross = to_money(Decimal(quantity) * Decimal(unit_price) - Decimal(discount))
    rate = Decimal(tax_rate)
    if prices_include_tax:
        tax = to_money(gross * rate / (HUNDRED + rate)) if rate else ZERO
        return LineAmounts(net=gross - tax, tax=tax, total=gross)
    tax = to_money(gross * rate / HUNDRED) if rate else ZERO
    return LineAmounts(net=gross, tax=tax, total=gross + tax)


def sum_lines(lines: Iterable[LineAmounts]) -> Totals:
    """The plain sums of the lines' amounts (never recomputed from a sum)."""
    subtotal = tax = total = ZERO
    for ln in lines:
        subtotal += ln.net
        tax += ln.tax
        total += ln.total
    return Totals(subtotal=subtotal, tax=tax, total=total)


__all__ = ["LineAmounts", "Totals", "line_amounts", "sum_lines"]
