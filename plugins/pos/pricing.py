"""Money at the till. Each line is priced by the kernel's one rounding rule
(``core.line_amounts``, stated in ``core/pricing.py``): every amount rounded half-up to
cents once, on the line; a sale's subtotal, tax and total are the plain sums of its
lines' ``net``, ``tax`` and ``total`` (``core.sum_lines``) — never recomputed from a
sum — so totals always equal the sum of the lines.

Returns take back a share of a line: ``returned_share`` gives the units' share of
each amount, and the last units returned take whatever is left, so a line returned
in several goes refunds exactly what it cost.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Sequence

# the kernel's rule, under the names the till has always used (pricing.line_amounts …)
from core import LineAmounts, Totals, line_amounts, sum_lines, to_money  # noqa: F401

HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


def discount_percent(discount: Decimal, quantity: Decimal, unit_price: Decimal) -> Decimal:
    """``discount`` as a percentage of the line before discount (0 for a free line)."""
    gross = Decimal(quantity) * Decimal(unit_price)
    if gross <= 0:
        return Decimal(0)
    return (Decimal(discount) * HUNDRED / gross).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def discount_from_percent(percent: Decimal, quantity: Decimal, unit_price: Decimal) -> Decimal:
    return to_money(Decimal(quantity) * Decimal(unit_price) * Decimal(percent) / HUNDRED)


def discount_over_limit(discount: Decimal, quantity: Decimal, unit_price: Decimal,
                        limit: Decimal, *, percent: Decimal | None = None) -> bool:
    """Whether a line's ``discount`` is over the shop's ``limit`` (a percentage).

    A discount given as a ``percent`` is judged by that percentage. One given as an
    amount is within the limit when it is no more than the limit's percentage of the
    line rounded to cents — what a discount given in percent comes to — so the cents
    of rounding never push a discount at the limit over it (10 % of 19.95 is 2.00,
    which is 10.03 % of 19.95).
    """
    if percent is not None:
        return Decimal(percent) > Decimal(limit)
    return Decimal(discount) > discount_from_percent(limit, quantity, unit_price)


def decimal_text(value: Decimal) -> str:
    """A rate, percentage or quantity as people write it: no exponent, no trailing
    zeros (10, 8.25, 7.5, 0.125), where ``Decimal.normalize()`` would say ``1E+1``."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def returned_share(line: LineAmounts, sold: Decimal, already: Decimal, quantity: Decimal,
                   already_amounts: LineAmounts) -> LineAmounts:
    """The amounts refunded for ``quantity`` more units of a line of ``sold`` units of
    which ``already`` were returned for ``already_amounts``. Positive figures.

    Refunds are rounded cumulatively: after returning ``q`` units in all, the refunds
    add up to ``round(line × q / sold)``. So several partial returns never refund more
    than the line (rounding each part on its own could: 4 units at 0.02, returned one
    by one, would refund 0.01 four times), no part is negative, and the last unit
    brings the total to exactly the line.
    """
    returned = already + quantity
    if returned == sold:
        total, tax = line.total, line.tax
    else:
        ratio = Decimal(returned) / Decimal(sold)
        total, tax = to_money(line.total * ratio), to_money(line.tax * ratio)
    total -= already_amounts.total
    tax -= already_amounts.tax
    return LineAmounts(net=total - tax, tax=tax, total=total)


@dataclass(frozen=True)
class Tendered:
    paid: Decimal
    change_due: Decimal


def settle(total: Decimal, payments: Sequence[tuple[str, Decimal]]) -> Tendered:
    """What was paid and the change due, or ``ValueError`` with the reason.

    Payments must cover the total; only cash gives change, and never more change
    than the cash handed over — except that a sale whose total is negative (a deposit
    larger than the work: money owed to the customer) pays what is owed out in cash
    as change, so its change may exceed the cash handed over by at most ``-total``.
    A card (or any other non-cash) payment never comes back as cash.
    """
    paid = sum((Decimal(a) for _m, a in payments), ZERO)
    cash = sum((Decimal(a) for m, a in payments if m == "cash"), ZERO)
    if paid < total:
        raise ValueError(f"The payments ({paid}) are short of the total ({total}) "
                         f"by {total - paid}.")
    over = paid - total
    owed = max(-total, ZERO)
    if over > cash + owed:
        if owed:
            raise ValueError(f"The sale owes the customer {owed}, paid back in cash; payments "
                             f"of {paid} would make the change {over}, and only cash gives "
                             f"change ({cash} was tendered in cash).")
        raise ValueError(f"The payments exceed the total by {over}; only cash gives change "
                         f"and {cash} was tendered in cash.")
    return Tendered(paid=paid, change_due=over)
