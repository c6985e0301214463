"""What a ticket's work costs the customer, tax included, by the kernel's one rule for
a line (``core.line_amounts``: each amount rounded once on the line; prices with or
without tax per the core setting ``prices_include_tax``) — the rule the till applies.

A line a warranty covers costs nothing (the till prices it at zero). What checking
out would charge (:class:`Quote`, shown on the ticket page and rung up at the till)
prices the ticket's lines by the rule (:func:`charged`). A pickup rung up on the till
records what the sale charged for the ticket (:func:`sale_line_amounts`,
:func:`sale_deposit`); a pickup recorded without a till (pos disabled, or paid
elsewhere) computes the same figures by the rule.

Revenue (:func:`revenue`) is the work before tax: each line's ``net``, so covered
work counts nothing, whatever the tax setting.

An estimate states its tax by the same rule (:func:`estimate_amounts`), so what the
customer approves is what checkout charges for the same work; :func:`estimate_words`
says it as the ticket page and the status page show it.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

from core import (ChargeLine, LineAmounts, SaleInfo, SaleLineInfo, TicketCharges, Totals,
                  line_amounts, to_money)

ZERO = Decimal("0.00")
WORK_KINDS = ("part", "labor")


def charged(line: ChargeLine, *, prices_include_tax: bool) -> LineAmounts:
    """One of the ticket's lines as the till charges it."""
    return line_amounts(line.quantity, line.charged_price, ZERO, line.tax_rate,
                        prices_include_tax=prices_include_tax)


@dataclass(frozen=True)
class Quote:
    """What checking out charges: the ticket's lines (``charges``), each as the till
    charges it (``amounts``, in the same order), their sums (``work``) and the
    deposit applied (``charges.deposit``), by the shop's tax setting of the moment
    (``prices_include_tax``)."""
    charges: TicketCharges
    amounts: tuple[LineAmounts, ...]
    work: Totals
    prices_include_tax: bool

    @property
    def deposit(self) -> Decimal:
        return to_money(self.charges.deposit)

    @property
    def due(self) -> Decimal:
        """What the customer pays; negative: the deposit is paid back."""
        return self.work.total - self.deposit

    @property
    def lines(self) -> tuple[tuple[ChargeLine, LineAmounts], ...]:
        return tuple(zip(self.charges.lines, self.amounts))

    @property
    def nothing_to_charge(self) -> bool:
        """No line and no deposit: no money and no goods change hands."""
        return not self.charges.lines and self.deposit == 0


def _same_line(sold: SaleLineInfo, line: ChargeLine, *, prices_include_tax: bool) -> bool:
    """Whether till line ``sold`` is ``line`` as the till charges it: the same kind,
    product, quantity and description (a till may shorten it to fit its column), at
    the price charged (zero when covered), with no discount, taxed at the line's rate
    (a sale line does not say its rate: its tax and total must be the line's). The
    same sale may scan the same product from the catalog at another price or rate,
    or at full price where the ticket's is covered; lines alike in all of these come
    to the same amounts, so any of them will do."""
    if not (sold.kind == line.kind and sold.product_id == line.product_id
            and Decimal(sold.quantity) == Decimal(line.quantity)
            and line.description.startswith(sold.description)
            and Decimal(sold.discount) == 0
            and to_money(sold.unit_price) == to_money(line.charged_price)):
        return False
    expected = charged(line, prices_include_tax=prices_include_tax)
    return (sold.tax, sold.total) == (expected.tax, expected.total)


def sale_line_amounts(sale: SaleInfo, lines: Sequence[ChargeLine], *,
                      prices_include_tax: bool) -> list[LineAmounts]:
    """Each of ``lines`` (a ticket's open work) as till sale ``sale`` charged it, in
    order: from the sale line that sold it (see :func:`_same_line`; each sale line
    used once: the sale may hold other goods too, the same part among them). A line
    the sale does not show as such is counted by the rule."""
    pool = [s for s in sale.lines if s.kind in WORK_KINDS]
    out = []
    for line in lines:
        sold = next((s for s in pool
                     if _same_line(s, line, prices_include_tax=prices_include_tax)), None)
        if sold is None:
            out.append(charged(line, prices_include_tax=prices_include_tax))
            continue
        pool.remove(sold)
        out.append(LineAmounts(net=sold.total - sold.tax, tax=sold.tax, total=sold.total))
    return out


def sale_deposit(sale: SaleInfo) -> Decimal:
    """The deposit till sale ``sale`` applied: its deposit lines, as a positive amount."""
    return to_money(-sum((s.total for s in sale.lines if s.kind == "deposit"), ZERO))


def revenue(lines: Sequence[ChargeLine], amounts: Sequence[LineAmounts]) -> tuple[Decimal, Decimal]:
    """``(labour, parts)`` revenue of ``lines`` charged ``amounts``: the work before
    tax (each line's net; a covered line was charged nothing, so it adds nothing)."""
    labor = sum((a.net for ln, a in zip(lines, amounts) if ln.kind == "labor"), ZERO)
    parts = sum((a.net for ln, a in zip(lines, amounts) if ln.kind == "part"), ZERO)
    return labor, parts


def priced(work: Totals, *, prices_include_tax: bool) -> Decimal:
    """``work`` as its prices add up: before tax, or with the tax inside them."""
    return work.total if prices_include_tax else work.subtotal


def estimate_amounts(amount: Decimal | None, work: Totals, *, prices_include_tax: bool,
                     tax_rate: Decimal | None, default_rate: Decimal) -> LineAmounts:
    """An estimate as the customer would pay it: before tax, the tax, and the total.

    Without ``amount`` it is the work recorded (``work``: its lines as the till
    charges them). An ``amount`` the shop quotes is a price like its others (the tax
    added to it, or inside it), one line by the rule at ``tax_rate``; without a rate,
    at the rate the work recorded so far comes to (its tax over its prices: quoting
    exactly the work states exactly its tax), or with no work priced yet at
    ``default_rate``."""
    if amount is None:
        return LineAmounts(net=work.subtotal, tax=work.tax, total=work.total)
    amount = to_money(amount)
    so_far = priced(work, prices_include_tax=prices_include_tax)
    if tax_rate is None and so_far > 0:
        tax = to_money(amount * work.tax / so_far)
        if prices_include_tax:
            return LineAmounts(net=amount - tax, tax=tax, total=amount)
        return LineAmounts(net=amount, tax=tax, total=amount + tax)
    return line_amounts(Decimal(1), amount, ZERO, default_rate if tax_rate is None else tax_rate,
                        prices_include_tax=prices_include_tax)


def estimate_words(amount: Decimal, tax: Decimal | None, total: Decimal | None,
                   prices_include_tax: bool | None) -> str:
    """An estimate as the customer reads it: ``80.00 + 16.00 tax = 96.00`` (prices
    exclude tax), ``96.00 (incl. 16.00 tax)`` (prices include it); an estimate made
    before estimates stated their tax says so."""
    if tax is None or total is None:
        return f"{amount:.2f} (tax not stated)"
    if prices_include_tax:
        return f"{total:.2f} (incl. {tax:.2f} tax)"
    return f"{amount:.2f} + {tax:.2f} tax = {total:.2f}"
