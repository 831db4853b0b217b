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


class RefusesTheLimitItself(BankAccount):  # >= where the rule says >
    def deposit(self, amount: int) -> None:
        if amount >= 1_000_000:
            raise RuleBroken("too much", fix="split it")
        super().deposit(amount)


class CapsTheBalance(BankAccount):  # a limit on the balance, not on one deposit
    def deposit(self, amount: int) -> None:
        if self.balance + amount > 1_000_000:
            raise RuleBroken("too much", fix="split it")
        super().deposit(amount)


class DropsSilently(BankAccount):
    def deposit(self, amount: int) -> None:
        if amount <= 1_000_000:
            super().deposit(amount)


class RecordsOnlyTheLimit(BankAccount):
    def deposit(self, amount: int) -> None:
        super().deposit(min(amount, 1_000_000))


def test_deposit_limit() -> None:
    assert check_deposit_limit(CappedAccount)
    assert "accepted" in repr(check_deposit_limit(Uncapped))
    assert "changed the account" in repr(check_deposit_limit(CapsAfterRecording))
    assert "belongs in the command" in repr(check_deposit_limit(RuleInApply))
    assert "raised ValueError" in repr(check_deposit_limit(RefusesWithValueError))
    assert not check_deposit_limit(int)
    assert "(the limit itself) was refused" in repr(check_deposit_limit(RefusesTheLimitItself))
    capped_balance = repr(check_deposit_limit(CapsTheBalance))
    assert (
        "a deposit of 250 was refused" in capped_balance and "not on the balance" in capped_balance
    )
    assert "dropped without a word" in repr(check_deposit_limit(DropsSilently))
    assert "1000001 was accepted" in repr(check_deposit_limit(RecordsOnlyTheLimit))


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


class SumsThem(Biggest):
    def apply(self, event: Event) -> None:
        if isinstance(event, MoneyWithdrawn):
            self.biggest[event.account_id] = self.biggest.get(event.account_id, 0) + event.amount


def test_biggest_withdrawal() -> None:
    assert check_biggest_withdrawal(Biggest)
    assert "expected" in repr(check_biggest_withdrawal(LastNotBiggest))
    assert "expected" in repr(check_biggest_withdrawal(FirstNotBiggest))
    assert "only account c" in repr(check_biggest_withdrawal(NeverCleared))
    assert "abstract method" in repr(check_biggest_withdrawal(Projection))
    assert not check_biggest_withdrawal(CrashesOnOtherEvents)
    summed = repr(check_biggest_withdrawal(SumsThem))
    assert "'a': 650" in summed
    assert "max(" not in summed  # the hint points the way without writing the line
