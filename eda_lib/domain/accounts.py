"""A bank account, event-sourced (lesson 05): its balance is never stored, only the deposits and
withdrawals that add up to it; and `AccountStatements`, a read model built from the same events."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

from eda_lib.cqrs.projections import Projection
from eda_lib.events import CurrencyCode, Event, MinorUnits, NonEmptyStr
from eda_lib.sourcing.aggregate import Aggregate, RuleBroken


class _AccountEvent(Event):
    default_source: ClassVar[str] = "/bank"
    subject_field: ClassVar[str | None] = "account_id"

    account_id: NonEmptyStr


class AccountOpened(_AccountEvent):
    """`owner` opened an account in `currency`."""

    owner: NonEmptyStr
    currency: CurrencyCode = "USD"


class MoneyDeposited(_AccountEvent):
    amount: MinorUnits


class MoneyWithdrawn(_AccountEvent):
    amount: MinorUnits


class AccountClosed(_AccountEvent):
    reason: NonEmptyStr


class BankAccount(Aggregate):
    """Rules: no deposit or withdrawal on a closed account, no withdrawal beyond the balance,
    and an account is closed only when it is empty."""

    stream_prefix = "account"

    def __init__(self, account_id: str) -> None:
        super().__init__(account_id)
        self.owner = ""
        self.currency = ""
        self.balance = 0
        self.is_open = False

    @classmethod
    def open(cls, account_id: str, owner: str, currency: str = "USD") -> BankAccount:
        account = cls(account_id)
        account.record(AccountOpened(account_id=account_id, owner=owner, currency=currency))
        return account

    def _check_open(self, action: str) -> None:
        if not self.is_open:
            raise RuleBroken(f"account {self.id} is closed: no {action}", fix="open a new account")

    def deposit(self, amount: int) -> None:
        self._check_open("deposit")
        self.record(MoneyDeposited(account_id=self.id, amount=amount))

    def withdraw(self, amount: int) -> None:
        self._check_open("withdrawal")
        if amount > self.balance:
            raise RuleBroken(
                f"account {self.id} holds {self.balance}, less than the {amount} asked for",
                fix=f"withdraw at most {self.balance}",
            )
        self.record(MoneyWithdrawn(account_id=self.id, amount=amount))

    def close(self, reason: str) -> None:
        self._check_open("closing twice")
        if self.balance:
            raise RuleBroken(
                f"account {self.id} still holds {self.balance}",
                fix="withdraw the balance before closing",
            )
        self.record(AccountClosed(account_id=self.id, reason=reason))

    def apply(self, event: Event) -> None:
        match event:
            case AccountOpened():
                self.owner = event.owner
                self.currency = event.currency
                self.is_open = True
            case MoneyDeposited():
                self.balance += event.amount
            case MoneyWithdrawn():
                self.balance -= event.amount
            case AccountClosed():
                self.is_open = False
            case _:
                raise self.unexpected(event)


@dataclass
class Statement:
    account_id: str
    owner: str = "?"
    balance: int = 0
    deposited: int = 0
    withdrawn: int = 0
    transactions: int = 0
    status: str = "open"


class AccountStatements(Projection):
    """A read model of accounts: the balance and the totals a statement shows, per account."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, Statement] = {}

    def __repr__(self) -> str:
        return f"AccountStatements({len(self.rows)} accounts, at position {self.position})"

    def _row(self, account_id: str) -> Statement:
        return self.rows.setdefault(account_id, Statement(account_id))

    def apply(self, event: Event) -> None:
        match event:
            case AccountOpened():
                self._row(event.account_id).owner = event.owner
            case MoneyDeposited():
                row = self._row(event.account_id)
                row.balance += event.amount
                row.deposited += event.amount
                row.transactions += 1
            case MoneyWithdrawn():
                row = self._row(event.account_id)
                row.balance -= event.amount
                row.withdrawn += event.amount
                row.transactions += 1
            case AccountClosed():
                self._row(event.account_id).status = "closed"

    def clear(self) -> None:
        self.rows.clear()

    def table(self) -> list[dict[str, object]]:
        return [asdict(row) for _, row in sorted(self.rows.items())]
