"""Lesson 05's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

from eda_lib.cqrs import Projection
from eda_lib.domain import BankAccount, MoneyDeposited, MoneyWithdrawn
from eda_lib.events import Event
from eda_lib.exercises.lesson05 import check_biggest_withdrawal, check_deposit_limit
from eda_lib.sourcing import RuleBroken


class CappedAccount(BankAccount):
    def deposit(self, amount: int) -> None:
        if amount > 1_000_000:
            raise RuleBroken("too much", fix="split it")
        super().deposit(amount)


class Uncapped(BankAccount):
    pass


class CapsAfterRecording(BankAccount):
    def deposit(self, amount: int) -> None:
        super().deposit(amount)
        if amount > 1_000_000:
            raise RuleBroken("too much", fix="split it")


class RuleInApply(BankAccount):
    def apply(self, event: Event) -> None:
        if isinstance(event, MoneyDeposited) and event.amount > 1_000_000:
            raise RuleBroken("too much", fix="split it")
        super().apply(event)


class RefusesWithValueError(BankAccount):
    def deposit(self, amount: int) -> None:
        if amount > 1_000_000:
            raise ValueError("too much")
        super().deposit(amount)


def test_deposit_limit() -> None:
    assert check_deposit_limit(CappedAccount)
    assert "accepted" in repr(check_deposit_limit(Uncapped))
    assert "changed the account" in repr(check_deposit_limit(CapsAfterRecording))
    assert "belongs in the command" in repr(check_deposit_limit(RuleInApply))
    assert "raised ValueError" in repr(check_deposit_limit(RefusesWithValueError))
    assert not check_deposit_limit(int)


class Biggest(Projection):
    def __init__(self) -> None:
        super().__init__()
        self.biggest: dict[str, int] = {}

    def apply(self, event: Event) -> None:
        if isinstance(event, MoneyWithdrawn):
            previous = self.biggest.get(event.account_id, 0)
            self.biggest[event.account_id] = max(previous, event.amount)

    def clear(self) -> None:
        self.biggest.clear()


class LastNotBiggest(Biggest):
    def apply(self, event: Event) -> None:
        if isinstance(event, MoneyWithdrawn):
            self.biggest[event.account_id] = event.amount


class FirstNotBiggest(Biggest):
    def apply(self, event: Event) -> None:
        if isinstance(event, MoneyWithdrawn):
            self.biggest.setdefault(event.account_id, event.amount)


class NeverCleared(Biggest):
    def clear(self) -> None:
        pass


class CrashesOnOtherEvents(Biggest):
    def apply(self, event: Event) -> None:
        self.biggest[event.account_id] = event.amount  # type: ignore[attr-defined]


def test_biggest_withdrawal() -> None:
    assert check_biggest_withdrawal(Biggest)
    assert "expected" in repr(check_biggest_withdrawal(LastNotBiggest))
    assert "expected" in repr(check_biggest_withdrawal(FirstNotBiggest))
    assert "only account c" in repr(check_biggest_withdrawal(NeverCleared))
    assert "abstract method" in repr(check_biggest_withdrawal(Projection))
    assert not check_biggest_withdrawal(CrashesOnOtherEvents)
