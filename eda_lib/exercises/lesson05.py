"""Self-checking exercises of lesson 05 (event sourcing and CQRS, the ideas): an account rule
checked in the command, and a read model of each account's biggest withdrawal."""

from __future__ import annotations

from typing import Any

from eda_lib.cqrs.projections import Projection, Projector
from eda_lib.domain.accounts import AccountOpened, BankAccount, MoneyDeposited
from eda_lib.exercises.checks import Check, crashed, fail
from eda_lib.sourcing.aggregate import RuleBroken, StateChangedOutsideEvent
from eda_lib.sourcing.repository import Repository
from eda_lib.store.memory import InMemoryEventStore

DEPOSIT_LIMIT = 1_000_000


def check_deposit_limit(account_class: Any) -> Check:
    """Lesson 05, exercise 1: an account that refuses a deposit over 10,000.00 (1,000,000
    minor units), recording nothing, and takes any other deposit as before."""
    if not (isinstance(account_class, type) and issubclass(account_class, BankAccount)):
        return fail(
            f"expected a subclass of BankAccount, got {account_class!r}",
            "class CappedAccount(BankAccount): with a deposit(self, amount) method",
        )
    try:
        account = account_class.open("cap-1", "ada")
    except Exception as error:
        return crashed(error, "keep BankAccount's open(); change only deposit")
    for amount in (DEPOSIT_LIMIT, 250):  # each allowed: the limit itself, then a small one
        balance = account.balance
        try:
            account.deposit(amount)
        except StateChangedOutsideEvent as error:
            return fail(str(error).split(". Fix")[0], "record an event; apply() changes the state")
        except RuleBroken as error:
            return _allowed_refused(amount, balance, error)
        except Exception as error:
            return crashed(error, "refuse with RuleBroken; otherwise call super().deposit(amount)")
    if account.balance != DEPOSIT_LIMIT + 250 or len(account.pending_events) != 3:
        return fail(
            f"after deposits of {DEPOSIT_LIMIT} and 250 the balance is {account.balance}",
            "keep recording MoneyDeposited for allowed deposits: call super().deposit(amount)",
        )
    recorded = account.version  # events recorded so far: 3
    try:
        account.deposit(DEPOSIT_LIMIT + 1)
    except RuleBroken:
        pass
    except StateChangedOutsideEvent as error:
        return fail(str(error).split(". Fix")[0], "check the rule before recording anything")
    except Exception as error:
        return crashed(error, "a refusal is a RuleBroken('...', fix='...')")
    else:
        if account.version == recorded:  # nothing recorded, nothing raised
            return fail(
                f"a deposit of {DEPOSIT_LIMIT + 1} was dropped without a word: the caller "
                "cannot tell it was refused",
                "raise RuleBroken('...', fix='...') when amount > 1_000_000",
            )
        return fail(
            f"a deposit of {DEPOSIT_LIMIT + 1} was accepted",
            "raise RuleBroken('...', fix='...') when amount > 1_000_000",
        )
    if len(account.pending_events) != 3 or account.balance != DEPOSIT_LIMIT + 250:
        return fail("the refused deposit changed the account", "check the rule first")
    replayed = account_class.from_events("cap-1", account.pending_events)
    if replayed.state() != account.state():
        return fail("replaying the events gives a different state", "change state only in apply")
    old = [
        AccountOpened(account_id="old", owner="bo"),
        MoneyDeposited(account_id="old", amount=2 * DEPOSIT_LIMIT),  # stored before the rule
    ]
    try:
        account_class.from_events("old", old)
    except Exception:
        return fail(
            "an account with a deposit of 2,000,000 made before the rule existed cannot be loaded",
            "a rule belongs in the command (deposit), not in apply: events are facts",
        )
    return Check(True, "deposits up to the limit are recorded; one over it is refused, unrecorded")


def _allowed_refused(amount: int, balance: int, error: RuleBroken) -> Check:
    """The message for a deposit the rule allows that was refused anyway."""
    if amount == DEPOSIT_LIMIT:
        return fail(
            f"a deposit of exactly {DEPOSIT_LIMIT} (the limit itself) was refused: {error}",
            "refuse only amounts over the limit, which is 1_000_000 cents",
        )
    return fail(
        f"a deposit of {amount} was refused on an account holding {balance}: {error}",
        "the limit is on one deposit's amount, not on the balance",
    )


def _withdrawal_history(histories: dict[str, list[int]]) -> InMemoryEventStore:
    store = InMemoryEventStore()
    accounts = Repository(store, BankAccount)
    for account_id, moves in histories.items():
        account = BankAccount.open(account_id, account_id.upper())
        for amount in moves:
            account.deposit(amount) if amount > 0 else account.withdraw(-amount)
        accounts.save(account)
    return store


def check_biggest_withdrawal(projection_class: type[Projection]) -> Check:
    """Lesson 05, exercise 2: a read model whose `biggest` maps each account id to its largest
    withdrawal (accounts that never withdrew are not in it)."""
    expected = {"a": 400, "c": 90}
    store = _withdrawal_history({"a": [500, -200, 300, -400, -50], "b": [100], "c": [90, -90]})
    other = _withdrawal_history({"c": [90, -90]})
    try:
        view = projection_class()
        Projector(store, view).catch_up()
        first = dict(getattr(view, "biggest", {}))
        Projector(other, view).rebuild(view)  # rebuilt from another history: only c's
        again = dict(getattr(view, "biggest", {}))
    except TypeError as error:
        if "abstract" not in str(error):
            return crashed(error, "apply gets every kind of event: act only on the ones you need")
        return fail(str(error), "define apply(self, event) and clear(self)")
    except Exception as error:
        return crashed(error, "apply gets every kind of event: act only on MoneyWithdrawn")
    if first != expected:
        return fail(
            f"biggest is {first}, expected {expected}",
            "on MoneyWithdrawn only, keep an amount if it beats the one stored for that account",
        )
    if again != {"c": 90}:
        return fail(
            f"rebuilt from a history with only account c, biggest is {again}",
            "clear() must empty self.biggest",
        )
    return Check(True, f"biggest withdrawals {first}; a rebuild starts from empty")
