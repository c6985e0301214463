"""What a ticket's work costs the customer, tax included, by the kernel's one rule for
a line (``core.line_amounts``: each amount rounded once on the line; prices with or
without tax per the core setting ``prices_include_tax``) — the rule the till applies.

A line a warranty covers costs nothing (the till prices it at zero). A pickup rung up
on the till records what the sale charged for the ticket (:func:`sale_amounts`); a
pickup recorded without a till (pos disabled, or paid elsewhere) computes the same
figures (:func:`work_amounts`).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Iterable, Sequence

from core import (ChargeLine, LineAmounts, SaleInfo, SaleLineInfo, Totals, line_amounts,
                  sum_lines, to_money)

ZERO = Decimal("0.00")
WORK_KINDS = ("part", "labor")


def charged(line: ChargeLine, *, prices_include_tax: bool) -> LineAmounts:
    """One of the ticket's lines as the till charges it."""
    return line_amounts(line.quantity, ZERO if line.covered else line.unit_price, ZERO,
                        line.tax_rate, prices_include_tax=prices_include_tax)


def work_amounts(lines: Iterable[ChargeLine], *, prices_include_tax: bool) -> Totals:
    """The lines' amounts, each rounded on its own, summed."""
    return sum_lines(charged(ln, prices_include_tax=prices_include_tax) for ln in lines)


def _same_line(sold: SaleLineInfo, line: ChargeLine) -> bool:
    # a till may shorten a description to fit its column
    return (sold.kind == line.kind and sold.product_id == line.product_id
            and Decimal(sold.quantity) == Decimal(line.quantity)
            and line.description.startswith(sold.description))


def sale_amounts(sale: SaleInfo, lines: Sequence[ChargeLine], *,
                 prices_include_tax: bool) -> tuple[Totals, Decimal]:
    """``(work, deposit applied)`` as till sale ``sale`` charged them for a ticket whose
    open work is ``lines``: each line's amounts from the sale line that sold it (the
    same kind, product, quantity and description, each sale line used once: the sale
    may hold other goods too), the deposit from the sale's deposit lines. A line the
    sale does not show as such is counted by the rule."""
    pool = [s for s in sale.lines if s.kind in WORK_KINDS]
    work = []
    for line in lines:
        sold = next((s for s in pool if _same_line(s, line)), None)
        if sold is None:
            work.append(charged(line, prices_include_tax=prices_include_tax))
            continue
        pool.remove(sold)
        work.append(LineAmounts(net=sold.total - sold.tax, tax=sold.tax, total=sold.total))
    deposit = -sum((s.total for s in sale.lines if s.kind == "deposit"), ZERO)
    return sum_lines(work), to_money(deposit)
